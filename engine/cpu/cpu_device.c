/* The CPU backend: host memory, synchronous ops, and the one place where
 * f16 tensors are widened to f32 for the kernels and narrowed back. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpu/cpu_block_cache.h"
#include "cpu/cpu_internal.h"
#include "nn/nn_internal.h"

typedef struct {
  size_t in_use, peak;
  /* Freed large blocks kept for reuse, at most most_in_use bytes (the
   * largest in-use total yet, never reset): reserved memory stays below
   * twice what the workload itself needed. */
  AgfCpuBlockCache *blocks;
  size_t most_in_use;
  GArray *timings; /* of AgfOpTiming */
} AgfCpuDevice;

static const AgfCpuOpFn cpu_ops[AGF_OP_COUNT] = {
  [AGF_OP_COPY] = agf_cpu_copy,
  [AGF_OP_FILL] = agf_cpu_fill,
  [AGF_OP_GEMM] = agf_cpu_gemm,
  [AGF_OP_CONV2D] = agf_cpu_conv2d,
  [AGF_OP_GROUP_NORM] = agf_cpu_group_norm,
  [AGF_OP_LAYER_NORM] = agf_cpu_layer_norm,
  [AGF_OP_BATCH_NORM] = agf_cpu_batch_norm,
  [AGF_OP_SOFTMAX] = agf_cpu_softmax,
  [AGF_OP_ATTENTION] = agf_cpu_attention,
  [AGF_OP_UNARY] = agf_cpu_unary,
  [AGF_OP_BINARY] = agf_cpu_binary,
  [AGF_OP_PRELU] = agf_cpu_prelu,
  [AGF_OP_UPSAMPLE_NEAREST] = agf_cpu_upsample_nearest,
  [AGF_OP_POOL2D] = agf_cpu_pool2d,
  [AGF_OP_GLOBAL_AVG_POOL] = agf_cpu_global_avg_pool,
  [AGF_OP_CONCAT] = agf_cpu_concat,
  [AGF_OP_TIMESTEP_EMBED] = agf_cpu_timestep_embed,
  [AGF_OP_L2_NORMALIZE] = agf_cpu_l2_normalize,
  [AGF_OP_RESIZE_BILINEAR] = agf_cpu_resize_bilinear,
  [AGF_OP_AFFINE_WARP] = agf_cpu_affine_warp,
  [AGF_OP_IMAGE_TO_TENSOR] = agf_cpu_image_to_tensor,
  [AGF_OP_TENSOR_TO_IMAGE] = agf_cpu_tensor_to_image,
  [AGF_OP_COLORMAP] = agf_cpu_colormap,
  /* --- training ops (cpubwd) --- */
  [AGF_OP_REDUCE] = agf_cpu_reduce,
  [AGF_OP_UNARY_BWD] = agf_cpu_unary_bwd,
  [AGF_OP_CONV2D_BWD_DATA] = agf_cpu_conv2d_bwd_data,
  [AGF_OP_CONV2D_BWD_FILTER] = agf_cpu_conv2d_bwd_filter,
  [AGF_OP_NORM_STATS] = agf_cpu_norm_stats,
  [AGF_OP_NORM_BWD] = agf_cpu_norm_bwd,
  [AGF_OP_ATTENTION_BWD] = agf_cpu_attention_bwd,
  [AGF_OP_POOL2D_BWD] = agf_cpu_pool2d_bwd,
  /* --- end training ops --- */
};

static AgfCpuDevice *
cpu_impl(const AgfDevice *dev)
{
  return dev->impl;
}

float *
agf_cpu_scratch(size_t n, const char *what, GError **error)
{
  float *p = n <= G_MAXSIZE / sizeof(float) ? g_try_malloc(n * sizeof(float))
                                              : NULL;
  if (p == NULL && n > 0)
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "could not allocate %zu MiB of scratch memory for %s on the "
                "CPU: use smaller inputs or free other tensors",
                n * sizeof(float) >> 20, what);
  return p;
}

static AgfStorage *
cpu_alloc(AgfDevice *dev, size_t nbytes, GError **error)
{
  AgfCpuDevice *c = cpu_impl(dev);
  /* 64-byte aligned: rows of AVX-512 vectors on cache lines. */
  void *host = agf_cpu_block_get(c->blocks, nbytes);
  if (host == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "could not allocate %zu MiB on the CPU: free other tensors, "
                "use a smaller batch or resolution", nbytes >> 20);
    return NULL;
  }
  AgfStorage *s = g_new0(AgfStorage, 1);
  s->refcount = 1;
  s->dev = dev;
  s->nbytes = nbytes;
  s->host = host;
  c->in_use += nbytes;
  c->peak = MAX(c->peak, c->in_use);
  c->most_in_use = MAX(c->most_in_use, c->in_use);
  return s;
}

