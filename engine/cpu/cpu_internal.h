/* Internals of the CPU backend: one kernel function per op kind, all in f32
 * (cpu_device.c converts f16 tensors around them). Kernels get dense inputs
 * (except COPY) and a dense output, already checked by agf_op_run(). */
#pragma once
#include <cblas.h>
#include "nn/backend.h"

G_BEGIN_DECLS

typedef gboolean (*AgfCpuOpFn)(const AgfOp *op, GError **error);

/* The first element of a tensor in host memory. */
static inline void *
agf_cpu_ptr(const AgfTensor *t)
{
  return (char *) t->storage->host + t->offset * agf_dtype_size(t->dtype);
}

static inline float *
agf_cpu_f32(const AgfTensor *t)
{
  return (float *) agf_cpu_ptr(t);
}

/* Product of shape[from..to). */
static inline int64_t
agf_cpu_dims(const AgfTensor *t, int from, int to)
{
  int64_t n = 1;
  for (int i = from; i < to; i++)
    n *= t->shape[i];
  return n;
}

/* Threads worth using for `work` units at `per_thread` units each, at
 * most OpenMP's maximum, and 1 inside a parallel region. */
int agf_cpu_threads_for(int64_t work, int64_t per_thread);

/* Parts that work may be cut into for threads: the machine's processor
 * count (configured, so neither affinity, cgroups, OMP_NUM_THREADS nor the
 * load change it), at most 64. Results that depend on the cut then stay
 * the same for every team size. */
int agf_cpu_split_cap(void);

/* OpenBLAS held at one thread while our own OpenMP threads call it; end
 * restores the caller's setting (cpu_blas.c says why). */
typedef struct {
  int saved;
} AgfCpuBlasSerial;
void agf_cpu_blas_serial_begin(AgfCpuBlasSerial *s);
void agf_cpu_blas_serial_end(const AgfCpuBlasSerial *s);

/* Row-major sgemm, cut into blocks of C fixed by the shape and the
 * machine's processor count (so that results do not depend on the team
 * size) and shared among OpenMP threads (serially for small products),
 * each through single-threaded OpenBLAS. */
void agf_cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* g_try_malloc of n floats; NULL with an OUT_OF_MEMORY error. */
float *agf_cpu_scratch(size_t n, const char *what, GError **error);

/* A conv2d's geometry (cpu_conv2d.c), shared by its backward kernels. */
typedef struct {
  int64_t n, ci, h, w, co, ho, wo, kh, kw;
  int sh, sw, pt, pl, dh, dw, groups;
} AgfCpuConvShape;
/* From the forward's x [n,ci,h,w], w [co,ci/g,kh,kw] and output ho x wo. */
AgfCpuConvShape agf_cpu_conv_shape(const AgfConv2dParams *p, const int64_t *xs,
                                   const int64_t *ws, int64_t ho, int64_t wo);
/* Output columns [lo, hi) whose input column, for kernel column kx, is
 * inside the image. */
void agf_cpu_conv_valid_cols(const AgfCpuConvShape *s, int64_t kx,
                             int64_t *lo, int64_t *hi);
/* col[(c*kh + ky)*kw + kx][(oy - oy0)*wo + ox] for channels [c0, c0+nc)
 * and output rows [oy0, oy0+rows) of one image x [ci,h,w]. */
void agf_cpu_im2col(const float *x, float *col, const AgfCpuConvShape *s,
                    int64_t c0, int64_t nc, int64_t oy0, int64_t rows);

gboolean agf_cpu_copy(const AgfOp *op, GError **error);
gboolean agf_cpu_fill(const AgfOp *op, GError **error);
gboolean agf_cpu_gemm(const AgfOp *op, GError **error);
gboolean agf_cpu_conv2d(const AgfOp *op, GError **error);
gboolean agf_cpu_group_norm(const AgfOp *op, GError **error);
gboolean agf_cpu_layer_norm(const AgfOp *op, GError **error);
gboolean agf_cpu_batch_norm(const AgfOp *op, GError **error);
gboolean agf_cpu_softmax(const AgfOp *op, GError **error);
gboolean agf_cpu_attention(const AgfOp *op, GError **error);
gboolean agf_cpu_unary(const AgfOp *op, GError **error);
gboolean agf_cpu_binary(const AgfOp *op, GError **error);
gboolean agf_cpu_prelu(const AgfOp *op, GError **error);
gboolean agf_cpu_upsample_nearest(const AgfOp *op, GError **error);
gboolean agf_cpu_pool2d(const AgfOp *op, GError **error);
gboolean agf_cpu_global_avg_pool(const AgfOp *op, GError **error);
gboolean agf_cpu_concat(const AgfOp *op, GError **error);
gboolean agf_cpu_timestep_embed(const AgfOp *op, GError **error);
gboolean agf_cpu_l2_normalize(const AgfOp *op, GError **error);
gboolean agf_cpu_resize_bilinear(const AgfOp *op, GError **error);
gboolean agf_cpu_affine_warp(const AgfOp *op, GError **error);
gboolean agf_cpu_image_to_tensor(const AgfOp *op, GError **error);
gboolean agf_cpu_tensor_to_image(const AgfOp *op, GError **error);
gboolean agf_cpu_colormap(const AgfOp *op, GError **error);
/* Training kinds (cpu_reduce.c, cpu_*_bwd.c). */
gboolean agf_cpu_reduce(const AgfOp *op, GError **error);
gboolean agf_cpu_unary_bwd(const AgfOp *op, GError **error);
gboolean agf_cpu_conv2d_bwd_data(const AgfOp *op, GError **error);
gboolean agf_cpu_conv2d_bwd_filter(const AgfOp *op, GError **error);
gboolean agf_cpu_norm_stats(const AgfOp *op, GError **error);
gboolean agf_cpu_norm_bwd(const AgfOp *op, GError **error);
gboolean agf_cpu_attention_bwd(const AgfOp *op, GError **error);
gboolean agf_cpu_pool2d_bwd(const AgfOp *op, GError **error);

G_END_DECLS
