/* MTCNN detection on the engine; the algorithm is described in
 * face_detect.h. Box arithmetic follows facenet's detect_face (1-based
 * boxes, np.fix truncation) so that results match the reference; the
 * public results are shifted to 0-based at the end. */
#include "pipeline/face_detect.h"
#include <math.h>
#include <string.h>
#include "nn/device.h"
#include "nn/ops.h"
#include "pipeline/face_models.h"

#define PNET_CELL 12
#define PNET_STRIDE 2
#define MAX_SCALES 64

struct AgfFaceDetector {
  AgfDevice *dev;
  AgfDType dtype;
  AgfMtcnn *net[3];
};

typedef struct {
  double x1, y1, x2, y2, score;
  double reg[4];
  float lm[10];
} Cand;

/* A transposed, normalised image [1, 3, Wl, Hl] of the pyramid with its
 * size relative to the frame (sx = Wl / W, sy = Hl / H). */
typedef struct {
  AgfTensor *t;
  double sx, sy;
} Level;

/* The normalised frame's black, for crops reaching outside it. */
static const float BLACK = (0.0f - 127.5f) / 128.0f;

void agf_face_detect_params_init(AgfFaceDetectParams *p)
{
  p->min_face_size = 20.0;
  p->scale_factor = 0.709;
  p->threshold[0] = 0.6;
  p->threshold[1] = 0.7;
  p->threshold[2] = 0.7;
  p->nms[0] = 0.5;
  p->nms[1] = 0.7;
  p->nms[2] = 0.7;
  p->nms[3] = 0.7;
  p->max_candidates = 2000;
}

gboolean agf_face_detect_params_check(const AgfFaceDetectParams *p,
                                      GError **error)
{
  const char *bad = NULL;
  double v = 0;
  if (!(p->min_face_size >= 4 && p->min_face_size <= 1e5))
    bad = "min_face_size must be in [4, 100000] pixels (default 20)",
    v = p->min_face_size;
  else if (!(p->scale_factor >= 0.1 && p->scale_factor <= 0.95))
    bad = "scale_factor must be in [0.1, 0.95] (default 0.709)",
    v = p->scale_factor;
  for (int i = 0; !bad && i < 3; i++)
    if (!(p->threshold[i] >= 0 && p->threshold[i] <= 1))
      bad = "thresholds must be probabilities in [0, 1] (default 0.6, 0.7, "
            "0.7)", v = p->threshold[i];
  for (int i = 0; !bad && i < 4; i++)
    if (!(p->nms[i] > 0 && p->nms[i] <= 1))
      bad = "NMS overlaps must be in (0, 1] (default 0.5, 0.7, 0.7, 0.7)",
      v = p->nms[i];
  if (!bad && (p->max_candidates < 1 || p->max_candidates > 100000))
    bad = "max_candidates must be in [1, 100000] (default 2000)",
    v = p->max_candidates;
  if (bad) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face detection: %s, not %g", bad, v);
    return FALSE;
  }
  return TRUE;
}

int agf_face_pyramid_scales(int width, int height, double min_face_size,
                            double factor, double *scales, int max_scales)
{
  if (width <= 0 || height <= 0 || !(min_face_size > 0) ||
      !(factor > 0 && factor < 1))
    return 0;
  double m = (double)PNET_CELL / min_face_size;
  double min_layer = MIN(width, height) * m;
  int n = 0;
  for (double s = m; min_layer >= PNET_CELL && n < max_scales; n++) {
    scales[n] = s;
    s *= factor;
    min_layer *= factor;
  }
  return n;
}

/* Descending score, ties by index (qsort is not stable). */
static const AgfFaceBox *sort_boxes;
static int by_score_desc(const void *a, const void *b)
{
  int i = *(const int *)a, j = *(const int *)b;
  double si = sort_boxes[i].score, sj = sort_boxes[j].score;
  if (si != sj)
    return si > sj ? -1 : 1;
  return (i > j) - (i < j);
}

