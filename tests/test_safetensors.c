/* safetensors reader and writer: round trip, exact on-disk layout (the
 * reference implementation's), every documented error, truncation at every
 * length, seeded mutation fuzzing, and loading onto devices. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "test_support.h"

static char *tmp_dir;

static char *tmp_path(const char *name) {
  return g_build_filename(tmp_dir, name, NULL);
}

/* Unlinks first: ext4 flushes a file truncated and rewritten in place on
 * close, which made the fuzz loop wait on the disk. */
static void write_bytes(const char *path, const void *data, size_t n) {
  g_unlink(path);
  FILE *f = fopen(path, "wb");
  g_assert_nonnull(f);
  g_assert_cmpuint(fwrite(data, 1, n, f), ==, n);
  g_assert_cmpint(fclose(f), ==, 0);
}

/* A file from a header string (length prefixed as the format does) and a
 * data section. */
static char *write_raw(const char *name, const char *header, const void *body,
                       size_t body_len) {
  GByteArray *b = g_byte_array_new();
  guint64 n = strlen(header);
  guint8 len8[8];
  for (int i = 0; i < 8; i++)
    len8[i] = (guint8)(n >> (8 * i));
  g_byte_array_append(b, len8, 8);
  g_byte_array_append(b, (const guint8 *)header, (guint)n);
  if (body_len)
    g_byte_array_append(b, body, (guint)body_len);
  char *path = tmp_path(name);
  write_bytes(path, b->data, b->len);
  g_byte_array_unref(b);
  return path;
}

static void expect_open_error(const char *path, int code, const char *needle) {
  g_autoptr(GError) err = NULL;
  AgfSafetensors *st = agf_safetensors_open(path, &err);
  g_assert_null(st);
  g_assert_error(err, AGF_ERROR, code);
  if (needle && !strstr(err->message, needle))
    g_error("message \"%s\" lacks \"%s\"", err->message, needle);
}

/* The sample file every test starts from: every dtype class, odd sizes so
 * that ordering by dtype matters, a scalar and metadata. */
static const float sample_f32[6] = {1, -2, 3.5f, 0.25f, -0.125f, 1e-3f};
static const guint16 sample_f16[5] = {0x3c00, 0xc000, 0x3e00, 0x0000, 0x7bff};
static const guint16 sample_bf16[3] = {0x3f80, 0xc040, 0x3e80};
static const guint8 sample_u8[3] = {7, 8, 9};
static const gint64 sample_i64 = -42;

static char *write_sample(const char *name) {
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_autoptr(GError) err = NULL;
  const int64_t s23[] = {2, 3}, s5[] = {5}, s3[] = {3};
  g_assert_true(agf_safetensors_writer_add(w, "w.f32", AGF_ST_F32, 2, s23,
                                           sample_f32, &err));
  g_assert_true(agf_safetensors_writer_add(w, "b.f16", AGF_ST_F16, 1, s5,
                                           sample_f16, &err));
  g_assert_true(agf_safetensors_writer_add(w, "c.bf16", AGF_ST_BF16, 1, s3,
                                           sample_bf16, &err));
  g_assert_true(
      agf_safetensors_writer_add(w, "a.u8", AGF_ST_U8, 1, s3, sample_u8, &err));
  g_assert_true(agf_safetensors_writer_add(w, "step", AGF_ST_I64, 0, NULL,
                                           &sample_i64, &err));
  agf_safetensors_writer_set_meta(w, "format", "pt");
  agf_safetensors_writer_set_meta(w, "agfas.note", "quote \" slash \\ tab\t");
  char *path = tmp_path(name);
  g_assert_true(agf_safetensors_writer_write(w, path, &err));
  g_assert_no_error(err);
  return path;
}

static guint8 *slurp(const char *path, gsize *len) {
  char *data;
  g_assert_true(g_file_get_contents(path, &data, len, NULL));
  return (guint8 *)data;
}

