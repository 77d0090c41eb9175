/* Elementwise ops on Vulkan: activations (shaders/unary.comp), binary
 * arithmetic with numpy broadcasting (shaders/binary.comp) and PReLU
 * (shaders/prelu.comp). */
#include "gpu/vk_op_launch.h"
#include "unary.spv.h"
#include "unary_f16.spv.h"
#include "binary.spv.h"
#include "binary_f16.spv.h"
#include "prelu.spv.h"
#include "prelu_f16.spv.h"

gboolean
agf_vk_op_unary(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(unary);
  AgfDType dt = op->out->dtype;
  const AgfUnaryParams *up = &op->p.unary;
  uint64_t n = (uint64_t)agf_tensor_numel(op->out);
  if ((unsigned)up->fn >= AGF_UNARY_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unary: unknown function %d; use an AgfUnaryFn value", up->fn);
    return FALSE;
  }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "unary", error);
  if (!spv || !agf_vk_check_u32("unary", n, error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, op->in[0], dt, &tx, error);
  if (!x)
    return FALSE;
  struct { uint32_t n; float a, b; } push = { (uint32_t)n, up->a, up->b };
  uint32_t spec[2] = { AGF_VK_ELEM_WG, (uint32_t)up->fn };
  AgfVkBinding bind[2] = { agf_vk_bind(x), agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 2, bind, 2, &push, sizeof push,
                             n, error);
}

typedef struct {
  uint32_t n;
  uint32_t shape[AGF_MAX_DIMS], sa[AGF_MAX_DIMS], sb[AGF_MAX_DIMS];
} BinaryPush;

/* Element strides of t (dense) broadcast to out's dims: 0 where t has size
 * 1 or lacks the (leading) dim. */
static void
broadcast_strides(const AgfTensor *t, const AgfTensor *out, int64_t *st)
{
  int off = out->ndim - t->ndim;
  int64_t s = 1;
  for (int d = out->ndim - 1; d >= 0; d--) {
    int td = d - off;
    if (td < 0 || t->shape[td] == 1) {
      st[d] = 0;
    } else {
      st[d] = s;
      s *= t->shape[td];
    }
  }
}

/* Drops size-1 dims and merges neighbours that both operands walk
 * contiguously (or both broadcast), so most calls become 1-D. */
static int
collapse_dims(const AgfTensor *out, const int64_t *sa, const int64_t *sb,
              BinaryPush *p)
{
  int n = 0;
  for (int d = 0; d < out->ndim; d++) {
    int64_t size = out->shape[d];
    if (size == 1)
      continue;
    if (n > 0 && (int64_t)p->sa[n - 1] == sa[d] * size &&
        (int64_t)p->sb[n - 1] == sb[d] * size) {
      p->shape[n - 1] *= (uint32_t)size;
      p->sa[n - 1] = (uint32_t)sa[d];
      p->sb[n - 1] = (uint32_t)sb[d];
      continue;
    }
    p->shape[n] = (uint32_t)size;
    p->sa[n] = (uint32_t)sa[d];
    p->sb[n] = (uint32_t)sb[d];
    n++;
  }
  if (n == 0) {
    p->shape[0] = 1;
    p->sa[0] = p->sb[0] = 0;
    n = 1;
  }
  return n;
}

gboolean
agf_vk_op_binary(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(binary);
  AgfDType dt = op->out->dtype;
  const AgfTensor *out = op->out;
  uint64_t n = (uint64_t)agf_tensor_numel(out);
  if ((unsigned)op->p.binary.fn >= AGF_BINARY_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "binary: unknown function %d; use an AgfBinaryFn value",
                op->p.binary.fn);
    return FALSE;
  }
  for (int i = 0; i < 2; i++) {
    const AgfTensor *t = op->in[i];
    int off = out->ndim - t->ndim;
    gboolean ok = off >= 0;
    for (int d = 0; ok && d < t->ndim; d++)
      ok = t->shape[d] == 1 || t->shape[d] == out->shape[d + off];
    if (!ok) {
      char bt[160], bo[160];
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "binary: operand %s does not broadcast to %s",
                  agf_shape_str(t, bt, sizeof bt),
                  agf_shape_str(out, bo, sizeof bo));
      return FALSE;
    }
  }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "binary", error);
  if (!spv || !agf_vk_check_u32("binary", n, error))
    return FALSE;
  g_autoptr(AgfTensor) ta = NULL;
  g_autoptr(AgfTensor) tb = NULL;
  const AgfTensor *a = agf_vk_as_dtype(dev, op->in[0], dt, &ta, error);
  const AgfTensor *b = a ? agf_vk_as_dtype(dev, op->in[1], dt, &tb, error) : NULL;
  if (!b)
    return FALSE;
  int64_t sa[AGF_MAX_DIMS], sb[AGF_MAX_DIMS];
  broadcast_strides(a, out, sa);
  broadcast_strides(b, out, sb);
  BinaryPush push = { .n = (uint32_t)n };
  int ndim = collapse_dims(out, sa, sb, &push);
  uint32_t spec[3] = { AGF_VK_ELEM_WG, (uint32_t)op->p.binary.fn,
                       (uint32_t)ndim };
  AgfVkBinding bind[3] = { agf_vk_bind(a), agf_vk_bind(b), agf_vk_bind(out) };
  return agf_vk_launch_items(dev, spv, spec, 3, bind, 3, &push, sizeof push,
                             n, error);
}

gboolean
agf_vk_op_prelu(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(prelu);
  AgfDType dt = op->out->dtype;
  const AgfTensor *x0 = op->in[0];
  uint64_t n = (uint64_t)agf_tensor_numel(x0);
  int64_t channels = x0->ndim >= 2 ? x0->shape[1] : 1;
  int64_t n_alpha = agf_tensor_numel(op->in[1]);
  if (n_alpha != 1 && n_alpha != channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "prelu: %" G_GINT64_FORMAT " slopes for %" G_GINT64_FORMAT
                " channels; pass one slope per channel (dim 1) or one in all",
                n_alpha, channels);
    return FALSE;
  }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "prelu", error);
  if (!spv || !agf_vk_check_u32("prelu", n, error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) ta = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, x0, dt, &tx, error);
  const AgfTensor *al = x ? agf_vk_as_dtype(dev, op->in[1], dt, &ta, error) : NULL;
  if (!al)
    return FALSE;
  struct { uint32_t n, inner, channels, alpha_step; } push = {
    (uint32_t)n, (uint32_t)agf_vk_dims_prod(x0, 2, x0->ndim),
    (uint32_t)channels, n_alpha == 1 ? 0u : 1u };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(al),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 3, &push, sizeof push,
                             n, error);
}
