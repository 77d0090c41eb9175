/* Iterative (no recursion), so any input runs in constant stack. */
#include "io/json_check.h"

#include <string.h>

typedef struct {
  const char *s;
  size_t n, i;
  const char *why;
} P;

static gboolean fail(P *p, const char *why) {
  p->why = why;
  return FALSE;
}

static void ws(P *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                         p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

static int peek(const P *p) {
  return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static gboolean string(P *p) {
  p->i++; /* opening quote */
  while (p->i < p->n) {
    unsigned char c = (unsigned char)p->s[p->i++];
    if (c == '"')
      return TRUE;
    if (c < 0x20)
      return fail(p, "control character in a string");
    if (c != '\\')
      continue;
    if (p->i >= p->n)
      break;
    c = (unsigned char)p->s[p->i++];
    if (c == 'u') {
      for (int k = 0; k < 4; k++, p->i++)
        if (p->i >= p->n || !g_ascii_isxdigit(p->s[p->i]))
          return fail(p, "bad \\u escape");
    } else if (!c || !strchr("\"\\/bfnrt", c)) {
      return fail(p, "bad escape in a string");
    }
  }
  return fail(p, "unterminated string");
}

static gboolean digits(P *p) {
  size_t start = p->i;
  while (p->i < p->n && g_ascii_isdigit(p->s[p->i]))
    p->i++;
  return p->i > start;
}

static gboolean number(P *p) {
  if (peek(p) == '-')
    p->i++;
  if (peek(p) == '0')
    p->i++;
  else if (!digits(p))
    return fail(p, "bad number");
  if (peek(p) == '.') {
    p->i++;
    if (!digits(p))
      return fail(p, "bad fraction");
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->i++;
    if (peek(p) == '+' || peek(p) == '-')
      p->i++;
    if (!digits(p))
      return fail(p, "bad exponent");
  }
  return TRUE;
}

static gboolean literal(P *p) {
  static const char *const words[] = {"true", "false", "null"};
  for (size_t k = 0; k < G_N_ELEMENTS(words); k++) {
    size_t l = strlen(words[k]);
    if (p->n - p->i >= l && memcmp(p->s + p->i, words[k], l) == 0) {
      p->i += l;
      return TRUE;
    }
  }
  return fail(p, "unexpected character");
}

/* "key": */
static gboolean key(P *p) {
  ws(p);
  if (peek(p) != '"')
    return fail(p, "expected a quoted member name");
  if (!string(p))
    return FALSE;
  ws(p);
  if (peek(p) != ':')
    return fail(p, "expected ':'");
  p->i++;
  return TRUE;
}

static gboolean check(P *p, char *stack, int max_depth) {
  int depth = 0;
  gboolean want_value = TRUE;
  for (;;) {
    ws(p);
    int c = peek(p);
    if (want_value) {
      if (c == '{' || c == '[') {
        if (depth == max_depth)
          return fail(p, "nested too deeply");
        stack[depth++] = (char)c;
        p->i++;
        ws(p);
        if (peek(p) == (c == '{' ? '}' : ']')) {
          p->i++;
          depth--;
          want_value = FALSE;
        } else if (c == '{' && !key(p)) {
          return FALSE;
        }
        continue;
      }
      if (c == '"'                               ? !string(p)
          : (c == '-' || (c >= '0' && c <= '9')) ? !number(p)
                                                 : !literal(p))
        return FALSE;
      want_value = FALSE;
      continue;
    }
    if (depth == 0)
      return c < 0 ? TRUE : fail(p, "text after the end of the value");
    char top = stack[depth - 1];
    if (c == ',') {
      p->i++;
      if (top == '{' && !key(p))
        return FALSE;
      want_value = TRUE;
    } else if (c == (top == '{' ? '}' : ']')) {
      p->i++;
      depth--;
    } else {
      return fail(p, c < 0 ? "unexpected end"
                           : "expected ',' or a closing bracket");
    }
  }
}

gboolean agf_json_check(const char *s, size_t n, int max_depth,
                        const char **why, size_t *at) {
  P p = {s, n, 0, NULL};
  char *stack = g_malloc((size_t)MAX(max_depth, 1));
  gboolean ok = check(&p, stack, max_depth);
  g_free(stack);
  if (!ok) {
    *why = p.why;
    *at = p.i;
  }
  return ok;
}
