/* Shape helpers shared by the weight readers (internal to engine/io). */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* "[2, 3, 17]" into buf (truncated to len); returns buf. */
char *agf_fmt_shape(int ndim, const int64_t *shape, char *buf, size_t len);
gboolean agf_shape_equal(int na, const int64_t *a, int nb, const int64_t *b);

G_END_DECLS
