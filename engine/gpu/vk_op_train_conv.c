/* Conv2d gradients on Vulkan, built on the GEMM engine (vk_gemm.h).
 * Per image n and group g (batch b = n * groups + g):
 *   data:   col[b] (kg x pix) = W[g]^T (kg x cog) . dy[n, g] (cog x pix),
 *           then col2im folds col onto dx (shaders/col2im.comp, a gather);
 *   filter: dw[g] (cog x kg) = dy[g] (cog x N*pix) . col[g] (N*pix x kg),
 *           col an im2col of x (shaders/im2col.comp) and dy regrouped as
 *           [g, cog, N*pix], so one GEMM sums over all images' pixels.
 * kg = cig * kh * kw, pix = oh * ow. Images go in chunks so that a col
 * temporary stays near COL_LIMIT elements. 1x1 / stride 1 / unpadded convs
 * skip col2im (col is dx) and, for one image, im2col (x is col);
 * depthwise-like convs skip the GEMM (shaders/col2im.comp DIRECT,
 * shaders/conv_filter_direct.comp). */
#include "gpu/vk_gemm.h"
#include "gpu/vk_op_launch.h"
#include "col2im.spv.h"
#include "col2im_f16.spv.h"
#include "im2col.spv.h"
#include "im2col_f16.spv.h"
#include "conv_filter_direct.spv.h"
#include "conv_filter_direct_f16.spv.h"

#define COL_LIMIT ((uint64_t)1 << 26)
/* Data gradients of convs with at most this many output channels per
 * group, and filter gradients of those with at most this many channel
 * pairs per group, are computed directly, without a GEMM. */
#define DIRECT_MAX_COG 4u
/* Filter-gradient split-K (split_k): 64x64 output tiles wanted in flight,
 * and the shortest slice of K worth a partial result. */
#define SPLIT_TILES_GPU 256u
#define SPLIT_TILES_CPU 8u
#define SPLIT_MIN_K 1024u

gboolean agf_vk_op_reduce(AgfDevice *dev, const AgfOp *op, GError **error);

/* Push block of col2im.comp / im2col.comp: the geometry, then extra[]. */
typedef struct {
  uint32_t n, ci, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
  uint32_t extra[2];
} GeoPush;

typedef struct {
  GeoPush geo;
  uint32_t batch, co, cog, kg, pix;
  gboolean direct; /* 1x1, stride 1, no padding */
} ConvGeo;

/* Geometry from x's shape [n, ci, h, w], dy's [n, co, oh, ow] and the
 * kernel size. */
static gboolean
conv_geo(const AgfConv2dParams *p, const int64_t *xs, const int64_t *dys,
         int64_t kh, int64_t kw, const char *name, ConvGeo *g, GError **error)
{
  uint32_t groups = p->groups > 0 ? (uint32_t)p->groups : 1;
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 ||
      p->pad_right < 0 || xs[1] % groups || dys[1] % groups) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: needs padding >= 0 and channels divisible by the %u "
                "groups", name, groups);
    return FALSE;
  }
  *g = (ConvGeo){
    .geo = {
      .ci = (uint32_t)xs[1], .h = (uint32_t)xs[2], .w = (uint32_t)xs[3],
      .oh = (uint32_t)dys[2], .ow = (uint32_t)dys[3],
      .kh = (uint32_t)kh, .kw = (uint32_t)kw,
      .sh = p->stride_h > 0 ? (uint32_t)p->stride_h : 1,
      .sw = p->stride_w > 0 ? (uint32_t)p->stride_w : 1,
      .pt = (uint32_t)p->pad_top, .pl = (uint32_t)p->pad_left,
      .dh = p->dil_h > 0 ? (uint32_t)p->dil_h : 1,
      .dw = p->dil_w > 0 ? (uint32_t)p->dil_w : 1,
      .groups = groups, .cig = (uint32_t)xs[1] / groups,
    },
    .batch = (uint32_t)xs[0], .co = (uint32_t)dys[1],
    .cog = (uint32_t)dys[1] / groups,
  };
  g->kg = g->geo.cig * g->geo.kh * g->geo.kw;
  g->pix = g->geo.oh * g->geo.ow;
  g->direct = kh == 1 && kw == 1 && g->geo.sh == 1 && g->geo.sw == 1 &&
              p->pad_top == 0 && p->pad_bottom == 0 && p->pad_left == 0 &&
              p->pad_right == 0;
  /* col of one chunk and every tensor must fit the 32-bit indices. */
  uint64_t per_image = (uint64_t)g->geo.ci * kh * kw * g->pix;
  return agf_vk_check_u32(name, per_image, error) &&
         agf_vk_check_u32(name, (uint64_t)xs[0] * xs[1] * xs[2] * xs[3], error) &&
         agf_vk_check_u32(name, (uint64_t)dys[0] * dys[1] * g->pix, error) &&
         agf_vk_check_u32(name, (uint64_t)g->co * g->kg, error);
}

