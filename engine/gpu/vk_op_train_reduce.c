/* AGF_OP_REDUCE on Vulkan (shaders/reduce.comp): sum or max of x down to a
 * broadcast-compatible shape. x's dims are collapsed into runs of kept and
 * reduced dims, so every call is at most a 3-D gather. */
#include "gpu/vk_op_launch.h"
#include "reduce.spv.h"
#include "reduce_f16.spv.h"

#define MAX_RUNS 3

typedef struct {
  uint32_t n_out, n_red, nk, nr;
  uint32_t ks[MAX_RUNS], kst[MAX_RUNS]; /* kept runs, outer to inner */
  uint32_t rs[MAX_RUNS], rst[MAX_RUNS]; /* reduced runs, outer to inner */
} ReducePush;

typedef struct { uint32_t size[MAX_RUNS], stride[MAX_RUNS], n; } Runs;

/* Reverses runs collected inner to outer into the shader's order. */
static void
store_runs(const Runs *r, uint32_t *size, uint32_t *stride, uint32_t *n)
{
  *n = r->n;
  for (uint32_t i = 0; i < r->n; i++) {
    size[i] = r->size[r->n - 1 - i];
    stride[i] = r->stride[r->n - 1 - i];
  }
}

gboolean
agf_vk_op_reduce(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(reduce);
  const AgfReduceParams *rp = &op->p.reduce;
  AgfDType dt = op->out->dtype;
  const AgfTensor *x0 = op->in[0];
  uint64_t numel = (uint64_t)agf_tensor_numel(x0);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "reduce", error);
  if (!spv || !agf_vk_check_u32("reduce", numel, error))
    return FALSE;
  if (agf_tensor_numel(op->out) == 0)
    return TRUE;
  if (numel == 0) /* an empty sum; an empty max has no value either */
    return agf_tensor_fill(op->out, 0.0f, error);

  /* Walk x's dims from the last (dense strides); size-1 dims vanish and a
   * dim merges into the current run when the previous non-1 dim was of the
   * same class, so kept and reduced runs alternate: at most 3 of each. */
  Runs kept = { 0 }, red = { 0 };
  int off = x0->ndim - rp->ndim, last = -1;
  uint64_t stride = 1;
  gboolean inner_kept = FALSE;
  for (int d = x0->ndim - 1; d >= 0; d--) {
    uint64_t size = (uint64_t)x0->shape[d];
    if (size > 1) {
      int is_kept = d >= off && rp->shape[d - off] == x0->shape[d];
      Runs *r = is_kept ? &kept : &red;
      if (last < 0)
        inner_kept = is_kept;
      if (last == is_kept) {
        r->size[r->n - 1] *= (uint32_t)size;
      } else {
        r->size[r->n] = (uint32_t)size;
        r->stride[r->n] = (uint32_t)stride;
        r->n++;
      }
      last = is_kept;
    }
    stride *= size;
  }
  ReducePush push = { 0 };
  store_runs(&kept, push.ks, push.kst, &push.nk);
  store_runs(&red, push.rs, push.rst, &push.nr);
  push.n_out = 1;
  push.n_red = 1;
  for (uint32_t i = 0; i < push.nk; i++)
    push.n_out *= push.ks[i];
  for (uint32_t i = 0; i < push.nr; i++)
    push.n_red *= push.rs[i];

  g_autoptr(AgfTensor) tx = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, x0, dt, &tx, error);
  if (!x)
    return FALSE;
  /* One invocation per output reads x coalesced when x's inner dim is
   * kept, and suffices when there are many outputs or little to reduce;
   * otherwise a workgroup per output shares each long reduction. */
  gboolean per_wg = push.n_red >= 64 &&
                    (!inner_kept || push.n_out < 8192);
  uint32_t spec[3] = { per_wg ? agf_vk_reduce_wg(dev, push.n_red) : AGF_VK_ELEM_WG,
                       rp->fn == AGF_REDUCE_MAX, per_wg };
  AgfVkBinding bind[2] = { agf_vk_bind(x), agf_vk_bind(op->out) };
  if (per_wg)
    return agf_vk_launch_folded(dev, spv, spec, 3, bind, 2, &push, sizeof push,
                                push.n_out, error);
  return agf_vk_launch_items(dev, spv, spec, 3, bind, 2, &push, sizeof push,
                             push.n_out, error);
}