int agf_face_nms(const AgfFaceBox *boxes, int n, double threshold,
                 gboolean over_min, int *keep)
{
  if (n <= 0)
    return 0;
  g_autofree int *order = g_new(int, n);
  g_autofree gboolean *gone = g_new0(gboolean, n);
  for (int i = 0; i < n; i++)
    order[i] = i;
  sort_boxes = boxes;
  qsort(order, n, sizeof *order, by_score_desc);
  sort_boxes = NULL;
  int n_keep = 0;
  for (int a = 0; a < n; a++) {
    int i = order[a];
    if (gone[i])
      continue;
    keep[n_keep++] = i;
    const AgfFaceBox *p = &boxes[i];
    double area_p = (p->x2 - p->x1 + 1) * (p->y2 - p->y1 + 1);
    for (int b = a + 1; b < n; b++) {
      int j = order[b];
      if (gone[j])
        continue;
      const AgfFaceBox *q = &boxes[j];
      double w = MAX(0.0, MIN(p->x2, q->x2) - MAX(p->x1, q->x1) + 1);
      double h = MAX(0.0, MIN(p->y2, q->y2) - MAX(p->y1, q->y1) + 1);
      double inter = w * h;
      double area_q = (q->x2 - q->x1 + 1) * (q->y2 - q->y1 + 1);
      double o = over_min ? inter / MIN(area_p, area_q)
                          : inter / (area_p + area_q - inter);
      if (o > threshold)
        gone[j] = TRUE;
    }
  }
  return n_keep;
}

/* The candidates NMS keeps, best first, at most cap of them. */
static GArray *nms_cands(GArray *c, double threshold, gboolean over_min,
                         int cap)
{
  int n = (int)c->len;
  g_autofree AgfFaceBox *b = g_new(AgfFaceBox, MAX(n, 1));
  g_autofree int *keep = g_new(int, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    const Cand *k = &g_array_index(c, Cand, i);
    b[i] = (AgfFaceBox){ k->x1, k->y1, k->x2, k->y2, k->score };
  }
  int m = MIN(agf_face_nms(b, n, threshold, over_min, keep), cap);
  GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(Cand), m);
  for (int i = 0; i < m; i++)
    g_array_append_val(out, g_array_index(c, Cand, keep[i]));
  return out;
}

/* Box regression: P-Net scales the offsets by x2 - x1, R-/O-Net by
 * x2 - x1 + 1 (as the reference). */
static void regress(Cand *c, double plus)
{
  double w = c->x2 - c->x1 + plus, h = c->y2 - c->y1 + plus;
  c->x1 += c->reg[0] * w;
  c->y1 += c->reg[1] * h;
  c->x2 += c->reg[2] * w;
  c->y2 += c->reg[3] * h;
}

/* Square around the centre, side the longer one (the reference's rerec). */
static void make_square(Cand *c)
{
  double w = c->x2 - c->x1, h = c->y2 - c->y1, l = MAX(w, h);
  c->x1 += w * 0.5 - l * 0.5;
  c->y1 += h * 0.5 - l * 0.5;
  c->x2 = c->x1 + l;
  c->y2 = c->y1 + l;
}

static void truncate_box(Cand *c)
{
  c->x1 = trunc(c->x1);
  c->y1 = trunc(c->y1);
  c->x2 = trunc(c->x2);
  c->y2 = trunc(c->y2);
}

/* ---- construction ---- */

