/* The Vulkan GEMM engine (see vk_gemm.h): operand materialization (panel
 * packing, im2col, padding) and the three kernel families, recorded as a
 * short sequence of dispatches with temporaries released right after
 * recording (the runtime orders their reuse after the queued work). */
#include "gpu/vk_gemm.h"

#include "gemm_pack.spv.h"
#include "gemm_pack_f16.spv.h"
#include "gemm_texel.spv.h"
#include "gemm_texel_f16.spv.h"
#include "gemm_tiled.spv.h"
#include "gemm_tiled_f16.spv.h"
#include "gemm_pad.spv.h"
#include "gemm_pad_f16.spv.h"
#include "gemm_pad_f32_to_f16.spv.h"
#include "gemm_coopmat.spv.h"
#include "gemm_epilogue.spv.h"
#include "gemm_epilogue_f16.spv.h"

#define PANEL 16u      /* rows per panel = outputs per invocation side */
#define TILE 64u       /* gemm_tiled block tile */
#define PACK_WG 64u    /* workgroup size of gemm_pack / gemm_pad / epilogue */
/* Elements of one operand temporary; larger N is processed in chunks so
 * an im2col of a big image does not need gigabytes at once. */
#define TEMP_LIMIT ((uint64_t)1 << 25)

/* Push block of gemm_pack / gemm_pad (shaders/common/gemm_src.glsl). */
typedef struct {
  uint32_t rows, kdim, src_batches, src_bstride, s_row, s_k;
  uint32_t batch_base, row_base, dst_a, dst_b;
  AgfVkIm2col geo;
} SrcPush;

typedef struct {
  uint32_t m, n, k4s, pm, pn, a_batches, b_batches, batch_base;
  uint32_t c_bs, c_ld, c_off, bias_groups, bias_off;
  float alpha;
} TexelPush;

typedef struct {
  uint32_t m, n, k, a_batches, b_batches, batch_base;
  uint32_t a_bs, a_sm, a_sk, b_bs, b_sk, b_sn;
  uint32_t c_bs, c_ld, c_off, bias_groups, bias_off;
  float alpha;
} TiledPush;

typedef struct { uint32_t mp, np, kp, a_batches, b_batches, batch_base; } CoopPush;

typedef struct {
  uint32_t m, n, mp, np, batch_base;
  uint32_t c_bs, c_ld, c_off, bias_groups, bias_off;
  float alpha;
} EpiloguePush;

static uint32_t round_up(uint32_t a, uint32_t b) { return agf_div_up(a, b) * b; }

static gboolean fits_u32(uint64_t n, GError **error)
{
  if (n <= G_MAXUINT32)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "GEMM/conv on Vulkan: %" G_GUINT64_FORMAT " elements exceed the "
              "32-bit indices of the kernels; split the batch", n);
  return FALSE;
}

/* Records pl over n_batch batches of (gx, gy) groups, in slices of at most
 * the device's z limit; *batch_base (a field of push) carries the first. */
static gboolean dispatch_batches(AgfDevice *dev, AgfVkPipeline *pl,
                                 const AgfVkBinding *bind, int n_bind,
                                 void *push, uint32_t push_size,
                                 uint32_t *batch_base, uint32_t gx, uint32_t gy,
                                 uint32_t n_batch, GError **error)
{
  const AgfVkCaps *caps = agf_vk_caps(dev);
  if (gx > caps->max_workgroup_count[0] || gy > caps->max_workgroup_count[1]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "GEMM/conv on Vulkan: a grid of %u x %u workgroups exceeds the "
                "device limit (%u x %u); use smaller matrices", gx, gy,
                caps->max_workgroup_count[0], caps->max_workgroup_count[1]);
    return FALSE;
  }
  uint32_t zmax = caps->max_workgroup_count[2];
  for (uint32_t b0 = 0; b0 < n_batch; b0 += zmax) {
    *batch_base = b0;
    if (!agf_vk_dispatch(dev, pl, bind, n_bind, push, push_size, gx, gy,
                         MIN(zmax, n_batch - b0), error))
      return FALSE;
  }
  return TRUE;
}

