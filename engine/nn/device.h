/* Compute devices: the CPU backend or one Vulkan physical device.
 * An AgfDevice is used from one thread at a time. Work is queued (Vulkan
 * records many dispatches per command buffer) and runs at the latest when
 * a result is read back or agf_device_sync() is called. */
#pragma once
#include <stdint.h>
#include <glib.h>
#include "nn/tensor.h"

G_BEGIN_DECLS

typedef enum { AGF_BACKEND_CPU, AGF_BACKEND_VULKAN } AgfBackendKind;

typedef enum {
  AGF_DEVICE_TYPE_CPU,        /* our CPU backend */
  AGF_DEVICE_TYPE_DISCRETE,
  AGF_DEVICE_TYPE_INTEGRATED,
  AGF_DEVICE_TYPE_VIRTUAL,
  AGF_DEVICE_TYPE_CPU_DRIVER, /* a Vulkan driver running on the CPU (lavapipe) */
  AGF_DEVICE_TYPE_OTHER,
} AgfDeviceType;

typedef struct {
  char spec[32];          /* "cpu" or "vulkan:N": what --device takes */
  char name[256];         /* human-readable */
  AgfBackendKind backend;
  AgfDeviceType type;
  int vk_index;           /* physical-device index, -1 for the CPU backend */
  uint64_t memory_bytes;  /* device-local heap size (host RAM for CPU) */
  gboolean fp16;          /* f16 storage + arithmetic in kernels */
  gboolean coopmat;       /* cooperative-matrix (tensor core) GEMM */
  int threads;            /* CPU backend worker threads, else 0 */
} AgfDeviceInfo;

typedef struct {
  size_t in_use;     /* bytes held by live tensors */
  size_t peak;       /* high-water mark of in_use since the last reset */
  size_t reserved;   /* bytes taken from the system (arena blocks) */
} AgfMemStats;

typedef struct {
  char name[48];     /* op / kernel name */
  double usec;       /* device time (Vulkan timestamps) or wall time (CPU) */
} AgfOpTiming;

/* All devices: the CPU backend first, then every Vulkan 1.1+ device. Never
 * fails for lack of Vulkan (then only the CPU entry is returned).
 * Free with g_free. */
AgfDeviceInfo *agf_device_list(int *n_out, GError **error);

/* spec: "cpu", "vulkan:N", "vulkan" (best Vulkan device, even a CPU driver)
 * or "auto"; NULL means $AGFAS_DEVICE, else "auto". auto prefers a discrete
 * GPU, then an integrated one, then any other GPU; when the only Vulkan
 * device is a CPU driver it picks the CPU backend. */
AgfDevice *agf_device_open(const char *spec, GError **error);
void agf_device_free(AgfDevice *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfDevice, agf_device_free)

const AgfDeviceInfo *agf_device_info(const AgfDevice *dev);
gboolean agf_device_supports_dtype(const AgfDevice *dev, AgfDType dt);

/* Submits queued work and waits for it. */
gboolean agf_device_sync(AgfDevice *dev, GError **error);

void agf_device_mem_stats(const AgfDevice *dev, AgfMemStats *out);
void agf_device_reset_peak(AgfDevice *dev);

/* Per-op timing: while enabled every op appends one record; take returns
 * them (after a sync) and clears the list. Free the array with g_free. */
void agf_device_set_profiling(AgfDevice *dev, gboolean on);
AgfOpTiming *agf_device_take_timings(AgfDevice *dev, int *n_out,
                                     GError **error);

G_END_DECLS
