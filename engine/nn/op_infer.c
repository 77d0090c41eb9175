/* Shape, dtype and parameter rules of every op kind (the comments in op.h
 * are the specification). Every rule failure is a GError that names the op
 * and prints the shapes involved. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include "nn/nn_internal.h"

typedef struct {
  AgfDType dtype;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
} Out;

/* Shape strings for messages: S(i) prints input i (each into its own
 * buffer, so one message can show several). */
typedef struct { char b[AGF_OP_MAX_INPUTS][AGF_SHAPE_STR_LEN]; } Bufs;
#define S(i) agf_shape_str(op->in[i], bufs.b[i], AGF_SHAPE_STR_LEN)

typedef gboolean (*InferFn)(const AgfOp *op, const char *name, Out *o,
                            GError **error);

gboolean
agf_op_fail(GError **error, AgfError code, const char *name, const char *fmt,
            ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, AGF_ERROR, code, "%s: %s", name, msg);
  return FALSE;
}

static void
set_out(Out *o, int ndim, const int64_t *shape)
{
  o->ndim = ndim;
  memcpy(o->shape, shape, (size_t) ndim * sizeof *shape);
}

static gboolean
is_float(AgfDType dt)
{
  return dt == AGF_F32 || dt == AGF_F16;
}

/* Present inputs from..to-1 are float and of one dtype, stored in *dt. */
static gboolean
float_inputs(const AgfOp *op, const char *name, int from, int to,
             AgfDType *dt, GError **error)
{
  int first = -1;
  for (int i = from; i < to && i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    if (t == NULL)
      continue;
    if (!is_float(t->dtype))
      return agf_op_fail(
          error, AGF_ERROR_DTYPE, name,
          "input %d is %s but the op takes f32 or f16 tensors (turn "
          "images into tensors with agf_image_to_tensor)",
          i, agf_dtype_name(t->dtype));
    if (first < 0) {
      first = i;
      *dt = t->dtype;
    } else if (t->dtype != *dt) {
      return agf_op_fail(
          error, AGF_ERROR_DTYPE, name,
          "input %d is %s but input %d is %s: all float inputs of an "
          "op share one dtype (convert with agf_tensor_cast)",
          i, agf_dtype_name(t->dtype), first, agf_dtype_name(*dt));
    }
  }
  return TRUE;
}

static gboolean
need_ndim(const AgfOp *op, const char *name, int i, int ndim,
          const char *layout, GError **error)
{
  Bufs bufs;
  if (op->in[i]->ndim != ndim)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %d %s must be %d-D %s", i, S(i), ndim, layout);
  return TRUE;
}

/* An optional per-channel vector input i: absent, or [n]. */
static gboolean
need_vector(const AgfOp *op, const char *name, int i, int64_t n,
            const char *what, GError **error)
{
  Bufs bufs;
  const AgfTensor *v = i < op->n_in ? op->in[i] : NULL;
  if (v && (v->ndim != 1 || v->shape[0] != n))
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "%s (input %d) is %s but must be [%" G_GINT64_FORMAT
                       "] to "
                       "match input %s",
                       what, i, S(i), n, S(0));
  return TRUE;
}

static gboolean
need_finite(const char *name, const char *what, float v, GError **error)
{
  if (!isfinite(v))
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "%s must be finite, "
                       "not %g",
                       what, (double) v);
  return TRUE;
}

/* A parameter that must be >= min ("0 means dflt" applied first when
 * dflt > 0); the effective value goes to *v. */
static gboolean
need_param(const char *name, const char *what, int value, int dflt, int min,
           int *v, GError **error)
{
  *v = value == 0 && dflt > 0 ? dflt : value;
  if (*v < min)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "%s is %d but must "
                       "be >= %d%s",
                       what, value, min,
                       dflt > 0 ? " (0 selects the default)" : "");
  return TRUE;
}

