/* The CPU backend gives bit-identical results whatever its OpenMP team
 * size: every case of the op table (ops_cases.c), and larger shapes past
 * the kernels' split thresholds, run with 1, 2, 3 and 4 threads and are
 * compared byte for byte with the 1-thread run. Training relies on this:
 * the backend sizes its teams from the load (cpu_device.c), and a resumed
 * or re-seeded run must still reproduce the same weights.
 *
 * Run with OMP_DYNAMIC=false (tests/meson.build), so that the backend
 * leaves the team sizes set here alone. */
#include <omp.h>
#include <string.h>
#include "test_support.h"
#include "ops_harness.h"

#define MAX_THREADS 4

#define SHAPE(...) \
  .ndim = (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), \
  .shape = { __VA_ARGS__ }
#define X(...) { SHAPE(__VA_ARGS__) }
#define XR(l, h, ...) { SHAPE(__VA_ARGS__), .lo = (l), .hi = (h) }
#define OP(k, n) .kind = AGF_OP_##k, .n_in = (n)
#define P1 .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1

/* Shapes big enough that every threaded kernel splits its work over 2-4
 * threads (the thresholds are in engine/cpu/: 2^18 multiply-adds per
 * thread for BLAS work, 16K-64K elements for the rest). Tolerances are
 * unused here: only bit-identity counts. */
