/* The DFG pipeline against tests/reference/dfg.py (whole reconstruction,
 * cue, standardization; CPU and Vulkan, max relative error <= 1e-3), its
 * host noise, determinism and cancellation, and the presets' random-init
 * checkpoints (every network loads and runs). */
#include <gio/gio.h>
#include <math.h>
#include <string.h>
#include "models/presets.h"
#include "nn/ops.h"
#include "pipeline/cue.h"
#include "pipeline/dfg.h"
#include "pipeline/rng.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-3

/* ---- the golden, split into one file per network ---- */

static AgfSafetensors *golden(void)
{
  g_autofree char *path = parity_golden_path("dfg.safetensors");
  GError *error = NULL;
  AgfSafetensors *st = agf_safetensors_open(path, &error);
  g_assert_no_error(error);
  return st;
}

/* dir/<name>.safetensors: the golden's "<part>.*" tensors and metadata
 * with the prefix removed, plus metadata key = val when key is given. */
static char *split_as(const AgfSafetensors *st, const char *dir,
                      const char *part, const char *name, const char *key,
                      const char *val)
{
  g_autofree char *prefix = g_strconcat(part, ".", NULL);
  const size_t pl = strlen(prefix);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  GError *error = NULL;
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    if (strncmp(t->name, prefix, pl))
      continue;
    g_autofree void *data = g_memdup2(t->data, t->nbytes);
    g_assert_true(agf_safetensors_writer_add(w, t->name + pl, t->dtype,
                                             t->ndim, t->shape, data, &error));
    g_assert_no_error(error);
  }
  GHashTable *meta = agf_safetensors_metadata(st);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, meta);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!strncmp(k, prefix, pl))
      agf_safetensors_writer_set_meta(w, (const char *)k + pl, v);
  if (key)
    agf_safetensors_writer_set_meta(w, key, val);
  char *path = g_strdup_printf("%s/%s.safetensors", dir, name);
  g_assert_true(agf_safetensors_writer_write(w, path, &error));
  g_assert_no_error(error);
  return path;
}

static char *split(const AgfSafetensors *st, const char *dir, const char *part)
{
  return split_as(st, dir, part, part, NULL, NULL);
}

static AgfDfg *open_dfg(const char *vae, const char *unet, const char *id,
                        AgfDevice *dev)
{
  GError *error = NULL;
  AgfDfg *dfg = agf_dfg_open(vae, unet, id, dev, AGF_F32, &error);
  g_assert_no_error(error);
  g_assert_nonnull(dfg);
  return dfg;
}

static AgfDfg *golden_dfg(const AgfSafetensors *st, AgfDevice *dev,
                          char **dir_out)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("agfas-dfg-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *vae = split(st, dir, "vae");
  g_autofree char *unet = split(st, dir, "unet");
  g_autofree char *id = split(st, dir, "id");
  *dir_out = dir;
  return open_dfg(vae, unet, id, dev);
}

static void params_for(const char *c, AgfDfgParams *p)
{
  agf_dfg_params_init(p);
  p->steps = 10;
  p->strength = 0.3;
  p->seed = 7;
  p->sampler = g_str_has_prefix(c, "ddim") ? "ddim" : "pndm";
  p->eta = !strcmp(c, "ddim_eta") ? 0.5 : 0.0;
}

static void check_case(AgfDfg *dfg, const AgfSafetensors *st,
                       const AgfTensor *image, const char *c)
{
  AgfDfgParams p;
  params_for(c, &p);
  GError *error = NULL;
  g_autoptr(AgfTensor) recon = NULL;
  AgfDfgInfo info;
  g_assert_true(agf_dfg_reconstruct(dfg, image, &p, NULL, NULL, &recon,
                                    &info, &error));
  g_assert_no_error(error);

  g_autofree char *tname = g_strdup_printf("test.%s.timesteps", c);
  g_autofree float *ts = agf_safetensors_read_f32(st, tname, 0, NULL, &error);
  g_assert_no_error(error);
  const AgfStTensor *tt = agf_safetensors_find(st, tname);
  g_assert_cmpint(info.n_calls, ==, tt->numel);
  for (int i = 0; i < info.n_calls; i++)
    g_assert_cmpint(info.timesteps[i], ==, (int)ts[i]);
  g_assert_cmpint(info.t0, ==, (int)ts[0]);
  g_assert_cmpstr(info.sampler, ==, p.sampler);
  g_test_message("%s: %d calls from t0 = %d", c, info.n_calls, info.t0);
  agf_dfg_info_clear(&info);

  g_autofree char *n_recon = g_strdup_printf("%s.recon", c);
  parity_compare(st, n_recon, recon, TOL);
  g_autoptr(AgfTensor) r = agf_cue_residual(image, recon, NULL, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) cue = agf_cue_standardize(r, &error);
  g_assert_no_error(error);
  g_autofree char *n_cue = g_strdup_printf("%s.cue", c);
  parity_compare(st, n_cue, cue, TOL);
  if (!strcmp(c, "ddim")) {
    g_autoptr(AgfTensor) heat = agf_cue_heat(r, &error);
    g_assert_no_error(error);
    parity_compare(st, "ddim.residual", r, TOL);
    parity_compare(st, "ddim.heat", heat, TOL);
    g_autoptr(AgfTensor) six = agf_cue_stack(image, cue, &error);
    g_assert_no_error(error);
    g_assert_cmpint(six->shape[1], ==, 6);
  }
}