static gboolean
need_eps(const char *name, float eps, GError **error)
{
  if (!(eps >= 0.0f) || !isfinite(eps))
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "eps is %g but must "
                       "be finite and >= 0 (1e-5 is usual)",
                       (double) eps);
  return TRUE;
}

static gboolean
infer_copy(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfTensor *x = op->in[0];
  o->dtype = op->out ? op->out->dtype : x->dtype;
  if ((x->dtype == AGF_U8) != (o->dtype == AGF_U8) ||
      (unsigned) o->dtype >= AGF_DTYPE_COUNT)
    return agf_op_fail(
        error, AGF_ERROR_DTYPE, name,
        "cannot convert %s to %s: "
        "copies convert between f32 and f16 only (u8 stays u8; use "
        "agf_image_to_tensor / agf_tensor_to_image)",
        agf_dtype_name(x->dtype), agf_dtype_name(o->dtype));
  set_out(o, x->ndim, x->shape);
  return TRUE;
}

static gboolean
infer_fill(const AgfOp *op, const char *name, Out *o, GError **error)
{
  if (op->out == NULL)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "no output tensor "
                       "given: fill an existing tensor with agf_tensor_fill");
  if (!is_float(op->out->dtype))
    return agf_op_fail(error, AGF_ERROR_DTYPE, name,
                       "cannot fill a %s tensor: fill "
                       "takes f32 or f16 tensors",
                       agf_dtype_name(op->out->dtype));
  o->dtype = op->out->dtype;
  set_out(o, op->out->ndim, op->out->shape);
  return TRUE;
}

static gboolean
infer_gemm(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfGemmParams *p = &op->p.gemm;
  const AgfTensor *a = op->in[0], *b = op->in[1];
  if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "A %s and B %s must be 2-D "
                       "[rows, cols] or 3-D [batch, rows, cols]",
                       S(0), S(1));
  int la = a->ndim - 1, lb = b->ndim - 1;
  int64_t m = p->trans_a ? a->shape[la] : a->shape[la - 1];
  int64_t ka = p->trans_a ? a->shape[la - 1] : a->shape[la];
  int64_t kb = p->trans_b ? b->shape[lb] : b->shape[lb - 1];
  int64_t n = p->trans_b ? b->shape[lb - 1] : b->shape[lb];
  if (ka != kb)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "A %s%s has K = %" G_GINT64_FORMAT
                       " but B %s%s has K = %" G_GINT64_FORMAT,
                       S(0), p->trans_a ? " (transposed)" : "", ka, S(1),
                       p->trans_b ? " (transposed)" : "", kb);
  int64_t ba = a->ndim == 3 ? a->shape[0] : 1;
  int64_t bb = b->ndim == 3 ? b->shape[0] : 1;
  if (ba != bb && ba != 1 && bb != 1)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "batch sizes of A %s and B %s "
                       "differ (%" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT
                       "); they "
                       "must be equal or one of them 1",
                       S(0), S(1), ba, bb);
  if (!need_vector(op, name, 2, n, "bias", error) ||
      !need_finite(name, "alpha", p->alpha, error))
    return FALSE;
  if (a->ndim == 2 && b->ndim == 2)
    set_out(o, 2, (int64_t[]){ m, n });
  else
    set_out(o, 3, (int64_t[]){ MAX(ba, bb), m, n });
  return TRUE;
}

/* Output extent of a (dilated) window sliding over a padded input. */
static gboolean
window_out(const char *name, const char *axis, int64_t in, int pad0, int pad1,
           int64_t k, int dil, int stride, int64_t *out, GError **error)
{
  int64_t padded = in + pad0 + pad1;
  if (k - 1 > (padded - 1) / dil)
    return agf_op_fail(
        error, AGF_ERROR_SHAPE, name,
        "the %s kernel (%" G_GINT64_FORMAT
        ", dilation %d) is larger than the padded input (%" G_GINT64_FORMAT
        " + %d + %d)",
        axis, k, dil, in, pad0, pad1);
  *out = (padded - (dil * (k - 1) + 1)) / stride + 1;
  return TRUE;
}