/* Images per chunk: as many as keep col within COL_LIMIT (at least 1). */
static uint32_t
chunk_images(const ConvGeo *g)
{
  uint64_t per_image = MAX((uint64_t)g->geo.ci * g->geo.kh * g->geo.kw * g->pix, 1);
  return (uint32_t)CLAMP(COL_LIMIT / per_image, 1, MAX(g->batch, 1));
}

static AgfTensor *
new_flat(AgfDevice *dev, AgfDType dt, uint64_t numel, GError **error)
{
  int64_t shape[1] = { (int64_t)numel };
  return agf_tensor_new(dev, dt, 1, shape, error);
}

/* A dense copy of images [n0, n0 + cnt) of t [N, C, H, W], regrouped by
 * perm after reshaping to shape (ndim dims; perm NULL: kept as is). */
static AgfTensor *
dense_images(AgfDevice *dev, const AgfTensor *t, uint32_t n0, uint32_t cnt,
             int ndim, const int64_t *shape, const int *perm, GError **error)
{
  g_autoptr(AgfTensor) s = agf_tensor_slice((AgfTensor *)t, 0, n0, cnt, error);
  g_autoptr(AgfTensor) r = NULL;
  g_autoptr(AgfTensor) v = NULL;
  if (!s)
    return NULL;
  const AgfTensor *src = s;
  if (perm) {
    r = agf_tensor_reshape(s, ndim, shape, error);
    v = r ? agf_tensor_permute(r, perm, error) : NULL;
    if (!v)
      return NULL;
    src = v;
  }
  AgfTensor *d = agf_tensor_new(dev, t->dtype, src->ndim, src->shape, error);
  if (d && !agf_vk_copy_strided(dev, src, d, error))
    g_clear_pointer(&d, agf_tensor_unref);
  return d;
}

/* One invocation per element of the geometry kernels; spec is { WG,
 * DIRECT } for col2im.comp, { WG } for im2col.comp. */
static gboolean
launch_geo(AgfDevice *dev, const AgfVkShader *sh, AgfDType dt, const char *name,
           const AgfTensor *const *t, int n_bind, const uint32_t *spec,
           int n_spec, const GeoPush *push, GError **error)
{
  const AgfSpirv *spv = agf_vk_shader_for(dev, sh, dt, name, error);
  AgfVkBinding bind[3];
  for (int i = 0; i < n_bind; i++)
    bind[i] = agf_vk_bind(t[i]);
  return spv && agf_vk_launch_items(dev, spv, spec, n_spec, bind, n_bind, push,
                                    sizeof *push, push->n, error);
}