/* A 1-D range of groups folded into x/y (shaders recombine it). */
static void fold(AgfDevice *dev, uint64_t groups, uint32_t *gx, uint32_t *gy)
{
  uint32_t xmax = agf_vk_caps(dev)->max_workgroup_count[0];
  *gx = (uint32_t)MAX(1, MIN(groups, xmax));
  *gy = agf_div_up(groups, *gx);
}

static AgfTensor *new_temp(AgfDevice *dev, AgfDType dt, uint64_t numel,
                           GError **error)
{
  if (!fits_u32(numel, error))
    return NULL;
  int64_t shape[1] = { (int64_t)numel };
  return agf_tensor_new(dev, dt, 1, shape, error);
}

static SrcPush src_push(const AgfVkGemmOperand *o, uint32_t rows, uint32_t k,
                        uint32_t row_base)
{
  SrcPush p = {
    .rows = rows, .kdim = k, .src_batches = o->batches,
    .src_bstride = o->bstride, .s_row = o->s_row, .s_k = o->s_k,
    .row_base = row_base,
  };
  if (o->geo)
    p.geo = *o->geo;
  return p;
}

static const AgfVkBindKind storage2[2] = { AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE };

/* Runs a kernel that reads o through push (pack or pad) over each batch,
 * writing per_batch elements of dst per batch. Consumes dst: returns it,
 * or unrefs it and returns NULL. */
static AgfTensor *run_src_kernel(AgfDevice *dev, const AgfVkGemmOperand *o,
                                 const AgfSpirv *spv, const uint32_t spec[2],
                                 SrcPush *push, uint64_t per_batch,
                                 AgfTensor *dst, GError **error)
{
  AgfVkPipeline *pl = agf_vk_pipeline(dev, spv, spec, 2, storage2, 2,
                                      sizeof(SrcPush), error);
  AgfVkBinding bind[2] = { agf_vk_bind(o->t), agf_vk_bind(dst) };
  uint32_t gx, gy;
  fold(dev, agf_div_up(per_batch, PACK_WG), &gx, &gy);
  if (!pl || !dispatch_batches(dev, pl, bind, 2, push, sizeof *push,
                               &push->batch_base, gx, gy, o->batches, error)) {
    agf_tensor_unref(dst);
    return NULL;
  }
  return dst;
}

/* Packs rows [row_base, row_base + 16 * panels) of o (rows_total rows,
 * k columns) into gemm_texel panels; returns the new temporary. */
static AgfTensor *pack_panels(AgfDevice *dev, const AgfVkGemmOperand *o,
                              uint32_t rows_total, uint32_t row_base,
                              uint32_t panels, uint32_t k, GError **error)
{
  AgfDType dt = o->t->dtype;
  uint32_t k4s = agf_div_up(k, 4);
  uint64_t per_batch = (uint64_t)panels * k4s * PANEL;
  AgfTensor *dst = new_temp(dev, dt, per_batch * 4 * o->batches, error);
  if (!dst)
    return NULL;
  AgfSpirv spv = dt == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_pack_f16)
                               : AGF_SPIRV(agf_spv_gemm_pack);
  uint32_t spec[2] = { PANEL, o->geo != NULL };
  SrcPush push = src_push(o, rows_total, k, row_base);
  push.dst_a = panels;
  push.dst_b = k4s;
  return run_src_kernel(dev, o, &spv, spec, &push, per_batch, dst, error);
}

/* Writes o as dense [rows_p, cols_p] matrices per batch, zero-padded:
 * dst rows over k when row_is_k (a [K, N] B operand), else over o's rows
 * starting at row_base. out_dt F16 with an F32 source converts. */
static AgfTensor *pad_dense(AgfDevice *dev, const AgfVkGemmOperand *o,
                            uint32_t rows_total, uint32_t row_base, uint32_t k,
                            gboolean row_is_k, uint32_t rows_p, uint32_t cols_p,
                            AgfDType out_dt, GError **error)
{
  uint64_t per_batch = (uint64_t)rows_p * cols_p;
  AgfTensor *dst = new_temp(dev, out_dt, per_batch * o->batches, error);
  if (!dst)
    return NULL;
  AgfSpirv spv = o->t->dtype == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_pad_f16)
               : out_dt == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_pad_f32_to_f16)
               : AGF_SPIRV(agf_spv_gemm_pad);
  uint32_t spec[2] = { row_is_k, o->geo != NULL };
  SrcPush push = src_push(o, rows_total, k, row_base);
  push.dst_a = rows_p;
  push.dst_b = cols_p;
  return run_src_kernel(dev, o, &spv, spec, &push, per_batch, dst, error);
}

