/* The export unit (app/agfas-export.h), headless: composed and per-panel
 * PNGs, cue tensors as safetensors, score tables as CSV and JSON, and a
 * failed write that leaves no temporary file. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "agfas-export.h"
#include "app_support.h"
#include "io/safetensors.h"
#include "nn/error.h"

static char *tmp_dir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("agfas-export-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

/* A solid-colour panel with a diagonal stripe so scaling is visible. */
static AgfImage *panel(int w, int h, guint8 r, guint8 g, guint8 b)
{
  GError *error = NULL;
  AgfImage *img = agf_image_new(w, h, 4, &error);
  g_assert_no_error(error);
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      guint8 *p = img->pixels + (size_t)y * img->stride + (size_t)x * 4;
      gboolean stripe = abs(x * h / w - y) < h / 16;
      p[0] = stripe ? 255 : r;
      p[1] = stripe ? 255 : g;
      p[2] = stripe ? 255 : b;
      p[3] = 255;
    }
  }
  return img;
}

typedef struct {
  AgfImage *img[AGFAS_N_PANELS];
  AgfasExportPanels p;
} Fixture;

static void fixture_init(Fixture *f, gboolean with_recon)
{
  f->img[AGFAS_PANEL_INPUT] = panel(640, 480, 40, 90, 200);
  f->img[AGFAS_PANEL_RECON] = with_recon ? panel(256, 256, 200, 60, 40) : NULL;
  f->img[AGFAS_PANEL_HEAT] = panel(256, 256, 60, 200, 60);
  f->img[AGFAS_PANEL_CUE] = panel(256, 256, 200, 200, 40);
  agfas_export_panels_init(&f->p);
  for (int k = 0; k < AGFAS_N_PANELS; k++)
    f->p.panels[k] = f->img[k];
  f->p.notes[AGFAS_PANEL_RECON] = "No DFG model installed; run agfas-train "
                                  "import to get one";
  f->p.has_box = TRUE;
  f->p.face_detected = TRUE;
  f->p.box[0] = 220, f->p.box[1] = 120, f->p.box[2] = 420, f->p.box[3] = 380;
  f->p.has_landmarks = TRUE;
  const float lm[AGF_FACE_N_LANDMARKS][2] = {
      {280, 210}, {360, 210}, {320, 260}, {290, 320}, {350, 320}};
  memcpy(f->p.landmarks, lm, sizeof lm);
  f->p.has_score = TRUE;
  f->p.score = 0.873;
  f->p.threshold = 0.5;
  f->p.source = "/data/faces/print_attack_01.jpg";
}

static void fixture_clear(Fixture *f)
{
  for (int k = 0; k < AGFAS_N_PANELS; k++)
    g_clear_pointer(&f->img[k], agf_image_free);
}

static const guint8 *px(const AgfImage *img, int x, int y)
{
  return img->pixels + (size_t)y * img->stride + (size_t)x * 4;
}

/* Count of pixels in a rectangle that differ from the page background. */
static int non_background(const AgfImage *img, int x0, int y0, int x1, int y1)
{
  int n = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const guint8 *p = px(img, x, y);
      n += !(p[0] == 250 && p[1] == 250 && p[2] == 250);
    }
  return n;
}