gboolean
agf_vk_op_conv2d_bwd_data(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader col2im = AGF_VK_SHADER(col2im);
  const char *name = "conv2d_bwd_data";
  AgfDType dt = op->out->dtype;
  g_autoptr(AgfTensor) tdy = NULL;
  g_autoptr(AgfTensor) tw = NULL;
  const AgfTensor *dy = agf_vk_gemm_input(dev, op->in[0], dt, &tdy, name, error);
  const AgfTensor *w = dy ? agf_vk_gemm_input(dev, op->in[1], dt, &tw, name, error)
                          : NULL;
  ConvGeo g;
  if (!w || !conv_geo(&op->p.conv_bwd.conv, op->out->shape, dy->shape,
                      w->shape[2], w->shape[3], name, &g, error))
    return FALSE;
  if (agf_tensor_numel(op->out) == 0)
    return TRUE;
  if (g.cog == 0 || g.pix == 0)
    return agf_tensor_fill(op->out, 0.0f, error);
  uint32_t groups = g.geo.groups;
  /* A = W[g]^T: element (row r < kg, k = co) at w[g*cog*kg + co*kg + r]. */
  AgfVkGemm gm = {
    .m = g.kg, .n = g.pix, .k = g.cog,
    .a = { .t = w, .batches = groups, .bstride = g.cog * g.kg, .s_row = 1,
           .s_k = g.kg },
    .alpha = 1.0f, .bias_mode = AGF_VK_BIAS_NONE,
    .c_bs = g.kg * g.pix, .c_ld = g.pix,
  };
  if (g.direct) {
    /* col [n*groups + g, c, pixel] is dx [n, g*cig + c, pixel]. */
    gm.batch = g.batch * groups;
    gm.b = (AgfVkGemmOperand){ .t = dy, .batches = gm.batch,
                               .bstride = g.cog * g.pix, .s_row = 1,
                               .s_k = g.pix };
    gm.out = op->out;
    return agf_vk_gemm(dev, &gm, error);
  }
  uint64_t img_elems = (uint64_t)g.geo.ci * g.geo.h * g.geo.w;
  if (g.cog <= DIRECT_MAX_COG) {
    /* Depthwise-like: each dx element gathers its few products straight
     * from dy and w; a GEMM of K = cog would waste its tiles. */
    GeoPush push = g.geo;
    push.n = (uint32_t)(g.batch * img_elems);
    push.extra[1] = g.cog;
    const AgfTensor *t[3] = { dy, op->out, w };
    uint32_t spec[2] = { AGF_VK_ELEM_WG, 1 };
    return launch_geo(dev, &col2im, dt, name, t, 3, spec, 2, &push, error);
  }
  uint32_t nc = chunk_images(&g);
  for (uint32_t n0 = 0; n0 < g.batch; n0 += nc) {
    uint32_t cnt = MIN(nc, g.batch - n0);
    g_autoptr(AgfTensor) dyc = NULL;
    if (cnt < g.batch && !(dyc = dense_images(dev, dy, n0, cnt, 0, NULL, NULL, error)))
      return FALSE;
    g_autoptr(AgfTensor) col = new_flat(dev, dt, (uint64_t)cnt * groups *
                                        g.kg * g.pix, error);
    if (!col)
      return FALSE;
    gm.batch = cnt * groups;
    gm.b = (AgfVkGemmOperand){ .t = dyc ? dyc : dy, .batches = gm.batch,
                               .bstride = g.cog * g.pix, .s_row = 1,
                               .s_k = g.pix };
    gm.out = col;
    GeoPush push = g.geo;
    push.n = (uint32_t)(cnt * img_elems);
    push.extra[0] = (uint32_t)(n0 * img_elems);
    const AgfTensor *t[3] = { col, op->out, col };
    uint32_t spec[2] = { AGF_VK_ELEM_WG, 0 };
    if (!agf_vk_gemm(dev, &gm, error) ||
        !launch_geo(dev, &col2im, dt, name, t, 3, spec, 2, &push, error))
      return FALSE;
  }
  return TRUE;
}

/* Slices the filter GEMM's K (cnt images' pixels) is split into, run as
 * extra GEMM batches and summed afterwards: a weight gradient is a small
 * M x N over a huge K, which alone would leave most of a GPU idle. A
 * divisor of cnt (or, for one image, of its pixels), with slices of at
 * least SPLIT_MIN_K. */
