/* Op names and agf_op_run(): the checks every op passes before its
 * backend sees it (shapes and parameters via agf_op_infer(), then device,
 * output and dtype support), and dense copies of strided inputs for
 * kernels that want them. */
#include "nn/backend.h"
#include "nn/nn_internal.h"

static const char *const op_names[AGF_OP_COUNT] = {
  [AGF_OP_COPY] = "copy",
  [AGF_OP_FILL] = "fill",
  [AGF_OP_GEMM] = "gemm",
  [AGF_OP_CONV2D] = "conv2d",
  [AGF_OP_GROUP_NORM] = "group_norm",
  [AGF_OP_LAYER_NORM] = "layer_norm",
  [AGF_OP_BATCH_NORM] = "batch_norm",
  [AGF_OP_SOFTMAX] = "softmax",
  [AGF_OP_ATTENTION] = "attention",
  [AGF_OP_UNARY] = "unary",
  [AGF_OP_BINARY] = "binary",
  [AGF_OP_PRELU] = "prelu",
  [AGF_OP_UPSAMPLE_NEAREST] = "upsample_nearest",
  [AGF_OP_POOL2D] = "pool2d",
  [AGF_OP_GLOBAL_AVG_POOL] = "global_avg_pool",
  [AGF_OP_CONCAT] = "concat",
  [AGF_OP_TIMESTEP_EMBED] = "timestep_embed",
  [AGF_OP_L2_NORMALIZE] = "l2_normalize",
  [AGF_OP_RESIZE_BILINEAR] = "resize_bilinear",
  [AGF_OP_AFFINE_WARP] = "affine_warp",
  [AGF_OP_IMAGE_TO_TENSOR] = "image_to_tensor",
  [AGF_OP_TENSOR_TO_IMAGE] = "tensor_to_image",
  [AGF_OP_COLORMAP] = "colormap",
  [AGF_OP_REDUCE] = "reduce",
  [AGF_OP_UNARY_BWD] = "unary_bwd",
  [AGF_OP_CONV2D_BWD_DATA] = "conv2d_bwd_data",
  [AGF_OP_CONV2D_BWD_FILTER] = "conv2d_bwd_filter",
  [AGF_OP_NORM_STATS] = "norm_stats",
  [AGF_OP_NORM_BWD] = "norm_bwd",
  [AGF_OP_ATTENTION_BWD] = "attention_bwd",
  [AGF_OP_POOL2D_BWD] = "pool2d_bwd",
};

static const char *const unary_names[AGF_UNARY_COUNT] = {
  [AGF_UNARY_IDENTITY] = "scale",
  [AGF_UNARY_RELU] = "relu",
  [AGF_UNARY_LEAKY_RELU] = "leaky_relu",
  [AGF_UNARY_SIGMOID] = "sigmoid",
  [AGF_UNARY_TANH] = "tanh",
  [AGF_UNARY_SILU] = "silu",
  [AGF_UNARY_GELU] = "gelu",
  [AGF_UNARY_GELU_TANH] = "gelu_tanh",
  [AGF_UNARY_ABS] = "abs",
  [AGF_UNARY_EXP] = "exp",
  [AGF_UNARY_SQRT] = "sqrt",
  [AGF_UNARY_LOG] = "log",
};

static const char *const binary_names[AGF_BINARY_COUNT] = {
  [AGF_BINARY_ADD] = "add",
  [AGF_BINARY_SUB] = "sub",
  [AGF_BINARY_MUL] = "mul",
  [AGF_BINARY_DIV] = "div",
};

const char *
agf_op_name(AgfOpKind kind)
{
  return (unsigned) kind < AGF_OP_COUNT ? op_names[kind] : "invalid op";
}