static void test_composite(void)
{
  Fixture f;
  fixture_init(&f, TRUE);
  g_autofree char *dir = tmp_dir();
  g_autofree char *path = g_build_filename(dir, "analysis.png", NULL);
  GError *error = NULL;
  g_assert_true(agfas_export_composite_png(&f.p, path, &error));
  g_assert_no_error(error);

  g_autoptr(AgfImage) img = agf_image_load(path, &error);
  g_assert_no_error(error);
  /* 320-pixel cells: the 4:3 input is 427 wide, the squares 320. */
  const int margin = 16, header = 44, title = 28, cell = 320;
  g_assert_cmpint(img->width, ==, margin + 427 + 3 * (320 + margin) + margin);
  g_assert_cmpint(img->height, ==, margin + header + title + cell + margin);
  /* Header: text and the red SPOOF badge at the right end. */
  g_assert_cmpint(non_background(img, margin, margin, img->width / 2,
                                 margin + header - 8), >, 100);
  const guint8 *badge = px(img, img->width - margin - 8, margin + 8);
  g_assert_cmpint(badge[0], >, 150);
  g_assert_cmpint(badge[1], <, 60);
  /* Titles above the panels. */
  int top = margin + header, y = top + title;
  g_assert_cmpint(non_background(img, margin, top, margin + 427, y), >, 50);
  /* Panel centres away from the stripe keep their colours. */
  const guint8 *in = px(img, margin + 20, y + cell - 20);
  g_assert_cmpint(in[2], >, 180);
  g_assert_cmpint(in[0], <, 60);
  int x_recon = margin + 427 + margin;
  const guint8 *re = px(img, x_recon + 20, y + cell - 20);
  g_assert_cmpint(re[0], >, 180);
  g_assert_cmpint(re[2], <, 60);
  const guint8 *heat = px(img, x_recon + 2 * (cell + margin) - 300, y + 250);
  g_assert_cmpint(heat[1], >, 180);
  /* Face box edge (green) on the input: x1 = 220 * 427 / 640. */
  double s = 320.0 / 480.0;
  const guint8 *edge = px(img, margin + (int)(220 * s + 0.5),
                          y + (int)(250 * s));
  g_assert_cmpint(edge[1], >, 150);
  g_assert_cmpint(edge[0], <, 120);
  g_test_message("composed PNG: %s", path);
  if (g_getenv("AGFAS_EXPORT_KEEP")) {
    g_autofree char *keep = g_build_filename(g_getenv("AGFAS_EXPORT_KEEP"),
                                             "analysis.png", NULL);
    g_assert_true(agf_image_save_png(img, keep, &error));
  }

  /* A missing panel becomes a grey box with its note; no score: no badge. */
  g_clear_pointer(&f.img[AGFAS_PANEL_RECON], agf_image_free);
  f.p.panels[AGFAS_PANEL_RECON] = NULL;
  f.p.has_score = FALSE;
  f.p.score_note = "No OA-Net installed";
  g_autoptr(AgfImage) img2 = agfas_export_compose(&f.p, 0, &error);
  g_assert_no_error(error);
  const guint8 *grey = px(img2, x_recon + 4, y + 4);
  g_assert_cmpint(grey[0], ==, grey[1]);
  g_assert_cmpint(grey[0], >, 200);
  g_assert_cmpint(grey[0], <, 240);
  int dark = 0;
  for (int yy = y; yy < y + cell; yy++)
    for (int xx = x_recon; xx < x_recon + cell; xx++)
      dark += px(img2, xx, yy)[0] < 128;
  g_assert_cmpint(dark, >, 50); /* the note's text */
  const guint8 *nobadge = px(img2, img2->width - margin - 8, margin + 8);
  g_assert_cmpint(nobadge[0], ==, 250);
  if (g_getenv("AGFAS_EXPORT_KEEP")) {
    g_autofree char *keep = g_build_filename(g_getenv("AGFAS_EXPORT_KEEP"),
                                             "analysis-missing.png", NULL);
    g_assert_true(agf_image_save_png(img2, keep, &error));
  }
  fixture_clear(&f);
  app_test_remove_tree(dir);
}

