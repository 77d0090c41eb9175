/* The Vulkan AgfBackend: storage, transfers, and run(), which hands each
 * op to its implementation in agf_vk_op_table with dense, aligned inputs
 * and output (making temporary copies when a view is not), wrapped in a
 * timestamp pair while profiling. */
#include "gpu/vk_runtime.h"

/* Row-major with the tensor's own shape (size-1 dims may stride anyhow). */
static gboolean is_dense(const AgfTensor *t)
{
  int64_t s = 1;
  for (int k = t->ndim - 1; k >= 0; k--) {
    if (t->shape[k] != 1 && t->stride[k] != s)
      return FALSE;
    s *= t->shape[k];
  }
  return TRUE;
}

static gboolean bindable(AgfVkDevice *vk, const AgfTensor *t)
{
  return is_dense(t) &&
         (t->offset * agf_dtype_size(t->dtype)) % vk->arena.align == 0;
}

/* A dense, aligned tensor of t's shape and dtype (a copy when t is not). */
static AgfTensor *aligned_copy(AgfDevice *dev, const AgfTensor *t,
                               gboolean fill_from_t, GError **error)
{
  AgfTensor *c = agf_tensor_new(dev, t->dtype, t->ndim, t->shape, error);
  if (c && fill_from_t && !agf_vk_copy_strided(dev, t, c, error)) {
    agf_tensor_unref(c);
    return NULL;
  }
  return c;
}

static gboolean run_op(AgfDevice *dev, AgfVkOpFn fn, const AgfOp *op,
                       GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (op->kind == AGF_OP_COPY)
    return fn(dev, op, error); /* takes any strides on both sides */

  AgfOp local = *op;
  AgfTensor *tmp[AGF_OP_MAX_INPUTS + 1] = { NULL };
  gboolean ok = TRUE;
  for (int i = 0; i < op->n_in && i < AGF_OP_MAX_INPUTS && ok; i++)
    if (op->in[i] && !bindable(vk, op->in[i])) {
      tmp[i] = aligned_copy(dev, op->in[i], TRUE, error);
      local.in[i] = tmp[i];
      ok = tmp[i] != NULL;
    }
  if (ok && op->out && !bindable(vk, op->out)) {
    tmp[AGF_OP_MAX_INPUTS] = aligned_copy(dev, op->out, FALSE, error);
    local.out = tmp[AGF_OP_MAX_INPUTS];
    ok = local.out != NULL;
  }
  ok = ok && fn(dev, &local, error);
  if (ok && tmp[AGF_OP_MAX_INPUTS])
    ok = agf_vk_copy_strided(dev, local.out, op->out, error);
  /* released now, reused by later work: the barriers order it */
  for (int i = 0; i <= AGF_OP_MAX_INPUTS; i++)
    agf_tensor_unref(tmp[i]);
  return ok;
}

static gboolean vk_run(AgfDevice *dev, const AgfOp *op, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (!agf_vk_dev_alive(vk, error))
    return FALSE;
  AgfVkOpFn fn = op->kind < AGF_OP_COUNT ? agf_vk_op_table[op->kind] : NULL;
  if (!fn) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "op %s is not available on Vulkan yet; use --device cpu",
                agf_op_name(op->kind));
    return FALSE;
  }
  if (!agf_vk_stream_maybe_flush(vk, dev->profiling, error))
    return FALSE;
  AgfVkBatch *b = NULL;
  if (dev->profiling) {
    if (!(b = agf_vk_stream_batch(vk, error)))
      return FALSE;
    agf_vk_stream_op_begin(vk, b, agf_op_name(op->kind));
  }
  gboolean ok = run_op(dev, fn, op, error);
  if (b)
    agf_vk_stream_op_end(vk, b);
  return ok;
}

static gboolean vk_accepts_strided(AgfDevice *dev, AgfOpKind kind)
{
  (void)dev;
  return kind == AGF_OP_COPY;
}

static gboolean vk_sync(AgfDevice *dev, GError **error)
{
  return agf_vk_stream_wait_all(agf_vk_dev(dev), error);
}

static const AgfBackend vk_backend = {
  .name = "vulkan",
  .alloc = agf_vk_storage_alloc,
  .release = agf_vk_storage_release,
  .upload = agf_vk_upload,
  .download = agf_vk_download,
  .run = vk_run,
  .accepts_strided = vk_accepts_strided,
  .sync = vk_sync,
  .mem_stats = agf_vk_arena_stats,
  .reset_peak = agf_vk_arena_reset_peak,
  /* Device time per op from timestamp queries; an empty list when the
   * compute queue has no timestamp support (timestampValidBits == 0). */
  .take_timings = agf_vk_take_timings,
  .destroy = agf_vk_device_destroy,
};

const AgfBackend *agf_vk_backend(void)
{
  return &vk_backend;
}
