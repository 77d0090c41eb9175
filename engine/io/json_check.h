/* A strict RFC 8259 syntax check run before json-glib sees a header:
 * json-glib accepts comments and single quotes, and recurses once per
 * nesting level (a header of a million '[' overflows the stack). */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* TRUE when s[0..n) is one JSON value nested at most max_depth deep.
 * Otherwise FALSE with a short reason and the byte offset it was found
 * at. Does not check UTF-8 (g_utf8_validate does). */
gboolean agf_json_check(const char *s, size_t n, int max_depth,
                        const char **why, size_t *at);

G_END_DECLS