static void test_panels(void)
{
  Fixture f;
  fixture_init(&f, FALSE);
  g_autofree char *dir = tmp_dir();
  g_autofree char *out = g_build_filename(dir, "panels", "nested", NULL);
  GError *error = NULL;
  g_assert_true(agfas_export_panel_pngs(&f.p, out, "frame0007", &error));
  g_assert_no_error(error);
  for (int k = 0; k < AGFAS_N_PANELS; k++) {
    g_autofree char *name =
        g_strdup_printf("frame0007-%s.png", agfas_panel_slug(k));
    g_autofree char *path = g_build_filename(out, name, NULL);
    if (!f.img[k]) {
      g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
      continue;
    }
    g_autoptr(AgfImage) img = agf_image_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, f.img[k]->width);
    g_assert_cmpint(img->height, ==, f.img[k]->height);
    g_assert_cmpmem(img->pixels, (gsize)img->height * img->stride,
                    f.img[k]->pixels, (gsize)img->height * img->stride);
  }
  /* No panel at all: a clear error. */
  AgfasExportPanels empty;
  agfas_export_panels_init(&empty);
  g_assert_false(agfas_export_panel_pngs(&empty, out, "x", &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  fixture_clear(&f);
  app_test_remove_tree(dir);
}

static void test_from_result(void)
{
  AgfasAnalysisResult r = {0};
  guint8 *rgba = g_malloc0(8 * 6 * 4);
  rgba[0] = 77;
  r.input = (AgfasPixels){8, 6, g_bytes_new_take(rgba, 8 * 6 * 4)};
  r.dfg_note = g_strdup("No DFG model");
  r.has_score = TRUE;
  r.score = 0.25;
  AgfImage views[AGFAS_N_PANELS];
  AgfasExportPanels p;
  agfas_export_panels_from_result(&p, &r, views, "a.png");
  g_assert_nonnull(p.panels[AGFAS_PANEL_INPUT]);
  g_assert_cmpint(p.panels[AGFAS_PANEL_INPUT]->width, ==, 8);
  g_assert_cmpint(p.panels[AGFAS_PANEL_INPUT]->pixels[0], ==, 77);
  g_assert_null(p.panels[AGFAS_PANEL_RECON]);
  g_assert_cmpstr(p.notes[AGFAS_PANEL_CUE], ==, "No DFG model");
  g_assert_cmpstr(agfas_export_verdict(p.score, p.threshold), ==, "LIVE");
  GError *error = NULL;
  g_autoptr(AgfImage) img = agfas_export_compose(&p, 64, &error);
  g_assert_no_error(error);
  g_assert_cmpint(img->height, ==, 16 + 44 + 28 + 64 + 16);
  g_bytes_unref(r.input.rgba);
  g_free(r.dfg_note);
}

static void test_cue_tensors(void)
{
  const int C = 3, H = 5, W = 7, n = C * H * W;
  float *res = g_new(float, n), *cue = g_new(float, n), *rec = g_new(float, n);
  for (int i = 0; i < n; i++) {
    res[i] = (float)(i % 11) / 10.0f - 0.5f;
    cue[i] = res[i] * 3.0f;
    rec[i] = 1.0f - (float)i / n;
  }
  AgfasExportCue c = {C, H, W, res, cue, rec, "pndm", 0.3, 50,
                      G_GUINT64_CONSTANT(18446744073709551557),
                      "/data/in.jpg"};
  g_autofree char *dir = tmp_dir();
  g_autofree char *path = g_build_filename(dir, "cue.safetensors", NULL);
  GError *error = NULL;
  g_assert_true(agfas_export_cue_tensors(&c, path, &error));
  g_assert_no_error(error);

  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_safetensors_n_tensors(st), ==, 3);
  const int64_t shape[4] = {1, C, H, W};
  const float *want[3] = {res, cue, rec};
  const char *names[3] = {"residual", "cue", "recon"};
  for (int i = 0; i < 3; i++) {
    g_autofree float *got =
        agf_safetensors_read_f32(st, names[i], 4, shape, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(got, n * sizeof(float), want[i], n * sizeof(float));
  }
  g_assert_cmpstr(agf_safetensors_meta(st, "sampler"), ==, "pndm");
  g_assert_cmpstr(agf_safetensors_meta(st, "t0"), ==, "0.29999999999999999");
  g_assert_cmpstr(agf_safetensors_meta(st, "steps"), ==, "50");
  g_assert_cmpstr(agf_safetensors_meta(st, "seed"), ==,
                  "18446744073709551557");
  g_assert_cmpstr(agf_safetensors_meta(st, "source"), ==, "/data/in.jpg");
  g_assert_cmpstr(agf_safetensors_meta(st, "format"), ==, "agfas-cue-1");

  /* Only some tensors present. */
  c.cue = c.recon = NULL;
  g_assert_true(agfas_export_cue_tensors(&c, path, &error));
  g_clear_pointer(&st, agf_safetensors_close);
  st = agf_safetensors_open(path, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_safetensors_n_tensors(st), ==, 1);
  /* Nothing to write. */
  c.residual = NULL;
  g_assert_false(agfas_export_cue_tensors(&c, path, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_free(res);
  g_free(cue);
  g_free(rec);
  app_test_remove_tree(dir);
}

static const AgfasExportRow rows[] = {
    {"/d/live 1.jpg", -1, TRUE, 0.125, "live", FALSE, {0}, NULL},
    {"/d/replay,\"2\".mp4", 3, TRUE, 0.75, "replay", FALSE, {0}, NULL},
    {"/d/x.png", -1, FALSE, 0, NULL, FALSE, {0}, NULL},
    {"/d/tab\nline.png", 0, TRUE, 0.5, "unsure", FALSE, {0}, NULL},
    {"/d/v.mp4", 12, FALSE, 0, NULL, TRUE, {1, 2.5, 30, 40}, "no face: x"},
};

static void test_csv(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *path = g_build_filename(dir, "scores.csv", NULL);
  GError *error = NULL;
  g_assert_true(
      agfas_export_scores_csv(rows, G_N_ELEMENTS(rows), 0.5, path, &error));
  g_assert_no_error(error);
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, &error));
  g_assert_cmpstr(text, ==,
                  "path,frame,x1,y1,x2,y2,score,verdict,label,note\r\n"
                  "/d/live 1.jpg,,,,,,0.125000,live,live,\r\n"
                  "\"/d/replay,\"\"2\"\".mp4\",3,,,,,0.750000,spoof,replay,\r\n"
                  "/d/x.png,,,,,,,,,\r\n"
                  "\"/d/tab\nline.png\",0,,,,,0.500000,spoof,unsure,\r\n"
                  "/d/v.mp4,12,1.0,2.5,30.0,40.0,,,,no face: x\r\n");
  app_test_remove_tree(dir);
}

static void test_json(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *path = g_build_filename(dir, "scores.json", NULL);
  GError *error = NULL;
  g_assert_true(
      agfas_export_scores_json(rows, G_N_ELEMENTS(rows), 0.5, path, &error));
  g_assert_no_error(error);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, path, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpfloat(json_object_get_double_member(root, "threshold"), ==, 0.5);
  JsonArray *res = json_object_get_array_member(root, "results");
  g_assert_cmpuint(json_array_get_length(res), ==, G_N_ELEMENTS(rows));
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    JsonObject *o = json_array_get_object_element(res, i);
    g_assert_cmpstr(json_object_get_string_member(o, "path"), ==,
                    rows[i].path);
    if (rows[i].frame >= 0)
      g_assert_cmpint(json_object_get_int_member(o, "frame"), ==,
                      rows[i].frame);
    else
      g_assert_true(json_object_get_null_member(o, "frame"));
    if (rows[i].has_score) {
      g_assert_cmpfloat(json_object_get_double_member(o, "score"), ==,
                        rows[i].score);
      g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==,
                      rows[i].score >= 0.5 ? "spoof" : "live");
    } else {
      g_assert_true(json_object_get_null_member(o, "score"));
      g_assert_true(json_object_get_null_member(o, "verdict"));
    }
    if (rows[i].label)
      g_assert_cmpstr(json_object_get_string_member(o, "label"), ==,
                      rows[i].label);
    else
      g_assert_true(json_object_get_null_member(o, "label"));
    if (rows[i].has_box) {
      JsonArray *box = json_object_get_array_member(o, "box");
      g_assert_cmpuint(json_array_get_length(box), ==, 4);
      for (guint k = 0; k < 4; k++)
        g_assert_cmpfloat(json_array_get_double_element(box, k), ==,
                          rows[i].box[k]);
    } else {
      g_assert_true(json_object_get_null_member(o, "box"));
    }
    if (rows[i].note)
      g_assert_cmpstr(json_object_get_string_member(o, "note"), ==,
                      rows[i].note);
    else
      g_assert_true(json_object_get_null_member(o, "note"));
  }
  app_test_remove_tree(dir);
}

