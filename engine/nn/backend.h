/* The contract between the device-independent core (nn/) and a backend
 * (cpu/, gpu/). Internal to the engine. */
#pragma once
#include "nn/device.h"
#include "nn/op.h"

G_BEGIN_DECLS

/* A backend allocation. CPU: host points at the data. Vulkan: host is
 * NULL and impl is the arena sub-allocation. */
struct AgfStorage {
  int refcount;
  AgfDevice *dev;
  size_t nbytes;
  void *host;
  void *impl;
};

typedef struct AgfBackend {
  const char *name;
  /* Storage of at least nbytes (contents undefined). */
  AgfStorage *(*alloc)(AgfDevice *dev, size_t nbytes, GError **error);
  /* Returns the storage's memory; safe while queued work still uses it
   * (the backend orders reuse after that work). */
  void (*release)(AgfDevice *dev, AgfStorage *s);
  /* Byte ranges of a storage. upload is queued in order with ops;
   * download waits for all queued work first. */
  gboolean (*upload)(AgfDevice *dev, AgfStorage *s, size_t offset,
                     const void *src, size_t nbytes, GError **error);
  gboolean (*download)(AgfDevice *dev, AgfStorage *s, size_t offset,
                       void *dst, size_t nbytes, GError **error);
  /* Runs (or queues) a checked op: inputs may be strided views unless
   * dense_inputs says otherwise; op->out is dense. */
  gboolean (*run)(AgfDevice *dev, const AgfOp *op, GError **error);
  /* TRUE when run() accepts strided (non-dense) inputs for this kind;
   * otherwise the core makes dense copies first (with AGF_OP_COPY, which
   * every backend must accept strided). */
  gboolean (*accepts_strided)(AgfDevice *dev, AgfOpKind kind);
  gboolean (*sync)(AgfDevice *dev, GError **error);
  void (*mem_stats)(const AgfDevice *dev, AgfMemStats *out);
  void (*reset_peak)(AgfDevice *dev);
  /* Per-op timing records collected since the last take (after a sync). */
  AgfOpTiming *(*take_timings)(AgfDevice *dev, int *n_out, GError **error);
  void (*destroy)(AgfDevice *dev);
} AgfBackend;

struct AgfDevice {
  const AgfBackend *be;
  AgfDeviceInfo info;
  gboolean profiling;
  void *impl;
  /* Autograd (nn/autograd.c): the tape recording ops on this device, the
   * depth of no-grad regions, and train mode for layers that have one. */
  struct AgfTape *tape;
  int no_grad_depth;
  gboolean training;
};

/* Backend constructors (cpu/cpu_device.c, gpu/vk_device.c). */
AgfDevice *agf_cpu_device_new(GError **error);
/* Vulkan physical devices; returns FALSE only on a real failure, an empty
 * list when there is no loader or no device. */
gboolean agf_vk_enumerate(GArray *infos /* of AgfDeviceInfo */, GError **error);
AgfDevice *agf_vk_device_new(int vk_index, GError **error);

G_END_DECLS