static const OpCase big_cases[] = {
  /* agf_cpu_sgemm: split by columns (n >= m), by rows, transposed, odd
   * edges; batched products one per thread. */
  { "big_m100_n333_k150", .op = { OP(GEMM, 2) }, .in = { X(100, 150), X(150, 333) } },
  { "big_m301_n97_k129_bias", .op = { OP(GEMM, 3) },
    .in = { X(301, 129), X(129, 97), X(97) } },
  { "big_m190_n211_k77_ta_tb", .op = { OP(GEMM, 2),
      .p.gemm = { .trans_a = TRUE, .trans_b = TRUE } },
    .in = { X(77, 190), X(211, 77) } },
  { "big_m257_n65_k300_tb", .op = { OP(GEMM, 2), .p.gemm = { .trans_b = TRUE } },
    .in = { X(257, 300), X(65, 300) } },
  { "big_batched_6x40x50x60", .op = { OP(GEMM, 2) },
    .in = { X(6, 40, 60), X(6, 60, 50) } },
  { "big_batched_2x130x140x150_ta", .op = { OP(GEMM, 2), .p.gemm = { .trans_a = TRUE } },
    .in = { X(2, 150, 130), X(2, 150, 140) } },
  { "big_linear_3x70x200_k96", .op = { OP(GEMM, 3), .p.gemm = { .trans_b = TRUE } },
    .in = { X(3, 70, 96), X(200, 96), X(200) } },

  /* conv2d: row bands, channels split on small maps, 1x1, depthwise. */
  { "big_3x3_bands_2x16x40x37", .op = { OP(CONV2D, 3), .p.conv = { P1 } },
    .in = { X(2, 16, 40, 37), X(24, 16, 3, 3), X(24) } },
  { "big_3x3_stride2_1x8x75x70", .op = { OP(CONV2D, 2),
      .p.conv = { .stride_h = 2, .stride_w = 2, P1 } },
    .in = { X(1, 8, 75, 70), X(32, 8, 3, 3) } },
  { "big_3x3_groups2_1x32x30x30", .op = { OP(CONV2D, 3),
      .p.conv = { .groups = 2, P1 } },
    .in = { X(1, 32, 30, 30), X(40, 16, 3, 3), X(40) } },
  { "big_small_map_1x64x8x8", .op = { OP(CONV2D, 3), .p.conv = { P1 } },
    .in = { X(1, 64, 8, 8), X(130, 64, 3, 3), X(130) } },
  { "big_1x1_2x64x20x21", .op = { OP(CONV2D, 3) },
    .in = { X(2, 64, 20, 21), X(96, 64, 1, 1), X(96) } },
  { "big_depthwise_2x32x40x40", .op = { OP(CONV2D, 2), .p.conv = { .groups = 32, P1 } },
    .in = { X(2, 32, 40, 40), X(32, 1, 3, 3) } },

  /* conv2d backward on the same kinds of geometry. */
#define CONV_BWD(nm, n, ci, h, w, co, cg, kh, kw, ho, wo, ...) \
  { nm, .op = { OP(CONV2D_BWD_DATA, 2), .p.conv_bwd = { { __VA_ARGS__ }, h, w } }, \
    .in = { X(n, co, ho, wo), X(co, cg, kh, kw) } }, \
  { nm, .op = { OP(CONV2D_BWD_FILTER, 2), .p.conv_bwd = { { __VA_ARGS__ }, kh, kw } }, \
    .in = { X(n, ci, h, w), X(n, co, ho, wo) } }
  CONV_BWD("big_3x3_2x16x40x37", 2, 16, 40, 37, 24, 16, 3, 3, 40, 37, P1),
  CONV_BWD("big_3x3_stride2_1x8x75x70", 1, 8, 75, 70, 32, 8, 3, 3, 38, 35,
           .stride_h = 2, .stride_w = 2, P1),
  CONV_BWD("big_1x1_2x64x20x21", 2, 64, 20, 21, 96, 64, 1, 1, 20, 21, .groups = 1),
  CONV_BWD("big_small_map_1x64x8x8", 1, 64, 8, 8, 130, 64, 3, 3, 8, 8, P1),
  CONV_BWD("big_depthwise_2x32x40x40", 2, 32, 40, 40, 32, 1, 3, 3, 40, 40,
           .groups = 32, P1),
#undef CONV_BWD

  /* Norms and softmax over long rows and many groups. */
  { "big_2x32x33x33_g8", .op = { OP(GROUP_NORM, 3), .p.group_norm = { 8, 1e-5f } },
    .in = { X(2, 32, 33, 33), X(32), X(32) } },
  { "big_4x64x300", .op = { OP(LAYER_NORM, 3), .p.layer_norm = { 1e-5f } },
    .in = { X(4, 64, 300), X(300), X(300) } },
  { "big_64x1000", .op = { OP(SOFTMAX, 1) }, .in = { XR(-8, 8, 64, 1000) } },
  { "big_4x16x40x40", .op = { OP(NORM_STATS, 1) }, .in = { X(4, 16, 40, 40) } },
#define NB(nm, kind, g, which, n, ...) \
  { nm, .op = { OP(NORM_BWD, n), .p.norm_bwd = { kind, g, 1e-5f, which } }, \
    .in = { __VA_ARGS__ } }
  NB("big_group_dx_2x32x33x33_g8", AGF_NORM_GROUP, 8, AGF_NORM_GRAD_INPUT, 3,
     X(2, 32, 33, 33), X(2, 32, 33, 33), X(32)),
  NB("big_group_dgamma_2x32x33x33_g8", AGF_NORM_GROUP, 8, AGF_NORM_GRAD_GAMMA, 2,
     X(2, 32, 33, 33), X(2, 32, 33, 33)),
  NB("big_layer_dx_4x64x300", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_INPUT, 3,
     X(4, 64, 300), X(4, 64, 300), X(300)),
  NB("big_layer_dgamma_4x64x300", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_GAMMA, 2,
     X(4, 64, 300), X(4, 64, 300)),
#undef NB

  /* Reductions: everything, rows, columns (a bias gradient), few outputs. */
  { "big_sum_3x70001_to_1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 1, { 1 } } },
    .in = { X(3, 70001) } },
  { "big_sum_64x3000_to_64x1", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 2, { 64, 1 } } },
    .in = { X(64, 3000) } },
  { "big_sum_5000x37_to_37", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 1, { 37 } } },
    .in = { X(5000, 37) } },
  { "big_sum_3x4000x50_to_3x1x50", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 3, { 3, 1, 50 } } },
    .in = { X(3, 4000, 50) } },
  { "big_sum_4x96x1200_to_1x96x1", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 3, { 1, 96, 1 } } },
    .in = { X(4, 96, 1200) } },
  { "big_max_3x70001_to_1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_MAX, 1, { 1 } } },
    .in = { X(3, 70001) } },

  /* Attention over many query blocks (64 queries each) and key tiles. */
  { "big_b2_l300_lk200_h2_d32", .op = { OP(ATTENTION, 3), .p.attention = { 2, 0 } },
    .in = { X(2, 300, 64), X(2, 200, 64), X(2, 200, 64) } },
#define AB(nm, which, b, lq, lk, h, d, dv) \
  { nm, .op = { OP(ATTENTION_BWD, (which) == AGF_ATTN_GRAD_STATS ? 5 : 6), \
                .p.attention_bwd = { h, 0, which } }, \
    .in = { X(b, lq, (h) * (d)), X(b, lk, (h) * (d)), X(b, lk, (h) * (dv)), \
            X(b, lq, (h) * (dv)), X(b, lq, (h) * (dv)), \
            { SHAPE(b, h, lq, 2), .kind = OP_IN_F32 } } }
  AB("big_stats_b2_l150_lk260_h2", AGF_ATTN_GRAD_STATS, 2, 150, 260, 2, 16, 24),
  AB("big_dq_b2_l150_lk260_h2", AGF_ATTN_GRAD_Q, 2, 150, 260, 2, 16, 24),
  AB("big_dk_b2_l150_lk260_h2", AGF_ATTN_GRAD_K, 2, 150, 260, 2, 16, 24),
  AB("big_dv_b2_l150_lk260_h2", AGF_ATTN_GRAD_V, 2, 150, 260, 2, 16, 24),