static gboolean
infer_conv2d(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfConv2dParams *p = &op->p.conv;
  int sh, sw, dh, dw, g, pads[4];
  if (!need_param(name, "stride_h", p->stride_h, 1, 1, &sh, error) ||
      !need_param(name, "stride_w", p->stride_w, 1, 1, &sw, error) ||
      !need_param(name, "dil_h", p->dil_h, 1, 1, &dh, error) ||
      !need_param(name, "dil_w", p->dil_w, 1, 1, &dw, error) ||
      !need_param(name, "groups", p->groups, 1, 1, &g, error) ||
      !need_param(name, "pad_top", p->pad_top, 0, 0, &pads[0], error) ||
      !need_param(name, "pad_bottom", p->pad_bottom, 0, 0, &pads[1], error) ||
      !need_param(name, "pad_left", p->pad_left, 0, 0, &pads[2], error) ||
      !need_param(name, "pad_right", p->pad_right, 0, 0, &pads[3], error))
    return FALSE;
  if (!need_ndim(op, name, 0, 4, "[N, C, H, W]", error) ||
      !need_ndim(op, name, 1, 4, "[Cout, Cin/groups, kh, kw]", error))
    return FALSE;
  const AgfTensor *x = op->in[0], *w = op->in[1];
  int64_t ci = x->shape[1], co = w->shape[0];
  if (ci % g != 0 || co % g != 0)
    return agf_op_fail(
        error, AGF_ERROR_SHAPE, name,
        "groups %d must divide the "
        "input channels of %s and the output channels of weight %s",
        g, S(0), S(1));
  if (w->shape[1] * g != ci)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %s has %" G_GINT64_FORMAT
                       " channels but weight %s expects %" G_GINT64_FORMAT
                       " (groups %d)",
                       S(0), ci, S(1), w->shape[1] * g, g);
  if (!need_vector(op, name, 2, co, "bias", error))
    return FALSE;
  int64_t oh = 0, ow = 0;
  if (!window_out(name, "vertical", x->shape[2], pads[0], pads[1], w->shape[2],
                  dh, sh, &oh, error) ||
      !window_out(name, "horizontal", x->shape[3], pads[2], pads[3],
                  w->shape[3], dw, sw, &ow, error))
    return FALSE;
  set_out(o, 4, (int64_t[]){ x->shape[0], co, oh, ow });
  return TRUE;
}

static gboolean
infer_group_norm(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfTensor *x = op->in[0];
  int groups = op->p.group_norm.groups;
  const AgfTensor *gamma = op->n_in > 1 ? op->in[1] : NULL;
  const AgfTensor *beta = op->n_in > 2 ? op->in[2] : NULL;
  if (x->ndim < 2)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %s must be [N, C, ...]", S(0));
  if (groups < 1 || x->shape[1] % groups != 0)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "groups is %d but "
                       "must be >= 1 and divide the %" G_GINT64_FORMAT
                       " channels of "
                       "%s",
                       groups, x->shape[1], S(0));
  if ((gamma == NULL) != (beta == NULL))
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "give both gamma "
                       "and beta, or neither");
  if (!need_vector(op, name, 1, x->shape[1], "gamma", error) ||
      !need_vector(op, name, 2, x->shape[1], "beta", error) ||
      !need_eps(name, op->p.group_norm.eps, error))
    return FALSE;
  set_out(o, x->ndim, x->shape);
  return TRUE;
}

static gboolean
infer_layer_norm(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfTensor *x = op->in[0];
  int64_t d = x->shape[x->ndim - 1];
  if (!need_vector(op, name, 1, d, "gamma", error) ||
      !need_vector(op, name, 2, d, "beta", error) ||
      !need_eps(name, op->p.layer_norm.eps, error))
    return FALSE;
  set_out(o, x->ndim, x->shape);
  return TRUE;
}