static void test_layout(void) {
  g_autofree char *path = write_sample("layout.safetensors");
  gsize len;
  g_autofree guint8 *b = slurp(path, &len);
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | b[i];
  g_assert_cmpuint(n % 8, ==, 0);
  /* The reference layout: metadata first, data by dtype descending (I64,
   * F32, BF16, F16, U8) then name, compact JSON, space padding. */
  const char *want =
      "{\"__metadata__\":{\"agfas.note\":\"quote \\\" slash \\\\ tab\\t\","
      "\"format\":\"pt\"},"
      "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"w.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
      "\"c.bf16\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[32,38]},"
      "\"b.f16\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[38,48]},"
      "\"a.u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[48,51]}}";
  g_autofree char *header = g_strndup((const char *)b + 8, n);
  g_assert_true(g_str_has_prefix(header, want));
  for (size_t i = strlen(want); i < n; i++)
    g_assert_cmpint(header[i], ==, ' ');
  g_assert_cmpuint(len, ==, 8 + n + 51);
  g_assert_cmpmem(b + 8 + n, 8, &sample_i64, 8);
  g_assert_cmpmem(b + 8 + n + 8, 24, sample_f32, 24);
  g_assert_cmpmem(b + 8 + n + 48, 3, sample_u8, 3);
}

/* Writes one F32 tensor (or none) and compares with bytes the reference
 * implementation produces (its serialization tests). */
static void check_reference(const char *name, int ndim, const int64_t *shape,
                            const char *meta_key, const guint8 *want,
                            gsize want_len) {
  static const float v[6] = {0, 1, 2, 3, 4, 5};
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_autoptr(GError) err = NULL;
  if (name)
    g_assert_true(
        agf_safetensors_writer_add(w, name, AGF_ST_F32, ndim, shape, v, &err));
  if (meta_key)
    agf_safetensors_writer_set_meta(w, meta_key, "pt");
  g_autofree char *path = tmp_path("reference.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, path, &err));
  gsize len;
  g_autofree guint8 *b = slurp(path, &len);
  g_assert_cmpmem(b, len, want, want_len);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_safetensors_n_tensors(st), ==, name ? 1 : 0);
}

static void test_reference_bytes(void) {
  static const char attn[] =
      "\x48\0\0\0\0\0\0\0"
      "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],"
      "\"data_offsets\":[0,24]}}       "
      "\0\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40\0\0\xa0\x40";
  check_reference("attn0", 4, (const int64_t[]){1, 1, 2, 3}, NULL,
                  (const guint8 *)attn, sizeof attn - 1);
  static const char attn_dot[] =
      "\x40\0\0\0\0\0\0\0"
      "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],"
      "\"data_offsets\":[0,24]}}"
      "\0\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40\0\0\xa0\x40";
  check_reference("attn.0", 3, (const int64_t[]){1, 2, 3}, NULL,
                  (const guint8 *)attn_dot, sizeof attn_dot - 1);
  static const char meta[] =
      "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ";
  check_reference(NULL, 0, NULL, "framework", (const guint8 *)meta,
                  sizeof meta - 1);
}

static void test_roundtrip(void) {
  g_autofree char *path = write_sample("roundtrip.safetensors");
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_safetensors_n_tensors(st), ==, 5);
  const char *order[] = {"a.u8", "b.f16", "c.bf16", "step", "w.f32"};
  for (int i = 0; i < 5; i++)
    g_assert_cmpstr(agf_safetensors_tensor_at(st, i)->name, ==, order[i]);
  g_assert_cmpstr(agf_safetensors_meta(st, "format"), ==, "pt");
  g_assert_cmpstr(agf_safetensors_meta(st, "agfas.note"), ==,
                  "quote \" slash \\ tab\t");
  g_assert_cmpuint(g_hash_table_size(agf_safetensors_metadata(st)), ==, 2);

  const AgfStTensor *t = agf_safetensors_get(st, "w.f32", &err);
  g_assert_no_error(err);
  g_assert_cmpint(t->dtype, ==, AGF_ST_F32);
  g_assert_cmpint(t->ndim, ==, 2);
  g_assert_cmpint(t->shape[0], ==, 2);
  g_assert_cmpint(t->shape[1], ==, 3);
  g_assert_cmpmem(t->data, t->nbytes, sample_f32, sizeof sample_f32);
  t = agf_safetensors_find(st, "step");
  g_assert_cmpint(t->ndim, ==, 0);
  g_assert_cmpint(t->numel, ==, 1);
  g_assert_cmpmem(t->data, 8, &sample_i64, 8);

  const int64_t s5[] = {5}, s3[] = {3};
  g_autofree float *h = agf_safetensors_read_f32(st, "b.f16", 1, s5, &err);
  g_assert_no_error(err);
  const float want_h[5] = {1, -2, 1.5f, 0, 65504};
  g_assert_cmpmem(h, sizeof want_h, want_h, sizeof want_h);
  g_autofree float *bf = agf_safetensors_read_f32(st, "c.bf16", 1, s3, &err);
  g_assert_no_error(err);
  const float want_b[3] = {1, -3, 0.25f};
  g_assert_cmpmem(bf, sizeof want_b, want_b, sizeof want_b);
  g_autofree float *f = agf_safetensors_read_f32(st, "w.f32", -1, NULL, &err);
  g_assert_cmpmem(f, sizeof sample_f32, sample_f32, sizeof sample_f32);

  /* Write everything again from the reader: the bytes must not change. */
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *x = agf_safetensors_tensor_at(st, i);
    g_assert_true(agf_safetensors_writer_add(w, x->name, x->dtype, x->ndim,
                                             x->shape, x->data, &err));
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, agf_safetensors_metadata(st));
  while (g_hash_table_iter_next(&it, &k, &v))
    agf_safetensors_writer_set_meta(w, k, v);
  g_autofree char *path2 = tmp_path("roundtrip2.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, path2, &err));
  gsize l1, l2;
  g_autofree guint8 *b1 = slurp(path, &l1);
  g_autofree guint8 *b2 = slurp(path2, &l2);
  g_assert_cmpmem(b1, l1, b2, l2);
}