AgfFaceDetector *agf_face_detector_new(AgfWeights *pnet, AgfWeights *rnet,
                                       AgfWeights *onet, GError **error)
{
  AgfWeights *w[3] = { pnet, rnet, onet };
  static const char *const want[3] = { "P-Net", "R-Net", "O-Net" };
  g_autoptr(AgfFaceDetector) det = g_new0(AgfFaceDetector, 1);
  for (int s = 0; s < 3; s++) {
    if (w[s] == NULL) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "face detector: no %s weights given", want[s]);
      return NULL;
    }
    if (s > 0 && agf_weights_device(w[s]) != agf_weights_device(w[0])) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "face detector: the %s weights are on another device than "
                  "the P-Net's; open all three on one device", want[s]);
      return NULL;
    }
    det->net[s] = agf_mtcnn_new(w[s], error);
    if (!det->net[s]) {
      g_prefix_error(error, "face detector (%s, %s): ", want[s],
                     agf_weights_path(w[s]));
      return NULL;
    }
    if (agf_mtcnn_config(det->net[s])->stage != (AgfMtcnnStage)s) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "face detector: %s holds the %s, but the %s was expected "
                  "there", agf_weights_path(w[s]),
                  agf_mtcnn_stage_name(agf_mtcnn_config(det->net[s])->stage),
                  agf_mtcnn_stage_name((AgfMtcnnStage)s));
      return NULL;
    }
  }
  det->dev = agf_weights_device(pnet);
  det->dtype = agf_weights_dtype(pnet);
  return g_steal_pointer(&det);
}

AgfFaceDetector *agf_face_detector_open(const char *dir, AgfDevice *dev,
                                        GError **error)
{
  static const char *const names[3] = { "pnet", "rnet", "onet" };
  AgfWeights *w[3] = { NULL, NULL, NULL };
  AgfFaceDetector *det = NULL;
  for (int s = 0; s < 3; s++) {
    g_autofree char *path = dir
      ? g_strdup_printf("%s/%s.safetensors", dir, names[s])
      : agf_face_model_path(names[s], error);
    if (!path || !(w[s] = agf_weights_open(path, dev, AGF_F32, error)))
      break;
  }
  if (w[2])
    det = agf_face_detector_new(w[0], w[1], w[2], error);
  for (int s = 0; s < 3; s++)
    if (w[s])
      agf_weights_unref(w[s]);
  return det;
}

void agf_face_detector_free(AgfFaceDetector *det)
{
  if (!det)
    return;
  for (int s = 0; s < 3; s++)
    agf_mtcnn_free(det->net[s]);
  g_free(det);
}

AgfDevice *agf_face_detector_device(const AgfFaceDetector *det)
{
  return det->dev;
}

/* ---- stages ---- */

/* The frame normalised and transposed: [1, 3, W, H]. */
static AgfTensor *frame_to_input(AgfFaceDetector *det, const AgfTensor *frame,
                                 GError **error)
{
  static const float mean[3] = { 127.5f / 255, 127.5f / 255, 127.5f / 255 };
  static const float std[3] = { 128.0f / 255, 128.0f / 255, 128.0f / 255 };
  g_autoptr(AgfTensor) x = agf_image_to_tensor(frame, mean, std, error);
  if (!x)
    return NULL;
  g_autoptr(AgfTensor) xt =
    agf_tensor_permute(x, (int[]){ 0, 1, 3, 2 }, error);
  if (!xt)
    return NULL;
  g_autoptr(AgfTensor) dense = agf_tensor_contiguous(xt, error);
  if (!dense)
    return NULL;
  return agf_tensor_cast(dense, det->dtype, error);
}

/* P-Net over the pyramid; appends every crop source to levels and returns
 * the regressed, squared, truncated candidates. */