static gboolean
infer_batch_norm(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  static const char *const what[] = { NULL, "mean", "var", "gamma", "beta" };
  const AgfTensor *x = op->in[0];
  if (x->ndim < 2)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %s must be [N, C, ...]", S(0));
  for (int i = 1; i <= 4; i++)
    if (!need_vector(op, name, i, x->shape[1], what[i], error))
      return FALSE;
  if (!need_eps(name, op->p.batch_norm.eps, error))
    return FALSE;
  set_out(o, x->ndim, x->shape);
  return TRUE;
}

static gboolean
infer_same(const AgfOp *op, const char *name, Out *o, GError **error)
{
  (void) name;
  (void) error;
  set_out(o, op->in[0]->ndim, op->in[0]->shape);
  return TRUE;
}

static gboolean
infer_attention(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfAttentionParams *p = &op->p.attention;
  const AgfTensor *q = op->in[0], *k = op->in[1], *v = op->in[2];
  if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "q %s, k %s and v %s must be "
                       "3-D [batch, length, heads*dim]",
                       S(0), S(1), S(2));
  if (p->n_heads < 1)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "n_heads is %d but "
                       "must be >= 1",
                       p->n_heads);
  if (!need_finite(name, "scale", p->scale, error))
    return FALSE;
  if (k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0])
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "q %s, k %s and v %s must have "
                       "the same batch size",
                       S(0), S(1), S(2));
  if (k->shape[1] != v->shape[1])
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "k %s and v %s must have the "
                       "same length",
                       S(1), S(2));
  if (k->shape[2] != q->shape[2])
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "q %s and k %s must have the "
                       "same width (heads * head dim)",
                       S(0), S(1));
  if (q->shape[2] % p->n_heads != 0 || v->shape[2] % p->n_heads != 0)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name, "%d heads must divide the "
                       "widths of q %s and v %s", p->n_heads, S(0), S(2));
  set_out(o, 3, (int64_t[]){ q->shape[0], q->shape[1], v->shape[2] });
  return TRUE;
}

static gboolean
infer_unary(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfUnaryParams *p = &op->p.unary;
  if ((unsigned) p->fn >= AGF_UNARY_COUNT)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown function %d", (int) p->fn);
  if (!need_finite(name, "a", p->a, error) ||
      !need_finite(name, "b", p->b, error))
    return FALSE;
  return infer_same(op, name, o, error);
}

static gboolean
infer_binary(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  if ((unsigned) op->p.binary.fn >= AGF_BINARY_COUNT)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown function %d", (int) op->p.binary.fn);
  const AgfTensor *a = op->in[0], *b = op->in[1];
  int nd = MAX(a->ndim, b->ndim);
  int64_t shape[AGF_MAX_DIMS];
  for (int i = 1; i <= nd; i++) { /* aligned from the last dim */
    int64_t da = i <= a->ndim ? a->shape[a->ndim - i] : 1;
    int64_t db = i <= b->ndim ? b->shape[b->ndim - i] : 1;
    if (da != db && da != 1 && db != 1)
      return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                         "shapes %s and %s do not "
                         "broadcast (dim %d from the end: %" G_GINT64_FORMAT
                         " vs %" G_GINT64_FORMAT ")",
                         S(0), S(1), i, da, db);
    shape[nd - i] = MAX(da, db);
  }
  set_out(o, nd, shape);
  return TRUE;
}

/* One slope per channel (dim 1; a 1-D input is one channel), or a single
 * slope shared by all (PyTorch's PReLU(num_parameters=1)). */
static gboolean
infer_prelu(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfTensor *x = op->in[0], *a = op->in[1];
  int64_t channels = x->ndim >= 2 ? x->shape[1] : 1;
  if (a->ndim != 1 || (a->shape[0] != channels && a->shape[0] != 1))
    return agf_op_fail(error, AGF_ERROR_SHAPE, name, "slope %s must be [%"
                       G_GINT64_FORMAT "] (one per channel of input %s) or [1]",
                       S(1), channels, S(0));
  return infer_same(op, name, o, error);
}

