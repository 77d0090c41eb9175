/* MobileFaceNet identity features; see face_identity.h. */
#include "pipeline/face_identity.h"
#include <math.h>
#include "models/iresnet.h"
#include "nn/autograd.h"
#include "nn/ops.h"
#include "pipeline/face_models.h"

struct AgfFaceIdentity {
  AgfWeights *w;
  AgfMobilefacenet *net;
};

/* [-1, 1] -> (pixel - 127.5) / 128. */
#define TO_NET (127.5f / 128.0f)

AgfFaceIdentity *agf_face_identity_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfMobilefacenet *net = agf_mobilefacenet_new(w, error);
  if (!net) {
    g_prefix_error(error, "identity network %s: ", agf_weights_path(w));
    return NULL;
  }
  AgfFaceIdentity *id = g_new0(AgfFaceIdentity, 1);
  id->w = agf_weights_ref(w);
  id->net = net;
  return id;
}

AgfFaceIdentity *agf_face_identity_open(const char *path, AgfDevice *dev,
                                        GError **error)
{
  g_autofree char *found =
    path ? g_strdup(path) : agf_face_model_path("mobilefacenet", error);
  if (!found)
    return NULL;
  g_autoptr(AgfWeights) w = agf_weights_open(found, dev, AGF_F32, error);
  return w ? agf_face_identity_new(w, error) : NULL;
}

void agf_face_identity_free(AgfFaceIdentity *id)
{
  if (!id)
    return;
  agf_mobilefacenet_free(id->net);
  agf_weights_unref(id->w);
  g_free(id);
}

int agf_face_identity_input_size(const AgfFaceIdentity *id)
{
  return agf_mobilefacenet_input_size(agf_mobilefacenet_config(id->net));
}

/* The network input from [-1, 1] faces of any size. */
static AgfTensor *net_input(const AgfTensor *face, int side, AgfDType dt,
                            GError **error)
{
  if (face == NULL || face->ndim != 4 || face->shape[1] != 3) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "identity: faces must be [B, 3, S, S] in [-1, 1] (aligned "
                "crops from face_align.h)");
    return NULL;
  }
  g_autoptr(AgfTensor) sized = NULL;
  if (face->shape[2] != side || face->shape[3] != side) {
    sized = agf_resize_bilinear(face, side, side, FALSE, error);
    if (!sized)
      return NULL;
  }
  g_autoptr(AgfTensor) scaled =
    agf_scale(sized ? sized : face, TO_NET, 0.0f, error);
  return scaled ? agf_tensor_cast(scaled, dt, error) : NULL;
}

gboolean agf_face_identity_run(AgfFaceIdentity *id, const AgfTensor *aligned,
                               AgfTensor **tokens, AgfTensor **embedding,
                               GError **error)
{
  g_autoptr(AgfTensor) x = net_input(aligned, agf_face_identity_input_size(id),
                                     agf_weights_dtype(id->w), error);
  if (!x)
    return FALSE;
  g_autoptr(AgfTensor) tok = NULL, emb = NULL;
  if (!agf_mobilefacenet_forward(id->net, x, tokens ? &tok : NULL,
                                 embedding ? &emb : NULL, error))
    return FALSE;
  g_autoptr(AgfTensor) unit = NULL;
  if (emb && !(unit = agf_l2_normalize(emb, 1e-10f, error)))
    return FALSE;
  if (tokens)
    *tokens = g_steal_pointer(&tok);
  if (embedding)
    *embedding = g_steal_pointer(&unit);
  return TRUE;
}

static AgfTensor *mfn_tokens(gpointer self, const AgfTensor *face,
                             GError **error)
{
  AgfMobilefacenet *net = self;
  int side = agf_mobilefacenet_input_size(agf_mobilefacenet_config(net));
  g_autoptr(AgfTensor) x = net_input(face, side, face ? face->dtype : AGF_F32,
                                     error);
  AgfTensor *tokens = NULL;
  if (!x || !agf_mobilefacenet_forward(net, x, &tokens, NULL, error))
    return NULL;
  return tokens;
}

AgfDfgIdentity *agf_face_identity_dfg(AgfMobilefacenet *net)
{
  g_return_val_if_fail(net != NULL, NULL);
  int side = agf_mobilefacenet_input_size(agf_mobilefacenet_config(net));
  return agf_dfg_identity_new("mobilefacenet", side, mfn_tokens, net,
                              (GDestroyNotify)agf_mobilefacenet_free);
}

double agf_face_cosine(const float *a, const float *b, int n)
{
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

/* The width of the tokens net gives for a zero face of side s. */
static int probe_width(gpointer net, gboolean iresnet, AgfDevice *dev,
                       AgfDType dt, int s, GError **error)
{
  const int64_t shape[4] = { 1, 3, s, s };
  g_autoptr(AgfTensor) x = agf_tensor_new(dev, dt, 4, shape, error);
  g_autoptr(AgfTensor) tokens = NULL;
  if (!x || !agf_tensor_fill(x, 0.0f, error))
    return -1;
  agf_no_grad_begin(dev);
  gboolean ok = iresnet
    ? agf_iresnet_forward(net, x, &tokens, NULL, error)
    : agf_mobilefacenet_forward(net, x, &tokens, NULL, error);
  agf_no_grad_end(dev);
  return ok ? (int)tokens->shape[2] : -1;
}

AgfDfgIdentity *agf_face_identity_dfg_open(const char *path, AgfDevice *dev,
                                           AgfDType dt, int *width,
                                           GError **error)
{
  g_autoptr(AgfWeights) w = agf_weights_open(path, dev, dt, error);
  if (!w)
    return NULL;
  g_autoptr(GError) as_iresnet = NULL, as_mfn = NULL;
  AgfDfgIdentity *id = NULL;
  gpointer net = agf_iresnet_new(w, &as_iresnet);
  gboolean iresnet = net != NULL;
  if (net)
    id = agf_dfg_identity_iresnet(net);
  else if ((net = agf_mobilefacenet_new(w, &as_mfn)))
    id = agf_face_identity_dfg(net);
  if (!id) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is neither an iresnet (%s) nor a MobileFaceNet (%s) file: "
                "pass one of those", path, as_iresnet->message,
                as_mfn->message);
    return NULL;
  }
  /* the identity owns net: it is alive while id is */
  if (width &&
      (*width = probe_width(net, iresnet, dev, dt,
                            agf_dfg_identity_input_size(id), error)) < 0)
    g_clear_pointer(&id, agf_dfg_identity_free);
  return id;
}
