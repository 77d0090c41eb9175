/* Helpers of test_train_oanet.c: the synthetic SSDG dataset in the format
 * a `cues` run writes, a protocol over it, running $AGFAS_TRAIN and
 * reading what it writes. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* ROOT/<name>/ with crops/ (size x size PNGs), cues/ and manifest.jsonl
 * (columns path, label, attack, domain alpha|beta, video, crop, status,
 * cue); per_pool faces per (domain, class), in the order domain, class,
 * index. Live faces are smooth with a small noisy cue, spoofs carry a
 * strong periodic cue (and a faint moire); the domains differ by a colour
 * cast. Every face is a still, its own video. Returns the manifest. */
char *ssdg_make_set(const char *root, const char *name, int per_pool,
                    guint32 seed, int size);
/* ROOT/proto/ab-x.json: datasets A (domain RA) and B (domain NUAA) whose
 * manifests hold the alpha / beta faces of train (split train) and val
 * (split val), paths absolute; target X. Returns the protocol file. */
char *ssdg_write_protocol(const char *root, const char *train,
                          const char *val);

typedef struct {
  int status; /* exit status, -1 when killed */
  char *out, *err;
} SsdgRun;

/* $AGFAS_TRAIN with the words of line (split at spaces) and env (NULL:
 * this process's). */
SsdgRun ssdg_run(const char *line, char **env);
/* Fails the test (showing the output) unless r exited with status and,
 * when needle is not NULL, printed it on stderr; frees r's output. */
void ssdg_expect(SsdgRun *r, int status, const char *needle);

/* The objects of a JSONL file; a whole JSON file; a number member. */
GPtrArray *ssdg_read_jsonl(const char *path);
JsonNode *ssdg_read_json(const char *path);
double ssdg_member(JsonNode *n, const char *name);

G_END_DECLS