static GArray *stage_pnet(AgfFaceDetector *det, AgfTensor *xt, int W, int H,
                          const AgfFaceDetectParams *p, GArray *levels,
                          GError **error)
{
  double scales[MAX_SCALES];
  int n_scales = agf_face_pyramid_scales(W, H, p->min_face_size,
                                         p->scale_factor, scales,
                                         MAX_SCALES);
  /* min_face_size < 12 enlarges the frame: refuse absurd first levels. */
  if (n_scales > 0 && W * scales[0] * H * scales[0] > 64e6) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face detection: min_face_size %g on a %dx%d frame needs a "
                "%.0fx%.0f pyramid level; raise min_face_size (12 keeps "
                "the frame's size)", p->min_face_size, W, H,
                ceil(W * scales[0]), ceil(H * scales[0]));
    return NULL;
  }
  g_autoptr(GPtrArray) probs =
    g_ptr_array_new_with_free_func((GDestroyNotify)agf_tensor_unref);
  g_autoptr(GPtrArray) regs =
    g_ptr_array_new_with_free_func((GDestroyNotify)agf_tensor_unref);
  Level base = { agf_tensor_ref(xt), 1.0, 1.0 };
  g_array_append_val(levels, base);
  AgfTensor *cur = xt;
  /* Queue every level's work first, read back after (one device sync). */
  for (int k = 0; k < n_scales; k++) {
    int lw = (int)ceil(W * scales[k]), lh = (int)ceil(H * scales[k]);
    while (cur->shape[2] >= 2 * lw && cur->shape[3] >= 2 * lh) {
      Level half = { NULL, 0, 0 };
      int hw = (int)((cur->shape[2] + 1) / 2);
      int hh = (int)((cur->shape[3] + 1) / 2);
      half.t = agf_resize_bilinear(cur, hw, hh, FALSE, error);
      if (!half.t)
        return NULL;
      half.sx = (double)hw / W;
      half.sy = (double)hh / H;
      g_array_append_val(levels, half);
      cur = half.t;
    }
    Level lv = { NULL, (double)lw / W, (double)lh / H };
    lv.t = agf_resize_bilinear(cur, lw, lh, FALSE, error);
    if (!lv.t)
      return NULL;
    g_array_append_val(levels, lv);
    cur = lv.t;
    AgfTensor *prob = NULL, *reg = NULL;
    if (!agf_mtcnn_forward(det->net[0], lv.t, &prob, &reg, NULL, error))
      return NULL;
    g_ptr_array_add(probs, prob);
    g_ptr_array_add(regs, reg);
  }

  g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(Cand));
  for (int k = 0; k < n_scales; k++) {
    const AgfTensor *prob = probs->pdata[k], *reg = regs->pdata[k];
    int mw = (int)prob->shape[2], mh = (int)prob->shape[3];
    gsize plane = (gsize)mw * mh;
    g_autofree float *pr = g_new(float, 2 * plane);
    g_autofree float *rg = g_new(float, 4 * plane);
    if (!agf_tensor_to_f32(prob, pr, error) ||
        !agf_tensor_to_f32(reg, rg, error))
      return NULL;
    double s = scales[k];
    g_autoptr(GArray) level = g_array_new(FALSE, FALSE, sizeof(Cand));
    /* Transposed map: element (i, j) is the cell at image x i, y j. */
    for (int i = 0; i < mw; i++)
      for (int j = 0; j < mh; j++) {
        gsize at = (gsize)i * mh + j;
        float score = pr[plane + at];
        if (!(score >= p->threshold[0]))
          continue;
        Cand c = { 0 };
        c.x1 = trunc((PNET_STRIDE * i + 1) / s);
        c.y1 = trunc((PNET_STRIDE * j + 1) / s);
        c.x2 = trunc((PNET_STRIDE * i + PNET_CELL) / s);
        c.y2 = trunc((PNET_STRIDE * j + PNET_CELL) / s);
        c.score = score;
        for (int r = 0; r < 4; r++)
          c.reg[r] = rg[r * plane + at];
        g_array_append_val(level, c);
      }
    g_autoptr(GArray) kept = nms_cands(level, p->nms[0], FALSE, G_MAXINT);
    g_array_append_vals(all, kept->data, kept->len);
  }
  GArray *out = nms_cands(all, p->nms[1], FALSE, p->max_candidates);
  for (guint i = 0; i < out->len; i++) {
    Cand *c = &g_array_index(out, Cand, i);
    regress(c, 0.0);
    make_square(c);
    truncate_box(c);
  }
  return out;
}

/* The size x size transposed crops of the candidates (1-based inclusive
 * boxes), each from the coarsest level still as fine as the crop. */
