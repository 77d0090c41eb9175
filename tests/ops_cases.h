/* The op test table: every op kind of op.h on small odd shapes, with the
 * error each backend/dtype may show against the CPU f32 reference.
 *
 * Error measure (float outputs): max |out - ref| / max |ref| over the whole
 * output (see agf_test_rel_err). u8 outputs: the largest difference in
 * levels (0..255). */
#pragma once
#include "nn/op.h"

G_BEGIN_DECLS

typedef enum {
  OP_IN_FLOAT, /* the dtype under test (F32 or F16) */
  OP_IN_F32,   /* always F32 (timesteps, warp matrices) */
  OP_IN_U8,    /* image bytes */
} OpInKind;

typedef struct {
  int ndim;             /* 0: an absent optional input (NULL) */
  int64_t shape[AGF_MAX_DIMS];
  OpInKind kind;
  float lo, hi;         /* uniform random range; both 0 means [-1, 1] */
  const float *data;    /* fixed values instead of random ones */
} OpInput;

typedef struct {
  const char *name;     /* unique within its op kind */
  AgfOp op;             /* kind, n_in and parameters; tensors set by the harness */
  OpInput in[AGF_OP_MAX_INPUTS];
  /* in0 is handed to the op as a permuted (strided) view of this order. */
  gboolean permute_in0;
  int perm[AGF_MAX_DIMS];
  int out_ndim;         /* FILL only: the output shape */
  int64_t out_shape[AGF_MAX_DIMS];
  double tol_f32, tol_f16;
} OpCase;

extern const OpCase agf_op_cases[];
extern const int agf_n_op_cases;

/* Naive double-precision references (ops_naive.c) for the kinds the CPU
 * backend computes through BLAS or blocking (GEMM, CONV2D, ATTENTION) and
 * for every training kind (REDUCE .. POOL2D_BWD). in[i] are the dense host
 * inputs of c; returns a new array of the output in row-major order and
 * its element count. */
float *agf_naive_run(const OpCase *c, float *const *in, int64_t *numel);
/* Whether agf_naive_run has a reference for kind. */
gboolean agf_naive_covers(AgfOpKind kind);

G_END_DECLS
