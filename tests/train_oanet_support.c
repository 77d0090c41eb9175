/* Helpers of test_train_oanet.c (train_oanet_support.h). */
#include "train_oanet_support.h"
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include "io/image.h"
#include "io/manifest.h"
#include "io/safetensors.h"

/* A face of s x s pixels (the pattern scales with s). */
static void make_face(GRand *r, int domain, gboolean spoof, int s,
                      guint8 *rgba, float *cue)
{
  const double k = s / 64.0;
  static const float cast[2][3] = { { 0.25f, 0.0f, -0.2f },
                                    { -0.2f, 0.05f, 0.25f } };
  const double cx = g_rand_double_range(r, 26, 38) * k;
  const double cy = g_rand_double_range(r, 26, 38) * k;
  const double level = g_rand_double_range(r, 0.35, 0.65);
  const double freq = g_rand_double_range(r, 0.6, 1.2) / k;
  const double phase = g_rand_double_range(r, 0, 2 * G_PI);
  for (int y = 0; y < s; y++)
    for (int x = 0; x < s; x++) {
      const double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy) * 0.7) /
                        (20.0 * 20.0 * k * k);
      const double face = level + 0.3 * exp(-d2);
      const double stripes = sin(freq * x + phase) * sin(freq * 0.7 * y);
      for (int c = 0; c < 3; c++) {
        double v = face + cast[domain][c] + (spoof ? 0.06 * stripes : 0.0) +
                   g_rand_double_range(r, -0.02, 0.02);
        rgba[(y * s + x) * 4 + c] = (guint8)CLAMP(lround(v * 255.0), 0, 255);
        cue[(c * s + y) * s + x] =
          (float)((spoof ? 1.5 * stripes : 0.0) +
                  g_rand_double_range(r, -0.3, 0.3));
      }
      rgba[(y * s + x) * 4 + 3] = 255;
    }
}

char *ssdg_make_set(const char *root, const char *name, int per_pool,
                    guint32 seed, int size)
{
  g_autofree char *dir = g_build_filename(root, name, NULL);
  g_autofree char *crops = g_build_filename(dir, "crops", NULL);
  g_autofree char *cues = g_build_filename(dir, "cues", NULL);
  g_assert_cmpint(g_mkdir_with_parents(crops, 0755), ==, 0);
  g_assert_cmpint(g_mkdir_with_parents(cues, 0755), ==, 0);
  g_autoptr(GRand) r = g_rand_new_with_seed(seed);
  g_autoptr(AgfManifest) m = agf_manifest_new(dir);
  g_autoptr(AgfImage) img = agf_image_new(size, size, 4, NULL);
  g_autofree float *cue = g_new(float, 3 * (gsize)size * size);
  static const char *const domains[2] = { "alpha", "beta" };
  GError *error = NULL;
  for (int d = 0; d < 2; d++)
    for (int spoof = 0; spoof < 2; spoof++)
      for (int i = 0; i < per_pool; i++) {
        make_face(r, d, spoof, size, img->pixels, cue);
        g_autofree char *stem = g_strdup_printf("%s-%s-%02d", domains[d],
                                                spoof ? "spoof" : "live", i);
        g_autofree char *crop = g_strdup_printf("crops/%s.png", stem);
        g_autofree char *cue_rel = g_strdup_printf("cues/%s.safetensors",
                                                   stem);
        g_autofree char *crop_abs = g_build_filename(dir, crop, NULL);
        g_autofree char *cue_abs = g_build_filename(dir, cue_rel, NULL);
        g_assert_true(agf_image_save_png(img, crop_abs, &error));
        g_assert_no_error(error);
        g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
        agf_safetensors_writer_set_meta(w, "format", "agfas-cue-1");
        const int64_t shape[4] = { 1, 3, size, size };
        g_assert_true(agf_safetensors_writer_add(w, "cue", AGF_ST_F32, 4,
                                                 shape, cue, &error) &&
                      agf_safetensors_writer_write(w, cue_abs, &error));
        g_assert_no_error(error);
        AgfManifestRecord *rec = agf_manifest_record_new();
        rec->path = g_strdup_printf("media/%s.jpg", stem);
        rec->label = spoof ? AGF_LABEL_SPOOF : AGF_LABEL_LIVE;
        rec->attack = g_strdup(spoof ? "print" : "none");
        rec->domain = g_strdup(domains[d]);
        rec->video = g_strdup(stem);
        rec->crop = g_steal_pointer(&crop);
        rec->status = g_strdup("ok");
        agf_manifest_record_set_extra(rec, "cue", cue_rel);
        agf_manifest_add(m, rec);
      }
  char *path = g_build_filename(dir, "manifest.jsonl", NULL);
  g_assert_true(agf_manifest_save(m, path, AGF_MANIFEST_JSONL, &error));
  g_assert_no_error(error);
  return path;
}