static gboolean
infer_upsample(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  int f;
  if (!need_param(name, "factor", op->p.upsample.factor, 2, 1, &f, error) ||
      !need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  const AgfTensor *x = op->in[0];
  if (x->shape[2] > INT64_MAX / f || x->shape[3] > INT64_MAX / f)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "%s upsampled %dx is too large", S(0), f);
  set_out(o, 4, (int64_t[]){ x->shape[0], x->shape[1], x->shape[2] * f,
                             x->shape[3] * f });
  return TRUE;
}

/* Pooled extent, PyTorch's rule: with ceil_mode the last window must start
 * inside the input or the leading padding. */
static gboolean
pool_out(const AgfOp *op, const char *name, const char *axis, int64_t in,
         int k, int s, int pad0, int pad1, int64_t *out, GError **error)
{
  Bufs bufs;
  int64_t span = in + pad0 + pad1 - k;
  if (span < 0)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "the %s kernel %d is larger "
                       "than the padded input %s (+%d+%d)",
                       axis, k, S(0), pad0, pad1);
  *out = (op->p.pool.ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (op->p.pool.ceil_mode && (*out - 1) * s >= in + pad0)
    (*out)--;
  return TRUE;
}

static gboolean
infer_pool2d(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfPool2dParams *p = &op->p.pool;
  int kh, kw, sh, sw, pads[4];
  if (p->kind != AGF_POOL_MAX && p->kind != AGF_POOL_AVG)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown pool kind "
                       "%d (use AGF_POOL_MAX or AGF_POOL_AVG)",
                       (int) p->kind);
  if (!need_param(name, "kernel_h", p->kernel_h, 0, 1, &kh, error) ||
      !need_param(name, "kernel_w", p->kernel_w, 0, 1, &kw, error) ||
      !need_param(name, "stride_h", p->stride_h, 0, 1, &sh, error) ||
      !need_param(name, "stride_w", p->stride_w, 0, 1, &sw, error) ||
      !need_param(name, "pad_top", p->pad_top, 0, 0, &pads[0], error) ||
      !need_param(name, "pad_bottom", p->pad_bottom, 0, 0, &pads[1], error) ||
      !need_param(name, "pad_left", p->pad_left, 0, 0, &pads[2], error) ||
      !need_param(name, "pad_right", p->pad_right, 0, 0, &pads[3], error) ||
      !need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  /* Larger padding would let a window hold padding only (PyTorch's rule). */
  if (MAX(pads[0], pads[1]) > kh / 2 || MAX(pads[2], pads[3]) > kw / 2)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "padding (%d, %d, "
                       "%d, %d) must be at most half the kernel %dx%d",
                       pads[0], pads[1], pads[2], pads[3], kh, kw);
  const AgfTensor *x = op->in[0];
  int64_t oh = 0, ow = 0;
  if (!pool_out(op, name, "vertical", x->shape[2], kh, sh, pads[0], pads[1],
                &oh, error) ||
      !pool_out(op, name, "horizontal", x->shape[3], kw, sw, pads[2], pads[3],
                &ow, error))
    return FALSE;
  set_out(o, 4, (int64_t[]){ x->shape[0], x->shape[1], oh, ow });
  return TRUE;
}

static gboolean
infer_global_avg_pool(const AgfOp *op, const char *name, Out *o,
                      GError **error)
{
  if (!need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  set_out(o, 4, (int64_t[]){ op->in[0]->shape[0], op->in[0]->shape[1], 1, 1 });
  return TRUE;
}

static gboolean
infer_concat(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfTensor *x = op->in[0];
  int dim = op->p.concat.dim;
  if (dim < 0 || dim >= x->ndim)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "dim %d is out of "
                       "range for %s (0..%d)",
                       dim, S(0), x->ndim - 1);
  set_out(o, x->ndim, x->shape);
  for (int i = 1; i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    gboolean fits = t->ndim == x->ndim;
    for (int d = 0; fits && d < x->ndim; d++)
      fits = d == dim || t->shape[d] == x->shape[d];
    if (!fits)
      return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                         "input %d %s does not match "
                         "input 0 %s outside dim %d",
                         i, S(i), S(0), dim);
    o->shape[dim] += t->shape[dim];
  }
  return TRUE;
}