const char *
agf_op_label(const AgfOp *op)
{
  if (op->kind == AGF_OP_UNARY && (unsigned) op->p.unary.fn < AGF_UNARY_COUNT)
    return unary_names[op->p.unary.fn];
  if (op->kind == AGF_OP_BINARY &&
      (unsigned) op->p.binary.fn < AGF_BINARY_COUNT)
    return binary_names[op->p.binary.fn];
  return agf_op_name(op->kind);
}

/* The output matches the inferred dtype and shape, and is dense. */
static gboolean
check_out(const AgfOp *op, const char *name, AgfDType dt, int ndim,
          const int64_t *shape, GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  const AgfTensor *out = op->out;
  if (out == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: no output tensor given (the wrappers in nn/ops.h "
                "allocate it)", name);
    return FALSE;
  }
  if (out->dtype != dt) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "%s: the output is %s but the op produces %s", name,
                agf_dtype_name(out->dtype), agf_dtype_name(dt));
    return FALSE;
  }
  gboolean same = out->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = out->shape[i] == shape[i];
  if (!same) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s: the output is %s but the op produces %s", name,
                agf_shape_str(out, a, sizeof a),
                agf_dims_str(ndim, shape, b, sizeof b));
    return FALSE;
  }
  if (!agf_tensor_is_contiguous(out)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: the output %s is a strided view; ops write dense tensors "
                "(run into a new tensor, then copy)", name,
                agf_shape_str(out, a, sizeof a));
    return FALSE;
  }
  return TRUE;
}

/* Tensor t (input i, or the output when i < 0) can live on dev. */
static gboolean
check_device(const AgfTensor *t, int i, AgfDevice *dev, const char *name,
             GError **error)
{
  char what[32];
  if (i >= 0)
    g_snprintf(what, sizeof what, "input %d", i);
  else
    g_strlcpy(what, "the output", sizeof what);
  if (t->dev != dev) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: %s is on device \"%s\" but the output is on \"%s\": all "
                "tensors of an op must be on one device", name, what,
                t->dev->info.name, dev->info.name);
    return FALSE;
  }
  if (!agf_device_supports_dtype(dev, t->dtype)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "%s: %s is %s, which device \"%s\" does not support: use f32 "
                "tensors there (agf_tensor_cast)", name, what,
                agf_dtype_name(t->dtype), dev->info.name);
    return FALSE;
  }
  return TRUE;
}

gboolean
agf_op_run(const AgfOp *op, GError **error)
{
  AgfDType dt;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
  if (!agf_op_infer(op, &dt, &ndim, shape, error))
    return FALSE;
  const char *name = agf_op_label(op);
  if (!check_out(op, name, dt, ndim, shape, error))
    return FALSE;
  AgfDevice *dev = op->out->dev;
  if (!check_device(op->out, -1, dev, name, error))
    return FALSE;
  for (int i = 0; i < op->n_in; i++)
    if (op->in[i] && !check_device(op->in[i], i, dev, name, error))
      return FALSE;
  if (!agf_autograd_before_run(op, error))
    return FALSE;

  /* COPY is what makes inputs dense, so every backend takes it strided. */
  AgfOp run = *op;
  AgfTensor *dense[AGF_OP_MAX_INPUTS] = { 0 };
  gboolean ok = TRUE;
  /* The dense copies are the kernel's business: the tape records op itself
   * with its strided inputs. */
  dev->no_grad_depth++;
  for (int i = 0; ok && i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    if (op->kind == AGF_OP_COPY || t == NULL || agf_tensor_is_contiguous(t) ||
        dev->be->accepts_strided(dev, op->kind))
      continue;
    /* contiguous() only reads t (a new dense tensor comes back). */
    dense[i] = agf_tensor_contiguous((AgfTensor *) t, error);
    ok = dense[i] != NULL;
    run.in[i] = dense[i];
  }
  dev->no_grad_depth--;
  if (ok)
    ok = dev->be->run(dev, &run, error);
  for (int i = 0; i < op->n_in; i++)
    agf_tensor_unref(dense[i]);
  return ok && agf_autograd_record_op(op, error);
}
