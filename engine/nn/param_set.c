/* Parameter sets: names and tensor refs in insertion order, plus a name
 * index so optimizer state and checkpoints can look tensors up. */
#include "nn/param_set.h"
#include "nn/autograd.h"

struct AgfParamSet {
  GPtrArray *names;   /* char*, owned */
  GPtrArray *tensors; /* AgfTensor*, one ref each */
  GHashTable *index;  /* name (borrowed from names) -> index + 1 */
};

AgfParamSet *
agf_param_set_new(void)
{
  AgfParamSet *ps = g_new0(AgfParamSet, 1);
  ps->names = g_ptr_array_new_with_free_func(g_free);
  ps->tensors = g_ptr_array_new_with_free_func(
    (GDestroyNotify) agf_tensor_unref);
  ps->index = g_hash_table_new(g_str_hash, g_str_equal);
  return ps;
}

void
agf_param_set_free(AgfParamSet *ps)
{
  if (!ps)
    return;
  g_hash_table_unref(ps->index);
  g_ptr_array_unref(ps->tensors);
  g_ptr_array_unref(ps->names);
  g_free(ps);
}

gboolean
agf_param_set_add(AgfParamSet *ps, const char *name, AgfTensor *t,
                  GError **error)
{
  g_return_val_if_fail(ps != NULL, FALSE);
  if (!name || !*name || !t) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "parameter set: every entry needs a non-empty name and a "
                "tensor (got name \"%s\"%s)", name ? name : "",
                t ? "" : " and no tensor");
    return FALSE;
  }
  if (g_hash_table_contains(ps->index, name)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "parameter set: \"%s\" was added twice; names must be unique "
                "(they key optimizer state and checkpoints)", name);
    return FALSE;
  }
  char *own = g_strdup(name);
  g_ptr_array_add(ps->names, own);
  g_ptr_array_add(ps->tensors, agf_tensor_ref(t));
  g_hash_table_insert(ps->index, own, GINT_TO_POINTER(ps->names->len));
  return TRUE;
}

int
agf_param_set_size(const AgfParamSet *ps)
{
  return (int) ps->names->len;
}

const char *
agf_param_set_name(const AgfParamSet *ps, int i)
{
  g_return_val_if_fail(i >= 0 && (guint) i < ps->names->len, NULL);
  return g_ptr_array_index(ps->names, i);
}

AgfTensor *
agf_param_set_tensor(const AgfParamSet *ps, int i)
{
  g_return_val_if_fail(i >= 0 && (guint) i < ps->tensors->len, NULL);
  return g_ptr_array_index(ps->tensors, i);
}

int
agf_param_set_find(const AgfParamSet *ps, const char *name)
{
  return GPOINTER_TO_INT(g_hash_table_lookup(ps->index, name)) - 1;
}

gint64
agf_param_set_numel(const AgfParamSet *ps)
{
  gint64 n = 0;
  for (guint i = 0; i < ps->tensors->len; i++)
    n += agf_tensor_numel(g_ptr_array_index(ps->tensors, i));
  return n;
}

void
agf_param_set_requires_grad(AgfParamSet *ps, gboolean on)
{
  for (guint i = 0; i < ps->tensors->len; i++)
    agf_tensor_set_requires_grad(g_ptr_array_index(ps->tensors, i), on);
}