static void
cpu_release(AgfDevice *dev, AgfStorage *s)
{
  AgfCpuDevice *c = cpu_impl(dev);
  c->in_use -= MIN(c->in_use, s->nbytes);
  agf_cpu_block_put(c->blocks, s->host, s->nbytes, c->most_in_use);
  g_free(s);
}

static gboolean
check_range(const AgfStorage *s, size_t offset, size_t nbytes, GError **error)
{
  if (offset > s->nbytes || nbytes > s->nbytes - offset) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "byte range %zu+%zu is outside a CPU storage of %zu bytes",
                offset, nbytes, s->nbytes);
    return FALSE;
  }
  return TRUE;
}

static gboolean
cpu_upload(AgfDevice *dev, AgfStorage *s, size_t offset, const void *src,
           size_t nbytes, GError **error)
{
  (void) dev;
  if (!check_range(s, offset, nbytes, error))
    return FALSE;
  if (nbytes)
    memcpy((char *) s->host + offset, src, nbytes);
  return TRUE;
}

static gboolean
cpu_download(AgfDevice *dev, AgfStorage *s, size_t offset, void *dst,
             size_t nbytes, GError **error)
{
  (void) dev;
  if (!check_range(s, offset, nbytes, error))
    return FALSE;
  if (nbytes)
    memcpy(dst, (const char *) s->host + offset, nbytes);
  return TRUE;
}

/* A dense f32 stand-in for a dense f16 tensor, backed by buf. */
static void
f32_standin(AgfTensor *dst, AgfStorage *st, const AgfTensor *src, float *buf)
{
  *dst = *src;
  memset(st, 0, sizeof *st);
  st->refcount = 1;
  st->dev = src->dev;
  st->nbytes = (size_t) agf_tensor_numel(src) * sizeof(float);
  st->host = buf;
  dst->storage = st;
  dst->offset = 0;
  dst->dtype = AGF_F32;
}

/* Runs an f32 kernel on an op with f16 tensors: widens every f16 input
 * into scratch memory, runs, and narrows the f32 result into op->out. */
static gboolean
run_widened(AgfCpuOpFn fn, const AgfOp *op, GError **error)
{
  AgfOp wide = *op;
  AgfTensor tensors[AGF_OP_MAX_INPUTS + 1];
  AgfStorage storages[AGF_OP_MAX_INPUTS + 1];
  float *bufs[AGF_OP_MAX_INPUTS + 1] = { 0 };
  gboolean ok = FALSE;

  for (int i = 0; i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    if (t == NULL || t->dtype != AGF_F16)
      continue;
    int64_t n = agf_tensor_numel(t);
    if (!(bufs[i] = agf_cpu_scratch((size_t) n, "an f16 input", error)))
      goto out;
    const uint16_t *src = agf_cpu_ptr(t);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t j = 0; j < n; j++)
      bufs[i][j] = agf_f16_to_f32(src[j]);
    f32_standin(&tensors[i], &storages[i], t, bufs[i]);
    wide.in[i] = &tensors[i];
  }
  const int o = AGF_OP_MAX_INPUTS;
  gboolean narrow = op->out->dtype == AGF_F16;
  int64_t n_out = agf_tensor_numel(op->out);
  if (narrow) {
    if (!(bufs[o] = agf_cpu_scratch((size_t) n_out, "an f16 output", error)))
      goto out;
    f32_standin(&tensors[o], &storages[o], op->out, bufs[o]);
    wide.out = &tensors[o];
  }
  if (!fn(&wide, error))
    goto out;
  if (narrow) {
    uint16_t *dst = agf_cpu_ptr(op->out);
#pragma omp parallel for schedule(static) if (n_out > 65536)
    for (int64_t j = 0; j < n_out; j++)
      dst[j] = agf_f32_to_f16(bufs[o][j]);
  }
  ok = TRUE;
out:
  for (int i = 0; i <= AGF_OP_MAX_INPUTS; i++)
    g_free(bufs[i]);
  return ok;
}

static gboolean
has_f16(const AgfOp *op)
{
  if (op->out->dtype == AGF_F16)
    return TRUE;
  for (int i = 0; i < op->n_in; i++)
    if (op->in[i] && op->in[i]->dtype == AGF_F16)
      return TRUE;
  return FALSE;
}