static void parity(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  g_autoptr(AgfSafetensors) st = golden();
  g_autofree char *dir = NULL;
  g_autoptr(AgfDfg) dfg = golden_dfg(st, dev, &dir);
  g_autoptr(AgfTensor) image = parity_tensor(st, dev, "image");
  check_case(dfg, st, image, "ddim");
  check_case(dfg, st, image, "ddim_eta");
  check_case(dfg, st, image, "pndm");
  agf_test_remove_tree(dir);
}

/* ---- host noise ---- */

static void test_rng(void)
{
  g_autoptr(AgfSafetensors) st = golden();
  GError *error = NULL;
  g_autofree float *want = agf_safetensors_read_f32(st, "test.noise_s7_0", 0,
                                                    NULL, &error);
  g_assert_no_error(error);
  float got[1024];
  agf_rng_normal(7, 0, 0, got, 1024);
  for (int i = 0; i < 1024; i++)
    g_assert_cmpfloat(fabsf(got[i] - want[i]), <=, 1e-6f * (1 + fabsf(want[i])));
  /* Counter-based: any window gives the same elements. */
  float part[5];
  agf_rng_normal(7, 0, 101, part, 5);
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat(part[i], ==, got[101 + i]);
  g_autofree float *u = agf_safetensors_read_f32(st, "test.uniform_s7_3", 0, NULL,
                                                 &error);
  g_assert_no_error(error);
  for (int j = 0; j < 8; j++)
    g_assert_cmpfloat(fabs(agf_rng_uniform(7, 3, (guint64)j) - u[j]), <=,
                      1e-7);
  double s = 0, s2 = 0;
  for (int i = 0; i < 1024; i++)
    s += got[i], s2 += (double)got[i] * got[i];
  g_assert_cmpfloat(fabs(s / 1024), <, 0.15);
  g_assert_cmpfloat(fabs(s2 / 1024 - 1), <, 0.15);
}

/* ---- determinism and cancellation (CPU) ---- */

static float *run_once(AgfDfg *dfg, const AgfTensor *image, guint64 seed)
{
  AgfDfgParams p;
  params_for("ddim_eta", &p);
  p.seed = seed;
  GError *error = NULL;
  g_autoptr(AgfTensor) recon = NULL;
  g_assert_true(agf_dfg_reconstruct(dfg, image, &p, NULL, NULL, &recon, NULL,
                                    &error));
  g_assert_no_error(error);
  return agf_test_read_f32(recon);
}

static void test_determinism(void)
{
  g_autoptr(AgfSafetensors) st = golden();
  g_autofree char *dir = NULL;
  g_autoptr(AgfDfg) dfg = golden_dfg(st, agf_test_cpu(), &dir);
  g_autoptr(AgfTensor) image = parity_tensor(st, agf_test_cpu(), "image");
  const size_t n = (size_t)agf_tensor_numel(image);
  g_autofree float *a = run_once(dfg, image, 7);
  g_autofree float *b = run_once(dfg, image, 7);
  g_autofree float *c = run_once(dfg, image, 8);
  g_assert_cmpmem(a, n * sizeof(float), b, n * sizeof(float));
  g_assert_cmpfloat(agf_test_rel_err(c, a, n), >, 1e-3);
  /* Batch invariance: the second image alone gives its batch result. */
  g_autoptr(AgfTensor) one = agf_tensor_slice(image, 0, 1, 1, NULL);
  g_autoptr(AgfTensor) dense = agf_tensor_contiguous(one, NULL);
  g_autofree float *d = run_once(dfg, dense, 7);
  g_assert_cmpfloat(agf_test_rel_err(d, a + n / 2, n / 2), <=, 1e-5);
  agf_test_remove_tree(dir);
}