static AgfTensor *crop_batch(GArray *levels, const GArray *cands, int size,
                             GError **error)
{
  int n = (int)cands->len;
  g_autofree const AgfTensor **src = g_new(const AgfTensor *, n);
  g_autofree double (*m)[2][3] = g_malloc0_n(n, sizeof(double[2][3]));
  for (int k = 0; k < n; k++) {
    const Cand *c = &g_array_index(cands, Cand, k);
    double bw = c->x2 - c->x1 + 1, bh = c->y2 - c->y1 + 1;
    const Level *best = &g_array_index(levels, Level, 0);
    for (guint l = 1; l < levels->len; l++) {
      const Level *lv = &g_array_index(levels, Level, l);
      if (bw * lv->sx >= size && bh * lv->sy >= size && lv->sx < best->sx)
        best = lv;
    }
    src[k] = best->t;
    /* Output (ox, oy) = crop (row, column); input (col, row) = level
     * (y, x) with level x = (image x + 0.5) sx - 0.5. */
    double x0 = c->x1 - 1, y0 = c->y1 - 1;
    m[k][0][0] = bh * best->sy / size;
    m[k][0][2] = (y0 + 0.5 * bh / size) * best->sy - 0.5;
    m[k][1][1] = bw * best->sx / size;
    m[k][1][2] = (x0 + 0.5 * bw / size) * best->sx - 0.5;
  }
  return agf_face_warp_crops(src, (const double (*)[2][3])m, n, size, size,
                             BLACK, error);
}

/* Drops boxes with no area (the reference gives up on them). */
static void drop_empty(GArray *c)
{
  for (guint i = c->len; i-- > 0;) {
    const Cand *k = &g_array_index(c, Cand, i);
    if (!(k->x2 - k->x1 + 1 >= 1 && k->y2 - k->y1 + 1 >= 1) ||
        !isfinite(k->x1 + k->x2 + k->y1 + k->y2))
      g_array_remove_index(c, i);
  }
}

/* R-Net (stage 1) or O-Net (stage 2) on the candidates. */
static GArray *stage_refine(AgfFaceDetector *det, int stage, GArray *levels,
                            GArray *cands, const AgfFaceDetectParams *p,
                            GError **error)
{
  drop_empty(cands);
  int n = (int)cands->len;
  if (n == 0)
    return g_array_new(FALSE, FALSE, sizeof(Cand));
  int size = agf_mtcnn_config(det->net[stage])->input_size;
  g_autoptr(AgfTensor) crops = crop_batch(levels, cands, size, error);
  if (!crops)
    return NULL;
  g_autoptr(AgfTensor) prob = NULL, reg = NULL, lmk = NULL;
  if (!agf_mtcnn_forward(det->net[stage], crops, &prob, &reg,
                         stage == 2 ? &lmk : NULL, error))
    return NULL;
  g_autofree float *pr = g_new(float, 2 * n);
  g_autofree float *rg = g_new(float, 4 * n);
  g_autofree float *lm = stage == 2 ? g_new(float, 10 * n) : NULL;
  if (!agf_tensor_to_f32(prob, pr, error) ||
      !agf_tensor_to_f32(reg, rg, error) ||
      (lm && !agf_tensor_to_f32(lmk, lm, error)))
    return NULL;
  g_autoptr(GArray) pass = g_array_new(FALSE, FALSE, sizeof(Cand));
  for (int k = 0; k < n; k++) {
    if (!(pr[2 * k + 1] > p->threshold[stage]))
      continue;
    Cand c = g_array_index(cands, Cand, k);
    c.score = pr[2 * k + 1];
    memcpy(c.reg, (double[4]){ rg[4 * k], rg[4 * k + 1], rg[4 * k + 2],
                               rg[4 * k + 3] }, sizeof c.reg);
    if (lm) {
      double w = c.x2 - c.x1 + 1, h = c.y2 - c.y1 + 1;
      for (int j = 0; j < 5; j++) {
        c.lm[j] = (float)(w * lm[10 * k + j] + c.x1 - 1);
        c.lm[5 + j] = (float)(h * lm[10 * k + 5 + j] + c.y1 - 1);
      }
    }
    g_array_append_val(pass, c);
  }
  if (stage == 1) {
    GArray *out = nms_cands(pass, p->nms[2], FALSE, p->max_candidates);
    for (guint i = 0; i < out->len; i++) {
      Cand *c = &g_array_index(out, Cand, i);
      regress(c, 1.0);
      make_square(c);
      truncate_box(c); /* the reference truncates before O-Net's crops */
    }
    return out;
  }
  for (guint i = 0; i < pass->len; i++)
    regress(&g_array_index(pass, Cand, i), 1.0);
  return nms_cands(pass, p->nms[3], TRUE, G_MAXINT);
}