static gboolean
cpu_run(AgfDevice *dev, const AgfOp *op, GError **error)
{
  if ((unsigned) op->kind >= AGF_OP_COUNT || cpu_ops[op->kind] == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "op kind %d is not implemented by the CPU backend",
                (int) op->kind);
    return FALSE;
  }
  gint64 t0 = dev->profiling ? g_get_monotonic_time() : 0;
  AgfCpuOpFn fn = cpu_ops[op->kind];
  /* COPY converts dtypes itself; everything else computes in f32. */
  gboolean ok = op->kind != AGF_OP_COPY && has_f16(op)
                    ? run_widened(fn, op, error)
                    : fn(op, error);
  if (ok && dev->profiling) {
    AgfOpTiming t = { 0 };
    g_strlcpy(t.name, agf_op_label(op), sizeof t.name);
    t.usec = (double) (g_get_monotonic_time() - t0);
    g_array_append_val(cpu_impl(dev)->timings, t);
  }
  return ok;
}

static gboolean
cpu_accepts_strided(AgfDevice *dev, AgfOpKind kind)
{
  (void) dev;
  return kind == AGF_OP_COPY;
}

static gboolean
cpu_sync(AgfDevice *dev, GError **error)
{
  (void) dev;
  (void) error;
  return TRUE; /* every op has finished when run() returns */
}

static void
cpu_mem_stats(const AgfDevice *dev, AgfMemStats *out)
{
  const AgfCpuDevice *c = cpu_impl(dev);
  out->in_use = c->in_use;
  out->peak = c->peak;
  out->reserved = c->in_use + agf_cpu_block_cached(c->blocks);
}

static void
cpu_reset_peak(AgfDevice *dev)
{
  AgfCpuDevice *c = cpu_impl(dev);
  c->peak = c->in_use;
}

static AgfOpTiming *
cpu_take_timings(AgfDevice *dev, int *n_out, GError **error)
{
  (void) error;
  GArray *a = cpu_impl(dev)->timings;
  *n_out = (int) a->len;
  AgfOpTiming *out = g_memdup2(a->data, a->len * sizeof(AgfOpTiming));
  g_array_set_size(a, 0);
  return out;
}

static void
cpu_destroy(AgfDevice *dev)
{
  AgfCpuDevice *c = cpu_impl(dev);
  g_array_unref(c->timings);
  agf_cpu_block_cache_free(c->blocks);
  g_free(c);
  g_free(dev);
}

static const AgfBackend cpu_backend = {
  .name = "cpu",
  .alloc = cpu_alloc,
  .release = cpu_release,
  .upload = cpu_upload,
  .download = cpu_download,
  .run = cpu_run,
  .accepts_strided = cpu_accepts_strided,
  .sync = cpu_sync,
  .mem_stats = cpu_mem_stats,
  .reset_peak = cpu_reset_peak,
  .take_timings = cpu_take_timings,
  .destroy = cpu_destroy,
};

/* "model name" from /proc/cpuinfo, else a generic name. */
static void
cpu_model_name(char *buf, size_t len)
{
  g_autofree char *text = NULL;
  g_strlcpy(buf, "CPU", len);
  if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
    return;
  const char *line = strstr(text, "model name");
  const char *colon = line ? strchr(line, ':') : NULL;
  if (colon == NULL)
    return;
  const char *end = strchr(colon, '\n');
  g_autofree char *name = g_strndup(colon + 1, end ? (size_t) (end - colon - 1)
                                                   : strlen(colon + 1));
  g_strlcpy(buf, g_strstrip(name), len);
}

AgfDevice *
agf_cpu_device_new(GError **error)
{
  (void) error; /* nothing here can fail short of g_new aborting */
  AgfDevice *dev = g_new0(AgfDevice, 1);
  AgfCpuDevice *c = g_new0(AgfCpuDevice, 1);
  c->timings = g_array_new(FALSE, FALSE, sizeof(AgfOpTiming));
  c->blocks = agf_cpu_block_cache_new();
  dev->be = &cpu_backend;
  dev->impl = c;

  AgfDeviceInfo *info = &dev->info;
  char model[200];
  cpu_model_name(model, sizeof model);
  info->threads = omp_get_max_threads();
  g_strlcpy(info->spec, "cpu", sizeof info->spec);
  g_snprintf(info->name, sizeof info->name, "%s (CPU backend, %d threads)",
             model, info->threads);
  info->backend = AGF_BACKEND_CPU;
  info->type = AGF_DEVICE_TYPE_CPU;
  info->vk_index = -1;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  info->memory_bytes = pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page
                                             : 0;
  info->fp16 = TRUE;
  info->coopmat = FALSE;
  return dev;
}