static uint32_t
split_k(AgfDevice *dev, const ConvGeo *g, uint32_t cnt)
{
  uint64_t tiles = (uint64_t)agf_div_up(g->cog, 64) * agf_div_up(g->kg, 64) *
                   g->geo.groups;
  uint64_t want = agf_vk_caps(dev)->cpu_driver ? SPLIT_TILES_CPU : SPLIT_TILES_GPU;
  uint64_t target = MIN(want / MAX(tiles, 1),
                        (uint64_t)cnt * g->pix / SPLIT_MIN_K);
  uint32_t over = cnt > 1 ? cnt : g->pix;
  for (uint32_t s = (uint32_t)MIN(target, over); s > 1; s--)
    if (over % s == 0)
      return s;
  return 1;
}

/* dw (or one chunk's share of it, into out) from images [n0, n0 + cnt). */
static gboolean
filter_chunk(AgfDevice *dev, const ConvGeo *g, const AgfTensor *x,
             const AgfTensor *dy, uint32_t n0, uint32_t cnt, AgfTensor *out,
             GError **error)
{
  static const AgfVkShader im2col = AGF_VK_SHADER(im2col);
  AgfDType dt = out->dtype;
  uint32_t groups = g->geo.groups, k = cnt * g->pix;
  uint32_t s = split_k(dev, g, cnt), ks = k / s, wn = g->co * g->kg;
  g_autoptr(AgfTensor) dyp = NULL;
  g_autoptr(AgfTensor) col = NULL;
  g_autoptr(AgfTensor) part = NULL;
  /* Batch b = g * s + slice; A = dy regrouped as [g, slice, cog, ks]. */
  AgfVkGemm gm = {
    .m = g->cog, .n = g->kg, .k = ks, .batch = groups * s,
    .a = { .t = dy, .batches = groups * s, .bstride = g->cog * ks, .s_row = ks,
           .s_k = 1 },
    .alpha = 1.0f, .bias_mode = AGF_VK_BIAS_NONE,
    .out = out, .c_bs = g->cog * g->kg, .c_ld = g->kg,
  };
  if (cnt > 1) {
    /* [s, cnt/s, g, cog, pix] -> [g, s, cog, cnt/s, pix] */
    int64_t shape[5] = { s, cnt / s, groups, g->cog, g->pix };
    static const int perm[5] = { 2, 0, 3, 1, 4 };
    if (!(dyp = dense_images(dev, dy, n0, cnt, 5, shape, perm, error)))
      return FALSE;
  } else if (s > 1) {
    /* [1, g, cog, s, pix/s] -> [1, g, s, cog, pix/s] */
    int64_t shape[5] = { 1, groups, g->cog, s, ks };
    static const int perm[5] = { 0, 1, 3, 2, 4 };
    if (!(dyp = dense_images(dev, dy, n0, cnt, 5, shape, perm, error)))
      return FALSE;
  }
  if (dyp)
    gm.a.t = dyp;
  if (g->direct && g->batch == 1 && s == 1) {
    /* x [1, g*cig + c, pixel] is col[g] transposed. */
    gm.b = (AgfVkGemmOperand){ .t = x, .batches = groups,
                               .bstride = g->geo.cig * g->pix, .s_row = g->pix,
                               .s_k = 1 };
  } else {
    /* col [g, cnt*pix, kg] is [g, slice, ks, kg] as well. */
    col = new_flat(dev, dt, (uint64_t)groups * k * g->kg, error);
    if (!col)
      return FALSE;
    GeoPush push = g->geo;
    push.n = groups * k * g->kg;
    push.extra[0] = cnt;
    push.extra[1] = n0;
    const AgfTensor *t[2] = { x, col };
    uint32_t spec[1] = { AGF_VK_ELEM_WG };
    if (!launch_geo(dev, &im2col, dt, "conv2d_bwd_filter", t, 2, spec, 1, &push,
                    error))
      return FALSE;
    gm.b = (AgfVkGemmOperand){ .t = col, .batches = groups * s,
                               .bstride = ks * g->kg, .s_row = 1, .s_k = g->kg };
  }
  if (s == 1)
    return agf_vk_gemm(dev, &gm, error);
  /* Partial dws [g, slice, cog*kg], summed over the slices into out. */
  int64_t pshape[3] = { groups, s, wn / groups };
  if (!(part = agf_tensor_new(dev, dt, 3, pshape, error)))
    return FALSE;
  gm.out = part;
  /* out holds groups * cog*kg elements: the reduction's target. */
  AgfOp sum = { .kind = AGF_OP_REDUCE, .in = { part }, .n_in = 1, .out = out,
                .p.reduce = { .fn = AGF_REDUCE_SUM, .ndim = 3,
                              .shape = { groups, 1, wn / groups } } };
  return agf_vk_gemm(dev, &gm, error) && agf_vk_op_reduce(dev, &sum, error);
}