static void test_errors(void) {
  const float body[8] = {0};
  g_autofree char *p = NULL;
  g_autoptr(GError) err = NULL;

  g_autofree char *missing = tmp_path("does-not-exist.safetensors");
  expect_open_error(missing, AGF_ERROR_IO, "does-not-exist");

  p = tmp_path("short");
  write_bytes(p, "abc", 3);
  expect_open_error(p, AGF_ERROR_FORMAT, "not a safetensors file");
  g_free(p);

  p = tmp_path("zip");
  write_bytes(p, "PK\3\4\24\0\0\0\0\0\0\0", 12);
  expect_open_error(p, AGF_ERROR_FORMAT, "100 MB");
  g_free(p);

  p = tmp_path("hdr-trunc");
  write_bytes(p, "\x40\0\0\0\0\0\0\0{\"a\":", 13);
  expect_open_error(p, AGF_ERROR_FORMAT, "truncated");
  g_free(p);

  p = write_raw("json", "{\"a\":{\"dtype\":\"F32\",", NULL, 0);
  expect_open_error(p, AGF_ERROR_FORMAT, "malformed JSON");
  g_free(p);

  /* Not JSON, though json-glib alone would accept or choke on them. */
  static const char *const not_json[] = {
      "{/*c*/\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
      "{'a':{'dtype':'F32','shape':[],'data_offsets':[0,4]}}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],},}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}} x",
      "{\"a\":{\"dtype\":\"F\\x32\",\"shape\":[],\"data_offsets\":[0,4]}}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(not_json); i++) {
    p = write_raw("notjson", not_json[i], body, 4);
    expect_open_error(p, AGF_ERROR_FORMAT, "malformed JSON");
    g_free(p);
  }
  GString *deep = g_string_new("{\"a\":");
  for (int i = 0; i < 200000; i++)
    g_string_append_c(deep, '[');
  for (int i = 0; i < 200000; i++)
    g_string_append_c(deep, ']');
  g_string_append_c(deep, '}');
  p = write_raw("deep", deep->str, NULL, 0);
  g_string_free(deep, TRUE);
  expect_open_error(p, AGF_ERROR_FORMAT, "nested too deeply");
  g_free(p);
  /* Escapes and a null metadata are valid. */
  p = write_raw("escapes",
                "{\"__metadata__\":null,\"\\u00e9\\n\\\"\" : { \"dtype\" : "
                "\"F32\", \"shape\" : [ ], \"data_offsets\" : [ 0 , 4 ] } }",
                body, 4);
  {
    g_autoptr(AgfSafetensors) esc = agf_safetensors_open(p, &err);
    g_assert_no_error(err);
    g_assert_nonnull(agf_safetensors_find(esc, "\xc3\xa9\n\""));
  }
  g_free(p);

  p = write_raw("notobj", "[1,2]   ", NULL, 0);
  expect_open_error(p, AGF_ERROR_FORMAT, "JSON object");
  g_free(p);

  p = write_raw(
      "dtype",
      "{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", body,
      4);
  expect_open_error(p, AGF_ERROR_FORMAT, "unknown dtype");
  g_free(p);

  p = write_raw(
      "extra",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
      "\"x\":1}}",
      body, 4);
  expect_open_error(p, AGF_ERROR_FORMAT, "exactly");
  g_free(p);

  p = write_raw(
      "negdim",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", body,
      4);
  expect_open_error(p, AGF_ERROR_FORMAT, "dimension 0");
  g_free(p);

  p = write_raw(
      "floatdim",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
      body, 4);
  expect_open_error(p, AGF_ERROR_FORMAT, "dimension 0");
  g_free(p);

  p = write_raw("meta", "{\"__metadata__\":{\"k\":1}}", NULL, 0);
  expect_open_error(p, AGF_ERROR_FORMAT, "metadata entry \"k\"");
  g_free(p);

  p = write_raw(
      "body-trunc",
      "{\"big\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}",
      body, 20);
  expect_open_error(p, AGF_ERROR_FORMAT, "truncated");
  expect_open_error(p, AGF_ERROR_FORMAT, "\"big\"");
  g_free(p);

  p = write_raw(
      "inconsistent",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
      body, 20);
  expect_open_error(p, AGF_ERROR_FORMAT, "shape [2, 3]");
  g_free(p);

  p = write_raw("overflow",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                "\"data_offsets\":[0,0]}}",
                NULL, 0);
  expect_open_error(p, AGF_ERROR_FORMAT, "2^64");
  g_free(p);

  p = write_raw(
      "reversed",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", body,
      4);
  expect_open_error(p, AGF_ERROR_FORMAT, "end before");
  g_free(p);

  p = write_raw(
      "overlap",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
      body, 12);
  expect_open_error(p, AGF_ERROR_FORMAT, "overlap");
  g_free(p);

  p = write_raw(
      "hole",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", body,
      8);
  expect_open_error(p, AGF_ERROR_FORMAT, "no holes");
  g_free(p);

  p = write_raw(
      "trailing",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", body,
      8);
  expect_open_error(p, AGF_ERROR_FORMAT, "after the last");
  g_free(p);

  /* A valid file: lookups and expectations. */
  p = write_raw(
      "ok",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"n\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[24,28]}}",
      body, 28);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(p, &err);
  g_assert_no_error(err);
  g_assert_null(agf_safetensors_get(st, "missing", &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_FORMAT);
  g_autofree char *want =
      g_strdup_printf("weights file %s has no tensor missing", p);
  g_assert_true(g_str_has_prefix(err->message, want));
  g_clear_error(&err);

  const int64_t s32[] = {3, 2};
  g_assert_null(agf_safetensors_expect(st, "w", AGF_ST_F32, 2, s32, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_SHAPE);
  g_free(want);
  want = g_strdup_printf("tensor w in %s has shape [2, 3] but the model "
                         "expects [3, 2]",
                         p);
  g_assert_true(g_str_has_prefix(err->message, want));
  g_clear_error(&err);

  g_assert_null(agf_safetensors_expect(st, "w", AGF_ST_F16, -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_DTYPE);
  g_assert_nonnull(
      strstr(err->message, "has dtype F32 but the model expects F16"));
  g_clear_error(&err);

  g_assert_null(agf_safetensors_read_f32(st, "n", -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_DTYPE);
  g_assert_nonnull(strstr(err->message, "tensor n in"));
  g_assert_nonnull(strstr(err->message, "I32"));
  g_clear_error(&err);
}

static void test_writer_errors(void) {
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_autoptr(GError) err = NULL;
  const float x[2] = {1, 2};
  const int64_t s2[] = {2}, neg[] = {-2};
  g_assert_true(agf_safetensors_writer_add(w, "x", AGF_ST_F32, 1, s2, x, &err));
  g_assert_false(
      agf_safetensors_writer_add(w, "x", AGF_ST_F32, 1, s2, x, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&err);
  g_assert_false(agf_safetensors_writer_add(w, "__metadata__", AGF_ST_F32, 1,
                                            s2, x, &err));
  g_clear_error(&err);
  g_assert_false(agf_safetensors_writer_add(w, "", AGF_ST_F32, 1, s2, x, &err));
  g_clear_error(&err);
  g_assert_false(
      agf_safetensors_writer_add(w, "y", AGF_ST_F32, 1, neg, x, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&err);

  /* A missing folder: an IO error and nothing left behind. */
  g_autofree char *bad = g_build_filename(tmp_dir, "no-such-dir", "w.st", NULL);
  g_assert_false(agf_safetensors_writer_write(w, bad, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&err);

  /* Replacing an existing file; no temporary file remains. */
  g_autofree char *dir = tmp_path("replace");
  g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
  g_autofree char *path = g_build_filename(dir, "w.safetensors", NULL);
  write_bytes(path, "old", 3);
  g_assert_true(agf_safetensors_writer_write(w, path, &err));
  g_assert_no_error(err);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name(d))
    n++;
  g_assert_cmpint(n, ==, 1);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_safetensors_n_tensors(st), ==, 1);

  /* An empty file is valid: "{}" padded to 8 bytes. */
  g_autoptr(AgfSafetensorsWriter) e = agf_safetensors_writer_new();
  g_autofree char *ep = tmp_path("empty.safetensors");
  g_assert_true(agf_safetensors_writer_write(e, ep, &err));
  gsize len;
  g_autofree guint8 *b = slurp(ep, &len);
  g_assert_cmpmem(b, len, "\x08\0\0\0\0\0\0\0{}      ", 16);
  g_autoptr(AgfSafetensors) es = agf_safetensors_open(ep, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_safetensors_n_tensors(es), ==, 0);
}

/* Opens path; when it opens, touches every tensor's bytes (ASan checks
 * that they lie in the mapping). Returns whether it opened. */
static gboolean open_and_touch(const char *path) {
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &err);
  if (!st) {
    g_assert_nonnull(err);
    g_assert_true(err->domain == AGF_ERROR);
    g_assert_true(err->message && *err->message);
    return FALSE;
  }
  g_assert_no_error(err);
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    guint8 acc = 0;
    for (size_t k = 0; k < t->nbytes; k++)
      acc ^= ((const guint8 *)t->data)[k];
    (void)acc;
    if (agf_st_dtype_is_float(t->dtype) && t->numel < (1 << 20)) {
      g_autofree float *f = g_new(float, t->numel + 1);
      g_assert_true(agf_st_tensor_to_f32(t, f, NULL));
    }
  }
  return TRUE;
}

static void test_truncation(void) {
  g_autofree char *path = write_sample("trunc-src.safetensors");
  gsize len;
  g_autofree guint8 *b = slurp(path, &len);
  g_autofree char *cut = tmp_path("trunc.safetensors");
  for (gsize n = 0; n < len; n++) {
    write_bytes(cut, b, n);
    g_assert_false(open_and_touch(cut));
  }
  write_bytes(cut, b, len);
  g_assert_true(open_and_touch(cut));
}

/* $AGFAS_FUZZ_SCALE multiplies the mutation counts for longer runs. */
static int fuzz_scale(void) {
  const char *s = g_getenv("AGFAS_FUZZ_SCALE");
  int k = s ? atoi(s) : 1;
  return k > 0 ? k : 1;
}

/* Seeded mutations of a valid file: byte flips anywhere, JSON-significant
 * characters in the header, header length changes, random garbage. Every
 * result must be a clean error or a consistent file. */
static void test_fuzz(void) {
  g_autofree char *path = write_sample("fuzz-src.safetensors");
  gsize len;
  g_autofree guint8 *src = slurp(path, &len);
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | src[i];
  g_autofree char *mut = tmp_path("fuzz.safetensors");
  g_autofree guint8 *b = g_malloc(len + 64);
  GRand *rng = g_rand_new_with_seed(20240611);
  static const char tokens[] = "{}[]\":,0123456789-.eE \\tnfu";
  int opened = 0, iters = 4000 * fuzz_scale();
  for (int it = 0; it < iters; it++) {
    memcpy(b, src, len);
    gsize n = len;
    int kind = g_rand_int_range(rng, 0, 6);
    int edits = g_rand_int_range(rng, 1, 5);
    for (int e = 0; e < edits; e++) {
      switch (kind) {
      case 0: /* any byte */
        b[g_rand_int_range(rng, 0, (gint32)n)] ^=
            (guint8)(1u << g_rand_int_range(rng, 0, 8));
        break;
      case 1: /* a JSON token inside the header */
      case 2:
        b[8 + g_rand_int_range(rng, 0, (gint32)hlen)] =
            (guint8)tokens[g_rand_int_range(rng, 0, sizeof tokens - 1)];
        break;
      case 3: { /* header length */
        guint64 h = hlen + (guint64)g_rand_int_range(rng, -16, 17);
        if (g_rand_boolean(rng))
          h = g_rand_int(rng) | ((guint64)g_rand_int(rng) << 32);
        for (int i = 0; i < 8; i++)
          b[i] = (guint8)(h >> (8 * i));
        break;
      }
      case 4: /* truncate or extend */
        n = (gsize)g_rand_int_range(rng, 0, (gint32)len + 64);
        for (gsize i = len; i < n; i++)
          b[i] = (guint8)g_rand_int(rng);
        break;
      default: /* a digit changed inside the header: offsets and shapes */
        for (guint64 i = 8 + g_rand_int_range(rng, 0, (gint32)hlen);
             i < 8 + hlen; i++)
          if (b[i] >= '0' && b[i] <= '9') {
            b[i] = (guint8)('0' + g_rand_int_range(rng, 0, 10));
            break;
          }
      }
    }
    write_bytes(mut, b, n);
    opened += open_and_touch(mut);
  }
  g_rand_free(rng);
  g_test_message("%d of %d mutated files opened (consistent)", opened, iters);
}

static void check_device_load(AgfDevice *dev) {
  g_autofree char *path = write_sample("device.safetensors");
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  const int64_t s23[] = {2, 3};
  static const struct {
    const char *name;
    AgfDType dt;
  } cases[] = {
      {"w.f32", AGF_F32}, {"w.f32", AGF_F16},  {"b.f16", AGF_F32},
      {"b.f16", AGF_F16}, {"c.bf16", AGF_F32}, {"c.bf16", AGF_F16},
  };
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    const AgfStTensor *info = agf_safetensors_find(st, cases[c].name);
    g_autofree float *want =
        agf_safetensors_read_f32(st, cases[c].name, -1, NULL, &err);
    g_assert_no_error(err);
    g_autoptr(AgfTensor) t = agf_safetensors_load(st, dev, cases[c].name,
                                                  cases[c].dt, -1, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(t->dtype, ==, cases[c].dt);
    g_assert_cmpint(t->ndim, ==, info->ndim);
    g_assert_cmpint(agf_tensor_numel(t), ==, info->numel);
    g_autofree float *got = g_new(float, info->numel);
    g_assert_true(agf_tensor_to_f32(t, got, &err));
    for (int64_t i = 0; i < info->numel; i++) {
      float w = cases[c].dt == AGF_F16 ? agf_f16_to_f32(agf_f32_to_f16(want[i]))
                                       : want[i];
      g_assert_cmpfloat(got[i], ==, w);
    }
  }
  /* Shape check on load, and a non-float tensor. */
  g_assert_null(agf_safetensors_load(st, dev, "w.f32", AGF_F32, 2,
                                     (const int64_t[]){3, 2}, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&err);
  g_autoptr(AgfTensor) ok =
      agf_safetensors_load(st, dev, "w.f32", AGF_F32, 2, s23, &err);
  g_assert_no_error(err);
  g_assert_null(agf_safetensors_load(st, dev, "a.u8", AGF_F32, -1, NULL, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_DTYPE);
  g_clear_error(&err);

  /* Device tensors written back out read the same. */
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_assert_true(agf_safetensors_writer_add_tensor(w, "ok", ok, &err));
  g_autofree char *out = tmp_path("device-out.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, out, &err));
  g_autoptr(AgfSafetensors) back = agf_safetensors_open(out, &err);
  g_assert_no_error(err);
  const AgfStTensor *bt =
      agf_safetensors_expect(back, "ok", AGF_ST_F32, 2, s23, &err);
  g_assert_no_error(err);
  g_assert_cmpmem(bt->data, bt->nbytes, sample_f32, sizeof sample_f32);
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

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp("agfas-st-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  g_test_add_func("/safetensors/layout", test_layout);
  g_test_add_func("/safetensors/reference-bytes", test_reference_bytes);
  g_test_add_func("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func("/safetensors/errors", test_errors);
  g_test_add_func("/safetensors/writer-errors", test_writer_errors);
  g_test_add_func("/safetensors/truncation", test_truncation);
  g_test_add_func("/safetensors/fuzz", test_fuzz);
  g_test_add_func("/safetensors/load-cpu", test_load_cpu);
  g_test_add_func("/safetensors/load-vulkan", test_load_vulkan);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  int vk = agf_test_finish();
  return rc ? rc : (vk ? 1 : 0);
}
