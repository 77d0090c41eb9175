/* Cross-domain evaluation protocols (resources/protocols/NAME.json): which
 * datasets train an OA-Net (the source domains) and which one tests it
 * (the unseen target), as in the face anti-spoofing literature's
 * leave-one-out (O&C&I->M, ...) and limited-source (M&I->C, ...) setups.
 * Datasets are named by manifest (io/manifest.h), through placeholders
 * that users point at their own copies:
 *
 *   {
 *     "format": "agfas-protocol-1",
 *     "name": "OCI-M",
 *     "title": "O&C&I -> M",
 *     "description": "leave-one-out: ...",                      (optional)
 *     "datasets": {
 *       "O": { "name": "OULU-NPU", "manifest": "${AGFAS_OULU_NPU}" },
 *       ...                                  ("domain": default the key)
 *     },
 *     "sources": ["O", "C", "I"],
 *     "target": "M",
 *     "splits": { "train": "train", "val": "val", "test": "test" } (optional)
 *   }
 *
 * splits names the manifest's split column values: sources' "train"
 * records train, their "val" records fix the threshold (eval --val), the
 * target's "test" records are scored. A placeholder ${NAME} (NAME:
 * letters, digits, '_') is replaced when a manifest path is asked for:
 * from the caller's variables, else the environment. A relative result is
 * relative to the protocol file's folder.
 *
 * Loading checks everything but the placeholders' values: unknown keys
 * (typos), missing or empty fields, undefined or repeated dataset keys, a
 * target that is also a source, malformed placeholders; each error names
 * the file and the field. */
#pragma once
#include <glib.h>
#include "io/manifest.h"

G_BEGIN_DECLS

#define AGF_PROTOCOL_FORMAT "agfas-protocol-1"

typedef struct {
  char *key;      /* "O" */
  char *name;     /* "OULU-NPU" (default: the key) */
  char *manifest; /* as written: "${AGFAS_OULU_NPU}" */
  char *domain;   /* the domain label in training (default: the key) */
} AgfProtocolDataset;

typedef struct {
  char *path;        /* the file, or the name given to parse */
  char *dir;         /* relative manifests are under it */
  char *name, *title, *description; /* description may be NULL */
  AgfProtocolDataset *datasets;
  guint n_datasets;  /* in file order */
  char **sources;    /* NULL-terminated keys, >= 1 */
  char *target;
  char *train_split, *val_split, *test_split;
} AgfProtocol;

AgfProtocol *agf_protocol_load(const char *path, GError **error);
/* The same from memory; name is used in messages, dir for relative
 * manifests (NULL: the current folder). */
AgfProtocol *agf_protocol_parse(const char *text, gsize len,
                                const char *name, const char *dir,
                                GError **error);
void agf_protocol_free(AgfProtocol *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfProtocol, agf_protocol_free)

/* The dataset of key, or NULL. */
const AgfProtocolDataset *agf_protocol_dataset(const AgfProtocol *p,
                                               const char *key);
/* Dataset key's manifest path with its placeholders replaced: from vars
 * (NAME -> value; may be NULL), else the environment. Fails for an
 * unknown key, or a placeholder with no value, naming the variable and
 * the dataset so the user knows what to set. */
char *agf_protocol_manifest(const AgfProtocol *p, const char *key,
                            GHashTable *vars, GError **error);

typedef enum {
  AGF_PROTOCOL_TRAIN, /* the sources' train_split records */
  AGF_PROTOCOL_VAL,   /* the sources' val_split records */
  AGF_PROTOCOL_TEST,  /* the target's test_split records */
} AgfProtocolRole;

/* The records of a role from the datasets' manifests (resolved as
 * agf_protocol_manifest does), in dataset order, as one manifest with
 * absolute path and crop; a record with no domain gets its dataset's.
 * Fails when a manifest cannot be read or a dataset has no record of the
 * split (the message names the dataset, the split and the splits its
 * manifest has). */
AgfManifest *agf_protocol_records(const AgfProtocol *p, AgfProtocolRole role,
                                  GHashTable *vars, GError **error);

/* The protocol files shipped in the source tree / installed, sorted by
 * name (absolute paths; g_strfreev). */
char **agf_protocol_list(void);
/* A shipped protocol by file stem or "name" ("OCI-M"); a path when
 * name_or_path names an existing file. */
AgfProtocol *agf_protocol_find(const char *name_or_path, GError **error);

G_END_DECLS