static int by_area_desc(const void *a, const void *b)
{
  const AgfFace *f = a, *g = b;
  double af = (double)(f->x2 - f->x1 + 1) * (f->y2 - f->y1 + 1);
  double ag = (double)(g->x2 - g->x1 + 1) * (g->y2 - g->y1 + 1);
  if (af != ag)
    return af > ag ? -1 : 1;
  return (f->score < g->score) - (f->score > g->score);
}

GArray *agf_face_detect(AgfFaceDetector *det, const AgfTensor *frame,
                        const AgfFaceDetectParams *params, GError **error)
{
  AgfFaceDetectParams defaults;
  agf_face_detect_params_init(&defaults);
  const AgfFaceDetectParams *p = params ? params : &defaults;
  if (!agf_face_detect_params_check(p, error))
    return NULL;
  if (frame == NULL || frame->dtype != AGF_U8 || frame->ndim != 4 ||
      frame->shape[0] != 1 || (frame->shape[3] != 3 && frame->shape[3] != 4)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "face detection: the frame must be one u8 RGB(A) image [1, "
                "H, W, 3 or 4] (agf_image_upload makes one)");
    return NULL;
  }
  if (frame->dev != det->dev) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face detection: the frame is on %s but the detector on %s; "
                "upload the frame to the detector's device",
                agf_device_info(frame->dev)->spec,
                agf_device_info(det->dev)->spec);
    return NULL;
  }
  int H = (int)frame->shape[1], W = (int)frame->shape[2];
  GArray *faces = g_array_new(FALSE, FALSE, sizeof(AgfFace));
  if (MIN(W, H) < PNET_CELL)
    return faces;

  g_autoptr(GArray) levels = g_array_new(FALSE, FALSE, sizeof(Level));
  g_autoptr(GArray) c1 = NULL, c2 = NULL, c3 = NULL;
  g_autoptr(AgfTensor) xt = frame_to_input(det, frame, error);
  if (xt)
    c1 = stage_pnet(det, xt, W, H, p, levels, error);
  if (c1)
    c2 = stage_refine(det, 1, levels, c1, p, error);
  if (c2)
    c3 = stage_refine(det, 2, levels, c2, p, error);
  for (guint i = 0; i < levels->len; i++)
    agf_tensor_unref(g_array_index(levels, Level, i).t);
  if (!c3) {
    g_array_unref(faces);
    return NULL;
  }
  for (guint i = 0; i < c3->len; i++) {
    const Cand *c = &g_array_index(c3, Cand, i);
    AgfFace f = { .x1 = (float)(c->x1 - 1), .y1 = (float)(c->y1 - 1),
                  .x2 = (float)(c->x2 - 1), .y2 = (float)(c->y2 - 1),
                  .score = (float)c->score };
    for (int j = 0; j < 5; j++) {
      f.landmarks[j][0] = c->lm[j];
      f.landmarks[j][1] = c->lm[5 + j];
    }
    g_array_append_val(faces, f);
  }
  g_array_sort(faces, by_area_desc);
  return faces;
}