static gboolean
infer_timestep(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfTimestepEmbedParams *p = &op->p.temb;
  const AgfTensor *t = op->in[0];
  if (t->dtype != AGF_F32)
    return agf_op_fail(error, AGF_ERROR_DTYPE, name,
                       "timesteps are %s but must be "
                       "f32",
                       agf_dtype_name(t->dtype));
  if (t->ndim != 1)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "timesteps %s must be 1-D [B]", S(0));
  if (p->dim < 2)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "dim is %d but must "
                       "be >= 2",
                       p->dim);
  if (!need_finite(name, "downscale_freq_shift", p->downscale_freq_shift,
                   error) ||
      !need_finite(name, "max_period", p->max_period, error))
    return FALSE;
  if (p->max_period < 0.0f)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "max_period is %g "
                       "but must be > 0 (0 selects 10000)",
                       (double) p->max_period);
  if ((float) (p->dim / 2) - p->downscale_freq_shift == 0.0f)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name, "dim / 2 - "
                       "downscale_freq_shift is 0 (dim %d, shift %g): the "
                       "frequencies would divide by zero", p->dim,
                       (double) p->downscale_freq_shift);
  o->dtype = AGF_F32;
  set_out(o, 2, (int64_t[]){ t->shape[0], p->dim });
  return TRUE;
}

static gboolean
infer_l2(const AgfOp *op, const char *name, Out *o, GError **error)
{
  if (!need_eps(name, op->p.l2.eps, error))
    return FALSE;
  return infer_same(op, name, o, error);
}

static gboolean
need_out_size(const char *name, int h, int w, GError **error)
{
  if (h < 1 || w < 1)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "output size %dx%d "
                       "must be at least 1x1",
                       h, w);
  return TRUE;
}

static gboolean
infer_resize(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfResizeParams *p = &op->p.resize;
  if (!need_out_size(name, p->out_h, p->out_w, error) ||
      !need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  const AgfTensor *x = op->in[0];
  set_out(o, 4, (int64_t[]){ x->shape[0], x->shape[1], p->out_h, p->out_w });
  return TRUE;
}

static gboolean
infer_warp(const AgfOp *op, const char *name, Out *o, GError **error)
{
  Bufs bufs;
  const AgfAffineWarpParams *p = &op->p.warp;
  const AgfTensor *img = op->in[0], *m = op->in[1];
  if (!need_out_size(name, p->out_h, p->out_w, error) ||
      !need_finite(name, "border", p->border, error) ||
      !need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  if (m->dtype != AGF_F32)
    return agf_op_fail(error, AGF_ERROR_DTYPE, name,
                       "the matrix is %s but must be "
                       "f32",
                       agf_dtype_name(m->dtype));
  if (m->ndim != 3 || m->shape[0] != img->shape[0] || m->shape[1] != 2 ||
      m->shape[2] != 3)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "the matrix %s must be [%" G_GINT64_FORMAT
                       ", 2, 3] (one 2x3 matrix per image of %s)",
                       S(1), img->shape[0], S(0));
  set_out(o, 4, (int64_t[]){ img->shape[0], img->shape[1], p->out_h,
                             p->out_w });
  return TRUE;
}

static gboolean
need_mean_std(const char *name, const float mean[3], const float std[3],
              GError **error)
{
  for (int c = 0; c < 3; c++)
    if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] == 0.0f)
      return agf_op_fail(
          error, AGF_ERROR_INVALID_ARGUMENT, name,
          "mean[%d] = %g "
          "and std[%d] = %g must be finite, std non-zero (ImageNet: "
          "mean 0.485, 0.456, 0.406, std 0.229, 0.224, 0.225)",
          c, (double) mean[c], c, (double) std[c]);
  return TRUE;
}