static AgfVkBinding bias_binding(const AgfVkGemm *g)
{
  /* Without bias the kernel never reads binding 3; bind the output. */
  return agf_vk_bind(g->bias_mode != AGF_VK_BIAS_NONE ? g->bias : g->out);
}

/* Largest multiple of step (at least step) columns whose temporary of
 * per_col elements per column stays under limit. */
static uint32_t chunk_cols(uint32_t n, uint64_t per_col, uint64_t limit,
                           uint32_t step)
{
  uint64_t c = limit / MAX(per_col, 1) / step * step;
  return (uint32_t)MIN(MAX(c, step), round_up(n, step));
}

static gboolean gemm_texel(AgfDevice *dev, const AgfVkGemm *g, GError **error)
{
  const AgfVkCaps *caps = agf_vk_caps(dev);
  AgfDType dt = g->out->dtype;
  uint32_t k4s = agf_div_up(g->k, 4), pm = agf_div_up(g->m, PANEL);
  uint64_t limit = MIN(TEMP_LIMIT, (uint64_t)caps->max_texel_elements * 4);
  uint32_t nc = chunk_cols(g->n, (uint64_t)g->b.batches * k4s * 4, limit, PANEL);
  g_autoptr(AgfTensor) ap = pack_panels(dev, &g->a, g->m, 0, pm, g->k, error);
  if (!ap)
    return FALSE;
  AgfSpirv spv = dt == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_texel_f16)
                               : AGF_SPIRV(agf_spv_gemm_texel);
  /* One SIMD row of lavapipe (8 lanes at 256 bits) per workgroup. */
  uint32_t wg = 8;
  uint32_t spec[2] = { wg, g->bias_mode };
  static const AgfVkBindKind kinds[4] = { AGF_VK_BIND_TEXEL, AGF_VK_BIND_TEXEL,
                                          AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE };
  AgfVkPipeline *pl = agf_vk_pipeline(dev, &spv, spec, 2, kinds, 4,
                                      sizeof(TexelPush), error);
  if (!pl)
    return FALSE;
  VkFormat fmt = dt == AGF_F16 ? VK_FORMAT_R16G16B16A16_SFLOAT
                               : VK_FORMAT_R32G32B32A32_SFLOAT;
  for (uint32_t n0 = 0; n0 < g->n; n0 += nc) {
    uint32_t n = MIN(nc, g->n - n0), pn = agf_div_up(n, PANEL);
    g_autoptr(AgfTensor) bp = pack_panels(dev, &g->b, g->n, n0, pn, g->k, error);
    if (!bp)
      return FALSE;
    TexelPush push = {
      .m = g->m, .n = n, .k4s = k4s, .pm = pm, .pn = pn,
      .a_batches = g->a.batches, .b_batches = g->b.batches,
      .c_bs = g->c_bs, .c_ld = g->c_ld, .c_off = n0,
      .bias_groups = MAX(g->bias_groups, 1), .bias_off = n0, .alpha = g->alpha,
    };
    AgfVkBinding bind[4] = { agf_vk_bind_texel(ap, fmt), agf_vk_bind_texel(bp, fmt),
                             agf_vk_bind(g->out), bias_binding(g) };
    uint32_t gx, gy;
    fold(dev, agf_div_up((uint64_t)pm * pn, wg), &gx, &gy);
    if (!dispatch_batches(dev, pl, bind, 4, &push, sizeof push,
                          &push.batch_base, gx, gy, g->batch, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean gemm_tiled(AgfDevice *dev, const AgfVkGemm *g, GError **error)
{
  AgfDType dt = g->out->dtype;
  /* An im2col B is gathered into dense [K, n] chunks first; a strided
   * one is read in place. */
  uint32_t nc = g->b.geo
    ? chunk_cols(g->n, (uint64_t)g->b.batches * g->k, TEMP_LIMIT, TILE) : g->n;
  AgfSpirv spv = dt == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_tiled_f16)
                               : AGF_SPIRV(agf_spv_gemm_tiled);
  static const AgfVkBindKind kinds[4] = { AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE,
                                          AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE };
  for (uint32_t n0 = 0; n0 < g->n; n0 += nc) {
    uint32_t n = MIN(nc, g->n - n0);
    AgfVkGemmOperand b = g->b;
    g_autoptr(AgfTensor) col = NULL;
    if (b.geo) {
      col = pad_dense(dev, &g->b, g->n, n0, g->k, TRUE, g->k, n, dt, error);
      if (!col)
        return FALSE;
      b = (AgfVkGemmOperand){ .t = col, .batches = g->b.batches,
                              .bstride = g->k * n, .s_row = 1, .s_k = n };
    }
    uint32_t spec[3] = { g->bias_mode, g->a.s_k == 1, b.s_row == 1 };
    AgfVkPipeline *pl = agf_vk_pipeline(dev, &spv, spec, 3, kinds, 4,
                                        sizeof(TiledPush), error);
    if (!pl)
      return FALSE;
    TiledPush push = {
      .m = g->m, .n = n, .k = g->k,
      .a_batches = g->a.batches, .b_batches = b.batches,
      .a_bs = g->a.bstride, .a_sm = g->a.s_row, .a_sk = g->a.s_k,
      .b_bs = b.bstride, .b_sk = b.s_k, .b_sn = b.s_row,
      .c_bs = g->c_bs, .c_ld = g->c_ld, .c_off = n0,
      .bias_groups = MAX(g->bias_groups, 1), .bias_off = n0, .alpha = g->alpha,
    };
    AgfVkBinding bind[4] = { agf_vk_bind(g->a.t), agf_vk_bind(b.t),
                             agf_vk_bind(g->out), bias_binding(g) };
    if (!dispatch_batches(dev, pl, bind, 4, &push, sizeof push, &push.batch_base,
                          agf_div_up(n, TILE), agf_div_up(g->m, TILE), g->batch,
                          error))
      return FALSE;
  }
  return TRUE;
}

/* fp16 tensor-core path: pad A and B to fp16 tile multiples, multiply into
 * an fp32 scratch, then crop/scale/bias into the output. */
static gboolean gemm_coopmat(AgfDevice *dev, const AgfVkGemm *g, GError **error)
{
  const AgfVkCaps *caps = agf_vk_caps(dev);
  uint32_t cm = caps->coopmat_m, cn = caps->coopmat_n, ck = caps->coopmat_k;
  uint32_t mp = round_up(g->m, 2 * cm), kp = round_up(g->k, ck);
  uint64_t per_col = MAX((uint64_t)g->b.batches * kp, (uint64_t)g->batch * mp);
  uint32_t nc = chunk_cols(g->n, per_col, TEMP_LIMIT, 2 * cn);
  g_autoptr(AgfTensor) ap = pad_dense(dev, &g->a, g->m, 0, g->k, FALSE, mp, kp,
                                      AGF_F16, error);
  if (!ap)
    return FALSE;
  AgfSpirv cspv = AGF_SPIRV(agf_spv_gemm_coopmat);
  uint32_t cspec[4] = { caps->subgroup_size, cm, cn, ck };
  static const AgfVkBindKind ckinds[3] = { AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE,
                                           AGF_VK_BIND_STORAGE };
  AgfVkPipeline *cpl = agf_vk_pipeline(dev, &cspv, cspec, 4, ckinds, 3,
                                       sizeof(CoopPush), error);
  AgfSpirv espv = g->out->dtype == AGF_F16 ? AGF_SPIRV(agf_spv_gemm_epilogue_f16)
                                           : AGF_SPIRV(agf_spv_gemm_epilogue);
  uint32_t espec[1] = { g->bias_mode };
  AgfVkPipeline *epl = cpl ? agf_vk_pipeline(dev, &espv, espec, 1, ckinds, 3,
                                             sizeof(EpiloguePush), error) : NULL;
  if (!epl)
    return FALSE;
  for (uint32_t n0 = 0; n0 < g->n; n0 += nc) {
    uint32_t n = MIN(nc, g->n - n0), np = round_up(n, 2 * cn);
    g_autoptr(AgfTensor) bp = pad_dense(dev, &g->b, g->n, n0, g->k, TRUE, kp, np,
                                        AGF_F16, error);
    g_autoptr(AgfTensor) acc = bp ? new_temp(dev, AGF_F32,
                                             (uint64_t)g->batch * mp * np, error)
                                  : NULL;
    if (!acc)
      return FALSE;
    CoopPush cpush = { mp, np, kp, g->a.batches, g->b.batches, 0 };
    AgfVkBinding cbind[3] = { agf_vk_bind(ap), agf_vk_bind(bp), agf_vk_bind(acc) };
    if (!dispatch_batches(dev, cpl, cbind, 3, &cpush, sizeof cpush,
                          &cpush.batch_base, np / (2 * cn), mp / (2 * cm),
                          g->batch, error))
      return FALSE;
    EpiloguePush epush = {
      .m = g->m, .n = n, .mp = mp, .np = np,
      .c_bs = g->c_bs, .c_ld = g->c_ld, .c_off = n0,
      .bias_groups = MAX(g->bias_groups, 1), .bias_off = n0, .alpha = g->alpha,
    };
    AgfVkBinding ebind[3] = { agf_vk_bind(acc), agf_vk_bind(g->out), bias_binding(g) };
    uint32_t gx, gy;
    fold(dev, agf_div_up((uint64_t)g->m * n, PACK_WG), &gx, &gy);
    if (!dispatch_batches(dev, epl, ebind, 3, &epush, sizeof epush,
                          &epush.batch_base, gx, gy, g->batch, error))
      return FALSE;
  }
  return TRUE;
}

gboolean agf_vk_gemm(AgfDevice *dev, const AgfVkGemm *g, GError **error)
{
  if (g->m == 0 || g->n == 0 || g->batch == 0)
    return TRUE;
  if (g->a.geo) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "Vulkan GEMM: an im2col A operand is not supported; pass the "
                "gathered input as B");
    return FALSE;
  }
  if (!fits_u32(agf_tensor_numel(g->out), error) ||
      !fits_u32(agf_tensor_numel(g->a.t), error) ||
      !fits_u32(agf_tensor_numel(g->b.t), error))
    return FALSE;
  if (g->k == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "Vulkan GEMM with K = 0 has nothing to multiply; fill the "
                "output (or broadcast the bias) instead");
    return FALSE;
  }
  const AgfVkCaps *caps = agf_vk_caps(dev);
  /* AGFAS_VK_GEMM=tiled|texel forces a kernel family (tests, benchmarks). */
  const char *force = g_getenv("AGFAS_VK_GEMM");
  if (g_strcmp0(force, "tiled") == 0)
    return gemm_tiled(dev, g, error);
  if (g_strcmp0(force, "texel") == 0)
    return gemm_texel(dev, g, error);
  if (caps->coopmat_nv && g->out->dtype == AGF_F16)
    return gemm_coopmat(dev, g, error);
  /* Panels of A must fit one texel buffer; beyond that (huge K * M) the
   * tiled kernel needs no temporaries. */
  uint64_t a_texels = (uint64_t)g->a.batches * round_up(g->m, PANEL) *
                      agf_div_up(g->k, 4);
  if (caps->cpu_driver && a_texels <= MIN(caps->max_texel_elements, TEMP_LIMIT))
    return gemm_texel(dev, g, error);
  return gemm_tiled(dev, g, error);
}

const AgfTensor *agf_vk_gemm_input(AgfDevice *dev, const AgfTensor *t,
                                   AgfDType dt, AgfTensor **tmp,
                                   const char *op, GError **error)
{
  *tmp = NULL;
  if (t->dtype != AGF_F32 && t->dtype != AGF_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "%s on Vulkan takes f32 or f16 tensors, not %s; convert the "
                "input with agf_tensor_cast", op, agf_dtype_name(t->dtype));
    return NULL;
  }
  if (t->dtype == dt)
    return t;
  *tmp = agf_tensor_new(dev, dt, t->ndim, t->shape, error);
  if (!*tmp || !agf_vk_copy_strided(dev, t, *tmp, error)) {
    g_clear_pointer(tmp, agf_tensor_unref);
    return NULL;
  }
  return *tmp;
}