static AgfTensor *resized(const AgfTensor *x, int side)
{
  GError *error = NULL;
  AgfTensor *y = agf_resize_bilinear(x, side, side, FALSE, &error);
  g_assert_no_error(error);
  return y;
}

/* A U-Net recording its image size S reconstructs a 2S image as
 * resize(reconstruction at S of resize(image, S), 2S); a bad size is a
 * clear error at open. */
static void test_image_size(void)
{
  g_autoptr(AgfSafetensors) st = golden();
  g_autofree char *dir = NULL;
  g_autoptr(AgfDfg) plain = golden_dfg(st, agf_test_cpu(), &dir);
  g_assert_cmpint(agf_dfg_image_size(plain), ==, 0);
  g_autoptr(AgfTensor) image = parity_tensor(st, agf_test_cpu(), "image");
  const int side = (int)image->shape[2];
  g_autofree char *size = g_strdup_printf("%d", side);
  g_autofree char *vae = split(st, dir, "vae");
  g_autofree char *id = split(st, dir, "id");
  g_autofree char *unet = split_as(st, dir, "unet", "unet-sized",
                                   AGF_DFG_META_IMAGE_SIZE, size);
  g_autoptr(AgfDfg) sized = open_dfg(vae, unet, id, agf_test_cpu());
  g_assert_cmpint(agf_dfg_image_size(sized), ==, side);

  g_autoptr(AgfTensor) big = resized(image, 2 * side);
  g_autoptr(AgfTensor) back = resized(big, side);
  const size_t n = (size_t)agf_tensor_numel(big);
  g_autofree float *got = run_once(sized, big, 7);
  g_autoptr(AgfTensor) want = NULL;
  AgfDfgParams p;
  params_for("ddim_eta", &p);
  GError *error = NULL;
  g_assert_true(agf_dfg_reconstruct(plain, back, &p, NULL, NULL, &want, NULL,
                                    &error));
  g_assert_no_error(error);
  g_autoptr(AgfTensor) want_big = resized(want, 2 * side);
  g_autofree float *w = agf_test_read_f32(want_big);
  g_assert_cmpfloat(agf_test_rel_err(got, w, n), <=, 1e-6);
  /* At its own size the image goes through untouched. */
  g_autofree float *a = run_once(sized, image, 7);
  g_autofree float *b = run_once(plain, image, 7);
  g_assert_cmpmem(a, (size_t)agf_tensor_numel(image) * sizeof(float), b,
                  (size_t)agf_tensor_numel(image) * sizeof(float));

  g_autofree char *bad = split_as(st, dir, "unet", "unet-bad",
                                  AGF_DFG_META_IMAGE_SIZE, "100");
  AgfDfg *none = agf_dfg_open(vae, bad, id, agf_test_cpu(), AGF_F32, &error);
  g_assert_null(none);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, AGF_DFG_META_IMAGE_SIZE));
  g_clear_error(&error);
  agf_test_remove_tree(dir);
}

typedef struct {
  int calls, stop_at, last_total;
} Progress;

static gboolean on_progress(int done, int total, gpointer data)
{
  Progress *p = data;
  g_assert_cmpint(done, ==, p->calls);
  p->calls++;
  p->last_total = total;
  return done < p->stop_at;
}