static gboolean
infer_image_to_tensor(const AgfOp *op, const char *name, Out *o,
                      GError **error)
{
  Bufs bufs;
  const AgfTensor *img = op->in[0];
  if (img->dtype != AGF_U8)
    return agf_op_fail(error, AGF_ERROR_DTYPE, name,
                       "the image is %s but must be "
                       "u8",
                       agf_dtype_name(img->dtype));
  if (img->ndim != 4 || (img->shape[3] != 3 && img->shape[3] != 4))
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "the image %s must be [N, H, "
                       "W, 3] (RGB) or [N, H, W, 4] (RGBA)",
                       S(0));
  if (!need_mean_std(name, op->p.to_tensor.mean, op->p.to_tensor.std, error))
    return FALSE;
  o->dtype = AGF_F32;
  set_out(o, 4, (int64_t[]){ img->shape[0], 3, img->shape[1], img->shape[2] });
  return TRUE;
}

static gboolean
infer_tensor_to_image(const AgfOp *op, const char *name, Out *o,
                      GError **error)
{
  Bufs bufs;
  const AgfTensor *x = op->in[0];
  if (x->ndim != 4 || x->shape[1] != 3)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %s must be [N, 3, H, W]", S(0));
  if (!need_mean_std(name, op->p.to_image.mean, op->p.to_image.std, error))
    return FALSE;
  o->dtype = AGF_U8;
  set_out(o, 4, (int64_t[]){ x->shape[0], x->shape[2], x->shape[3], 4 });
  return TRUE;
}

static gboolean
infer_colormap(const AgfOp *op, const char *name, Out *o, GError **error)
{
  const AgfColormapParams *p = &op->p.cmap;
  if ((unsigned) p->cmap >= AGF_CMAP_COUNT)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown colour map "
                       "%d",
                       (int) p->cmap);
  if (!need_finite(name, "vmin", p->vmin, error) ||
      !need_finite(name, "vmax", p->vmax, error))
    return FALSE;
  if (p->vmin == p->vmax)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "vmin and vmax are "
                       "both %g: give a range, e.g. 0 and 1",
                       (double) p->vmin);
  if (!need_ndim(op, name, 0, 4, "[N, C, H, W]", error))
    return FALSE;
  const AgfTensor *x = op->in[0];
  o->dtype = AGF_U8;
  set_out(o, 4, (int64_t[]){ x->shape[0], x->shape[2], x->shape[3], 4 });
  return TRUE;
}

static gboolean
infer_train(const AgfOp *op, const char *name, Out *o, GError **error)
{
  return agf_op_infer_train(op, name, &o->dtype, &o->ndim, o->shape, error);
}

/* Inputs: min_in required, up to max_in; float_to: inputs [0, float_to)
 * are float and share the dtype that the output gets (0: the rule decides). */