#undef AB

  /* Elementwise and resampling kinds past their parallel thresholds. */
  { "big_add_bcast_700x300", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_ADD } },
    .in = { X(700, 300), X(300) } },
  { "big_silu_300001", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_SILU, 0, 0 } },
    .in = { XR(-8, 8, 300001) } },
  { "big_gap_4x64x30x30", .op = { OP(GLOBAL_AVG_POOL, 1) }, .in = { X(4, 64, 30, 30) } },
};

/* Case index i: the table's first, then big_cases (seeds follow i). */
static const OpCase *case_at(int i)
{
  return i < agf_n_op_cases ? &agf_op_cases[i] : &big_cases[i - agf_n_op_cases];
}

/* The output of case i on nt threads, as bytes (its size in *len). */
static guint8 *run_bytes(const OpCase *c, float *const *host, int nt, size_t *len)
{
  omp_set_dynamic(0);
  omp_set_num_threads(nt);
  AgfTensor *out = agf_ops_run_case(c, agf_test_cpu(), AGF_F32, host);
  if (!out)
    return NULL;
  GError *error = NULL;
  *len = (size_t)agf_tensor_numel(out) * agf_dtype_size(out->dtype);
  guint8 *bytes = g_malloc(MAX(*len, 1));
  g_assert_true(agf_tensor_read(out, bytes, &error));
  g_assert_no_error(error);
  agf_tensor_unref(out);
  return bytes;
}

/* The first float that differs, for the failure message. */
static void report_difference(const OpCase *c, int nt, const guint8 *got,
                              const guint8 *ref, size_t len)
{
  size_t at = 0;
  while (at < len && got[at] == ref[at])
    at++;
  float g = 0, r = 0;
  size_t elem = at / sizeof(float);
  if ((elem + 1) * sizeof(float) <= len) {
    memcpy(&g, got + elem * sizeof(float), sizeof g);
    memcpy(&r, ref + elem * sizeof(float), sizeof r);
  }
  g_test_fail_printf("%s %s: %d threads differ from 1 thread at float %zu "
                     "(%.9g vs %.9g)", agf_op_name(c->op.kind), c->name, nt,
                     elem, g, r);
}

static void test_threads(gconstpointer data)
{
  const int ci = GPOINTER_TO_INT(data);
  const OpCase *c = case_at(ci);
  float *host[AGF_OP_MAX_INPUTS] = { 0 };
  for (int i = 0; i < c->op.n_in; i++)
    if (c->in[i].ndim)
      host[i] = agf_ops_make_input(c, ci, i, AGF_F32);
  agf_ops_chain_attention_inputs(c, host, AGF_F32);
  size_t ref_len = 0;
  g_autofree guint8 *ref = run_bytes(c, host, 1, &ref_len);
  for (int nt = 2; ref && nt <= MAX_THREADS; nt++) {
    size_t len = 0;
    g_autofree guint8 *got = run_bytes(c, host, nt, &len);
    if (!got)
      break;
    g_assert_cmpuint(len, ==, ref_len);
    if (memcmp(got, ref, len) != 0) {
      report_difference(c, nt, got, ref, len);
      break;
    }
  }
  for (int i = 0; i < c->op.n_in; i++)
    g_free(host[i]);
}

int main(int argc, char **argv)
{
  /* The backend turns dynamic teams on unless $OMP_DYNAMIC is set; the
   * team sizes chosen here must hold (tests/meson.build sets it too). */
  g_setenv("OMP_DYNAMIC", "false", FALSE);
  g_test_init(&argc, &argv, NULL);
  g_test_set_nonfatal_assertions();
  const int n = agf_n_op_cases + (int)G_N_ELEMENTS(big_cases);
  for (int i = 0; i < n; i++) {
    const OpCase *c = case_at(i);
    g_autofree char *path = g_strdup_printf("/ops-threads/%s/%s",
                                            agf_op_name(c->op.kind), c->name);
    g_test_add_data_func(path, GINT_TO_POINTER(i), test_threads);
  }
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