static void test_cancel(void)
{
  g_autoptr(AgfSafetensors) st = golden();
  g_autofree char *dir = NULL;
  g_autoptr(AgfDfg) dfg = golden_dfg(st, agf_test_cpu(), &dir);
  g_autoptr(AgfTensor) image = parity_tensor(st, agf_test_cpu(), "image");
  AgfDfgParams p;
  params_for("pndm", &p);
  GError *error = NULL;
  AgfTensor *recon = NULL;
  Progress pr = { .stop_at = 2 };
  g_assert_false(agf_dfg_reconstruct(dfg, image, &p, on_progress, &pr,
                                     &recon, NULL, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&error);
  g_assert_null(recon);
  g_assert_cmpint(pr.calls, ==, 3); /* done 0, 1, 2 */
  g_assert_cmpint(pr.last_total, ==, 4);
  /* Runs to the end when never stopped. */
  pr = (Progress){ .stop_at = G_MAXINT };
  g_assert_true(agf_dfg_reconstruct(dfg, image, &p, on_progress, &pr, &recon,
                                    NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpint(pr.calls, ==, 5);
  agf_tensor_unref(recon);
  /* Bad parameters and a zero-step strength. */
  p.sampler = "euler";
  g_assert_false(agf_dfg_reconstruct(dfg, image, &p, NULL, NULL, &recon,
                                     NULL, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  params_for("ddim", &p);
  p.strength = 0.0;
  AgfDfgInfo info;
  g_assert_true(agf_dfg_reconstruct(dfg, image, &p, NULL, NULL, &recon,
                                    &info, &error));
  g_assert_no_error(error);
  g_assert_cmpint(info.n_calls, ==, 0);
  g_assert_cmpint(info.t0, ==, -1);
  agf_dfg_info_clear(&info);
  agf_tensor_unref(recon);
  agf_test_remove_tree(dir);
}

/* ---- presets ---- */

static void test_preset_counts(void)
{
  GError *error = NULL;
  g_assert_cmpint(agf_preset_param_count(AGF_PRESET_PAPER, AGF_NET_UNET,
                                         &error), ==, 859520964);
  g_assert_cmpint(agf_preset_param_count(AGF_PRESET_PAPER,
                                         AGF_NET_AUTOENCODER, &error), ==,
                  83653863);
  g_assert_cmpint(agf_preset_param_count(AGF_PRESET_PAPER, AGF_NET_IDENTITY,
                                         &error), ==, 24025600);
  g_assert_cmpint(agf_preset_param_count(AGF_PRESET_PAPER, AGF_NET_OANET,
                                         &error), ==, 109841668 + 11176512);
  g_assert_no_error(error);
  g_autofree char *table = agf_preset_describe();
  g_assert_null(strstr(table, "error"));
  g_test_message("\n%s", table);
  AgfPreset p;
  g_assert_true(agf_preset_from_name("tiny", &p, NULL));
  g_assert_cmpint(p, ==, AGF_PRESET_TINY);
  g_assert_false(agf_preset_from_name("huge", &p, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
}

static gboolean all_finite(const AgfTensor *t)
{
  g_autofree float *x = agf_test_read_f32(t);
  for (int64_t i = 0; i < agf_tensor_numel(t); i++)
    if (!isfinite(x[i]))
      return FALSE;
  return TRUE;
}

static char *write_tiny(const char *dir, AgfNetKind k, AgfStDType dt)
{
  GError *error = NULL;
  char *path = g_strdup_printf("%s/tiny-%s.safetensors", dir,
                               agf_net_kind_name(k));
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, k, 1, dt, path,
                                        &error));
  g_assert_no_error(error);
  return path;
}

static float max_abs_tensor(AgfWeights *w, const char *name)
{
  GError *error = NULL;
  const AgfTensor *t = agf_weights_get(w, name, 0, NULL, &error);
  g_assert_no_error(error);
  g_autofree float *x = agf_test_read_f32(t);
  float m = 0;
  for (int64_t i = 0; i < agf_tensor_numel(t); i++)
    m = MAX(m, fabsf(x[i]));
  return m;
}

static void presets_on(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-presets-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *pv = write_tiny(dir, AGF_NET_AUTOENCODER, AGF_ST_F32);
  g_autofree char *pu = write_tiny(dir, AGF_NET_UNET, AGF_ST_F16);
  g_autofree char *pi = write_tiny(dir, AGF_NET_IDENTITY, AGF_ST_F32);
  g_autofree char *po = write_tiny(dir, AGF_NET_OANET, AGF_ST_F32);

  /* Every network loads from its file and runs. */
  g_autoptr(AgfWeights) wo = agf_weights_open(po, dev, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfOanet) oanet = agf_oanet_new(wo, &error);
  g_assert_no_error(error);
  g_assert_cmpfloat(max_abs_tensor(wo, "blocks.0.cross_attn.proj.weight"),
                    ==, 0.0f);
  g_assert_cmpfloat(max_abs_tensor(wo, "blocks.0.attn.proj.weight"), >, 0.0f);
  g_assert_cmpfloat(max_abs_tensor(wo, "cue_encoder.bn1.running_var"), ==,
                    1.0f);

  g_autoptr(AgfDfg) dfg = open_dfg(pv, pu, pi, dev);
  const int64_t shape[4] = { 1, 3, 64, 64 };
  float img[3 * 64 * 64];
  agf_test_fill_uniform(img, G_N_ELEMENTS(img), 3, -1.0f, 1.0f);
  g_autoptr(AgfTensor) image = agf_test_tensor(dev, AGF_F32, 4, shape, img);
  AgfDfgParams p;
  agf_dfg_params_init(&p);
  p.steps = 10; /* strength 0.8: 8 DDIM calls */
  g_autoptr(AgfTensor) recon = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(agf_dfg_reconstruct(dfg, image, &p, NULL, NULL, &recon, NULL,
                                    &error));
  g_assert_no_error(error);
  g_assert_true(all_finite(recon));
  g_test_message("tiny reconstruction 64x64, 8 calls: %.2f s",
                 (g_get_monotonic_time() - t0) / 1e6);
  g_autoptr(AgfTensor) r = agf_cue_residual(image, recon, NULL, &error);
  g_autoptr(AgfTensor) cue = r ? agf_cue_standardize(r, &error) : NULL;
  g_assert_no_error(error);
  g_autoptr(AgfTensor) spoof = NULL, logits = NULL;
  g_assert_true(agf_dfg_score(oanet, image, cue, &spoof, &logits, &error));
  g_assert_no_error(error);
  g_autofree float *pr = agf_test_read_f32(spoof);
  g_assert_cmpint(agf_tensor_numel(spoof), ==, 1);
  g_assert_cmpfloat(pr[0], >=, 0.0f);
  g_assert_cmpfloat(pr[0], <=, 1.0f);
  /* The same seed writes the same file. */
  g_autofree char *again = g_strdup_printf("%s/again.safetensors", dir);
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, AGF_NET_IDENTITY, 1,
                                        AGF_ST_F32, again, &error));
  g_autofree char *c1 = NULL, *c2 = NULL;
  gsize l1 = 0, l2 = 0;
  g_assert_true(g_file_get_contents(pi, &c1, &l1, NULL));
  g_assert_true(g_file_get_contents(again, &c2, &l2, NULL));
  g_assert_cmpmem(c1, l1, c2, l2);
  agf_test_remove_tree(dir);
}

static void test_small_loads(void)
{
  /* small: every network's file loads (no run: it is for interactive
   * CPU use, not for tests). */
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-presets-XXXXXX", &error);
  g_assert_no_error(error);
  for (int k = 0; k < AGF_NET_COUNT; k++) {
    g_autofree char *path = g_strdup_printf("%s/%d.safetensors", dir, k);
    g_assert_true(agf_preset_write_random(AGF_PRESET_SMALL, k, 2, AGF_ST_F16,
                                          path, &error));
    g_assert_no_error(error);
    g_autoptr(AgfWeights) w = agf_weights_open(path, agf_test_cpu(), AGF_F32,
                                               &error);
    g_assert_no_error(error);
    gpointer net = NULL;
    switch (k) {
    case AGF_NET_AUTOENCODER:
      net = agf_autoencoder_kl_new(w, &error);
      agf_autoencoder_kl_free(net);
      break;
    case AGF_NET_UNET:
      net = agf_unet_new(w, &error);
      agf_unet_free(net);
      break;
    case AGF_NET_IDENTITY:
      net = agf_iresnet_new(w, &error);
      agf_iresnet_free(net);
      break;
    default:
      net = agf_oanet_new(w, &error);
      agf_oanet_free(net);
      break;
    }
    g_assert_no_error(error);
    g_assert_nonnull(net);
  }
  agf_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dfg/rng", test_rng);
  parity_add_cpu("/dfg/parity-cpu", parity, NULL);
  parity_add_vulkan("/dfg/parity-vulkan", parity, NULL);
  g_test_add_func("/dfg/determinism", test_determinism);
  g_test_add_func("/dfg/cancel", test_cancel);
  g_test_add_func("/dfg/image-size", test_image_size);
  g_test_add_func("/dfg/preset-counts", test_preset_counts);
  parity_add_cpu("/dfg/presets-cpu", presets_on, NULL);
  parity_add_vulkan("/dfg/presets-vulkan", presets_on, NULL);
  g_test_add_func("/dfg/presets-small-load", test_small_loads);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