static const struct {
  int min_in, max_in, float_to;
  InferFn infer;
} rules[AGF_OP_COUNT] = {
  [AGF_OP_COPY] = { 1, 1, 0, infer_copy },
  [AGF_OP_FILL] = { 0, 0, 0, infer_fill },
  [AGF_OP_GEMM] = { 2, 3, 3, infer_gemm },
  [AGF_OP_CONV2D] = { 2, 3, 3, infer_conv2d },
  [AGF_OP_GROUP_NORM] = { 1, 3, 3, infer_group_norm },
  [AGF_OP_LAYER_NORM] = { 1, 3, 3, infer_layer_norm },
  [AGF_OP_BATCH_NORM] = { 5, 5, 5, infer_batch_norm },
  [AGF_OP_SOFTMAX] = { 1, 1, 1, infer_same },
  [AGF_OP_ATTENTION] = { 3, 3, 3, infer_attention },
  [AGF_OP_UNARY] = { 1, 1, 1, infer_unary },
  [AGF_OP_BINARY] = { 2, 2, 2, infer_binary },
  [AGF_OP_PRELU] = { 2, 2, 2, infer_prelu },
  [AGF_OP_UPSAMPLE_NEAREST] = { 1, 1, 1, infer_upsample },
  [AGF_OP_POOL2D] = { 1, 1, 1, infer_pool2d },
  [AGF_OP_GLOBAL_AVG_POOL] = { 1, 1, 1, infer_global_avg_pool },
  [AGF_OP_CONCAT] = { 1, AGF_OP_MAX_INPUTS, AGF_OP_MAX_INPUTS, infer_concat },
  [AGF_OP_TIMESTEP_EMBED] = { 1, 1, 0, infer_timestep },
  [AGF_OP_L2_NORMALIZE] = { 1, 1, 1, infer_l2 },
  [AGF_OP_RESIZE_BILINEAR] = { 1, 1, 1, infer_resize },
  [AGF_OP_AFFINE_WARP] = { 2, 2, 1, infer_warp },
  [AGF_OP_IMAGE_TO_TENSOR] = { 1, 1, 0, infer_image_to_tensor },
  [AGF_OP_TENSOR_TO_IMAGE] = { 1, 1, 1, infer_tensor_to_image },
  [AGF_OP_COLORMAP] = { 1, 1, 1, infer_colormap },
  [AGF_OP_REDUCE] = { 1, 1, 1, infer_train },
  [AGF_OP_UNARY_BWD] = { 2, 2, 2, infer_train },
  [AGF_OP_CONV2D_BWD_DATA] = { 2, 2, 2, infer_train },
  [AGF_OP_CONV2D_BWD_FILTER] = { 2, 2, 2, infer_train },
  [AGF_OP_NORM_STATS] = { 1, 1, 1, infer_train },
  [AGF_OP_NORM_BWD] = { 2, 3, 3, infer_train },
  [AGF_OP_ATTENTION_BWD] = { 5, 6, 5, infer_train },
  [AGF_OP_POOL2D_BWD] = { 2, 2, 2, infer_train },
};

/* Inputs present where required, absent past n_in, each a valid tensor. */
static gboolean
check_inputs(const AgfOp *op, const char *name, GError **error)
{
  int lo = rules[op->kind].min_in, hi = rules[op->kind].max_in;
  if (op->n_in < lo || op->n_in > hi)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "takes %d to %d "
                       "inputs, not %d",
                       lo, hi, op->n_in);
  for (int i = 0; i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    if (t == NULL) {
      if (i < lo || op->kind == AGF_OP_CONCAT)
        return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                           "input %d is "
                           "missing (NULL)",
                           i);
      continue;
    }
    if (t->ndim < 1 || t->ndim > AGF_MAX_DIMS ||
        (unsigned) t->dtype >= AGF_DTYPE_COUNT || t->dev == NULL)
      return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                         "input %d is not "
                         "a valid tensor (ndim %d, dtype %d)",
                         i, t->ndim, (int) t->dtype);
  }
  return TRUE;
}

gboolean
agf_op_infer(const AgfOp *op, AgfDType *dtype, int *ndim, int64_t *shape,
             GError **error)
{
  if (op == NULL || (unsigned) op->kind >= AGF_OP_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "op: %s (use a kind from AgfOpKind)",
                op ? "unknown op kind" : "no op given (NULL)");
    return FALSE;
  }
  const char *name = agf_op_label(op);
  if (!check_inputs(op, name, error))
    return FALSE;
  Out o = { 0 };
  if (rules[op->kind].float_to > 0 &&
      !float_inputs(op, name, 0, rules[op->kind].float_to, &o.dtype, error))
    return FALSE;
  if (!rules[op->kind].infer(op, name, &o, error) ||
      !agf_check_dims(name, o.ndim, o.shape, NULL, error))
    return FALSE;
  if (dtype)
    *dtype = o.dtype;
  if (ndim)
    *ndim = o.ndim;
  if (shape)
    memcpy(shape, o.shape, (size_t) o.ndim * sizeof *shape);
  return TRUE;
}