gboolean
agf_vk_op_conv2d_bwd_filter(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const char *name = "conv2d_bwd_filter";
  AgfDType dt = op->out->dtype;
  AgfTensor *dw = op->out;
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tdy = NULL;
  const AgfTensor *x = agf_vk_gemm_input(dev, op->in[0], dt, &tx, name, error);
  const AgfTensor *dy = x ? agf_vk_gemm_input(dev, op->in[1], dt, &tdy, name, error)
                          : NULL;
  ConvGeo g;
  if (!dy || !conv_geo(&op->p.conv_bwd.conv, x->shape, dy->shape,
                       dw->shape[2], dw->shape[3], name, &g, error))
    return FALSE;
  if (agf_tensor_numel(dw) == 0)
    return TRUE;
  if (g.batch == 0 || g.pix == 0)
    return agf_tensor_fill(dw, 0.0f, error);
  if (g.cog * g.geo.cig <= DIRECT_MAX_COG) {
    /* Depthwise-like: a workgroup per weight sums over images and pixels. */
    static const AgfVkShader direct = AGF_VK_SHADER(conv_filter_direct);
    const AgfSpirv *spv = agf_vk_shader_for(dev, &direct, dt, name, error);
    GeoPush push = g.geo;
    push.n = (uint32_t)agf_tensor_numel(dw);
    push.extra[0] = g.batch;
    push.extra[1] = g.cog;
    uint32_t spec[1] = { agf_vk_reduce_wg(dev, (uint64_t)g.batch * g.pix) };
    AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(dy), agf_vk_bind(dw) };
    return spv && agf_vk_launch_folded(dev, spv, spec, 1, bind, 3, &push,
                                       sizeof push, push.n, error);
  }
  uint32_t nc = chunk_images(&g);
  if (nc >= g.batch)
    return filter_chunk(dev, &g, x, dy, 0, g.batch, dw, error);

  /* Chunks: each one's dw into a row of part [chunks, co*kg], then a sum
   * over the rows (f32 accumulation) into dw. */
  uint32_t chunks = agf_div_up(g.batch, nc);
  uint64_t wn = (uint64_t)g.co * g.kg;
  int64_t part_shape[2] = { chunks, (int64_t)wn };
  g_autoptr(AgfTensor) part = agf_tensor_new(dev, dt, 2, part_shape, error);
  g_autoptr(AgfTensor) dwc = part ? new_flat(dev, dt, wn, error) : NULL;
  if (!dwc)
    return FALSE;
  int64_t flat[1] = { (int64_t)wn };
  for (uint32_t i = 0; i < chunks; i++) {
    g_autoptr(AgfTensor) row = agf_tensor_slice(part, 0, i, 1, error);
    g_autoptr(AgfTensor) row1 = row ? agf_tensor_reshape(row, 1, flat, error)
                                    : NULL;
    uint32_t cnt = MIN(nc, g.batch - i * nc);
    if (!row1 || !filter_chunk(dev, &g, x, dy, i * nc, cnt, dwc, error) ||
        !agf_vk_copy_strided(dev, dwc, row1, error))
      return FALSE;
  }
  /* dw holds co*kg elements: the [1, co*kg] target of the reduction. */
  AgfOp sum = { .kind = AGF_OP_REDUCE, .in = { part }, .n_in = 1, .out = dw,
                .p.reduce = { .fn = AGF_REDUCE_SUM, .ndim = 2,
                              .shape = { 1, (int64_t)wn } } };
  return agf_vk_op_reduce(dev, &sum, error);
}