/* ---- a protocol ---- */

char *ssdg_write_protocol(const char *root, const char *train_manifest,
                          const char *val_manifest)
{
  g_autofree char *dir = g_build_filename(root, "proto", NULL);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  static const char *const domains[2] = { "alpha", "beta" };
  GError *error = NULL;
  for (int d = 0; d < 2; d++) {
    g_autoptr(AgfManifest) out = agf_manifest_new(dir);
    const char *sets[2] = { train_manifest, val_manifest };
    for (int k = 0; k < 2; k++) {
      g_autoptr(AgfManifest) in = agf_manifest_load(sets[k], &error);
      g_assert_no_error(error);
      for (guint i = 0; i < agf_manifest_len(in); i++) {
        const AgfManifestRecord *r = agf_manifest_get(in, i);
        if (strcmp(r->domain, domains[d]))
          continue;
        AgfManifestRecord *c = agf_manifest_record_copy(r);
        g_free(c->crop);
        c->crop = agf_manifest_resolve(in, r->crop);
        g_autofree char *cue = agf_manifest_resolve(
          in, agf_manifest_record_get_extra(r, "cue"));
        agf_manifest_record_set_extra(c, "cue", cue);
        c->split = g_strdup(k ? "val" : "train");
        agf_manifest_add(out, c);
      }
    }
    g_autofree char *name = g_strdup_printf("%s.jsonl", domains[d]);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_assert_true(agf_manifest_save(out, path, AGF_MANIFEST_JSONL, &error));
    g_assert_no_error(error);
  }
  static const char text[] =
    "{\"format\": \"agfas-protocol-1\", \"name\": \"AB-X\", "
    "\"title\": \"A&B -> X\", \"datasets\": {"
    "\"A\": {\"manifest\": \"alpha.jsonl\", \"domain\": \"RA\"}, "
    "\"B\": {\"manifest\": \"beta.jsonl\", \"domain\": \"NUAA\"}, "
    "\"X\": {\"manifest\": \"${AGFAS_TEST_UNSET_TARGET}\"}}, "
    "\"sources\": [\"A\", \"B\"], \"target\": \"X\"}\n";
  char *path = g_build_filename(dir, "ab-x.json", NULL);
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_assert_no_error(error);
  return path;
}

/* ---- running agfas-train ---- */

SsdgRun ssdg_run(const char *line, char **env)
{
  g_auto(GStrv) words = g_strsplit(line, " ", -1);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (char *)g_getenv("AGFAS_TRAIN"));
  for (char **w = words; *w; w++)
    if (**w)
      g_ptr_array_add(argv, *w);
  g_ptr_array_add(argv, NULL);
  SsdgRun r = { 0 };
  GError *error = NULL;
  int wait;
  g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, env,
                             G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                             &wait, &error));
  g_assert_no_error(error);
  r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : -1;
  return r;
}

void ssdg_expect(SsdgRun *r, int status, const char *needle)
{
  if (r->status != status || (needle && !strstr(r->err, needle)))
    g_error("agfas-train exited %d (want %d%s%s)\nstdout: %s\nstderr: %s",
            r->status, status, needle ? " saying " : "", needle ? needle : "",
            r->out, r->err);
  g_clear_pointer(&r->out, g_free);
  g_clear_pointer(&r->err, g_free);
}

/* ---- JSON ---- */

GPtrArray *ssdg_read_jsonl(const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  GPtrArray *out =
    g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l)
      continue;
    GError *error = NULL;
    JsonNode *n = json_from_string(*l, &error);
    g_assert_no_error(error);
    g_ptr_array_add(out, n);
  }
  return out;
}

JsonNode *ssdg_read_json(const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  GError *error = NULL;
  JsonNode *n = json_from_string(text, &error);
  g_assert_no_error(error);
  return n;
}

double ssdg_member(JsonNode *n, const char *name)
{
  JsonObject *o = json_node_get_object(n);
  g_assert_true(json_object_has_member(o, name));
  return json_object_get_double_member(o, name);
}