static int count_entries(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  int n = 0;
  while (g_dir_read_name(d))
    n++;
  return n;
}

static void check_fails(gboolean ok, GError **error)
{
  g_assert_false(ok);
  g_assert_nonnull(*error);
  g_assert_cmpstr(g_quark_to_string((*error)->domain), !=, "");
  g_test_message("expected failure: %s", (*error)->message);
  g_clear_error(error);
}

/* Every kind of export into dir fails with a GError and leaves dir empty. */
static void write_all_fail(const char *dir)
{
  Fixture f;
  fixture_init(&f, TRUE);
  float t[3 * 2 * 2] = {0};
  AgfasExportCue c = {3, 2, 2, t, t, t, "ddim", 0.5, 10, 1, NULL};
  GError *error = NULL;
  g_autofree char *png = g_build_filename(dir, "a.png", NULL);
  g_autofree char *st = g_build_filename(dir, "a.safetensors", NULL);
  g_autofree char *csv = g_build_filename(dir, "a.csv", NULL);
  g_autofree char *json = g_build_filename(dir, "a.json", NULL);
  g_autofree char *sub = g_build_filename(dir, "panels", NULL);
  check_fails(agfas_export_composite_png(&f.p, png, &error), &error);
  check_fails(agfas_export_panel_pngs(&f.p, dir, "p", &error), &error);
  check_fails(agfas_export_panel_pngs(&f.p, sub, "p", &error), &error);
  check_fails(agfas_export_cue_tensors(&c, st, &error), &error);
  check_fails(agfas_export_scores_csv(rows, 1, 0.5, csv, &error), &error);
  check_fails(agfas_export_scores_json(rows, 1, 0.5, json, &error), &error);
  fixture_clear(&f);
}

static void test_unwritable(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *ro = g_build_filename(dir, "readonly", NULL);
  g_assert_cmpint(g_mkdir(ro, 0555), ==, 0);
  if (access(ro, W_OK) != 0) {
    write_all_fail(ro);
    g_assert_cmpint(count_entries(ro), ==, 0);
  } else {
    /* Root ignores folder modes: a "folder" that is a regular file fails
     * the same way for everyone. */
    g_test_message("running as root: using a file as the folder");
  }
  g_autofree char *file = g_build_filename(dir, "not-a-folder", NULL);
  g_assert_true(g_file_set_contents(file, "x", 1, NULL));
  write_all_fail(file);
  g_assert_cmpint(count_entries(dir), ==, 2); /* readonly + not-a-folder */
  g_assert_cmpint(count_entries(ro), ==, 0);
  g_chmod(ro, 0755);
  app_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/export/composite", test_composite);
  g_test_add_func("/export/panels", test_panels);
  g_test_add_func("/export/from-result", test_from_result);
  g_test_add_func("/export/cue-tensors", test_cue_tensors);
  g_test_add_func("/export/csv", test_csv);
  g_test_add_func("/export/json", test_json);
  g_test_add_func("/export/unwritable", test_unwritable);
  return g_test_run();
}
