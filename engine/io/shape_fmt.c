#include "io/shape_fmt.h"

char *agf_fmt_shape(int ndim, const int64_t *shape, char *buf, size_t len) {
  GString *s = g_string_new("[");
  for (int d = 0; d < ndim; d++)
    g_string_append_printf(s, d ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
                           (gint64)shape[d]);
  g_string_append_c(s, ']');
  g_strlcpy(buf, s->str, len);
  g_string_free(s, TRUE);
  return buf;
}

gboolean agf_shape_equal(int na, const int64_t *a, int nb, const int64_t *b) {
  if (na != nb)
    return FALSE;
  for (int d = 0; d < na; d++)
    if (a[d] != b[d])
      return FALSE;
  return TRUE;
}
