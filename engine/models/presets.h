/* Named network configurations, and checkpoints of random weights made
 * from them:
 *   paper  SD-1.5 autoencoder + SD-1.5 U-Net (context 768), ArcFace
 *          iresnet18, OA-Net on ViT-B/16 at 224 with a ResNet-18 cue
 *          encoder (the authors' sizes, method.md)
 *   small  the same code with narrow widths and fewer layers: interactive
 *          on a CPU (U-Net 48/96/192, ViT 192 x 6)
 *   tiny   the smallest that still exercises every block: a whole
 *          reconstruction runs in seconds on a CPU Vulkan driver
 * Every preset keeps the f8 autoencoder (latent 32x32 at 256), the 7x7
 * identity map (112 input) and a 224 OA-Net input except tiny (64).
 *
 * Random initialisation lists the tensors from the networks' own shape
 * checks (a layers.h AgfParamCheck listener over each agf_*_declare()), so a
 * file written here always loads, and initialises them as PyTorch's
 * defaults do: conv / linear weights and biases uniform(-b, b) with
 * b = 1 / sqrt(fan_in) (kaiming_uniform(a = sqrt(5))), norm weights 1 and
 * biases 0, running_mean 0 / running_var 1, PReLU slopes 0.25, cls_token
 * and pos_embed normal(0, 0.02), the OA-Net cross-attention output
 * projections zero, and the weight-normalized classifier with g = ||v||.
 * Values come from rng.h's generator keyed by the seed and each tensor's
 * name, so a file is reproducible from (preset, network, seed). */
#pragma once
#include "io/safetensors.h"
#include "models/autoencoder_kl.h"
#include "models/iresnet.h"
#include "models/oanet.h"
#include "models/unet.h"

G_BEGIN_DECLS

typedef enum {
  AGF_PRESET_PAPER,
  AGF_PRESET_SMALL,
  AGF_PRESET_TINY,
  AGF_PRESET_COUNT
} AgfPreset;

typedef enum {
  AGF_NET_AUTOENCODER, /* "autoencoder" */
  AGF_NET_UNET,        /* "unet" */
  AGF_NET_IDENTITY,    /* "iresnet" */
  AGF_NET_OANET,       /* "oanet" */
  AGF_NET_COUNT
} AgfNetKind;

typedef struct {
  AgfAutoencoderKLConfig vae;
  AgfUnetConfig unet;
  AgfIresnetConfig identity;
  AgfOanetConfig oanet;
} AgfPresetConfigs;

const char *agf_preset_name(AgfPreset p);
gboolean agf_preset_from_name(const char *name, AgfPreset *out,
                              GError **error);
const char *agf_net_kind_name(AgfNetKind k);
gboolean agf_net_kind_from_name(const char *name, AgfNetKind *out,
                                GError **error);

void agf_preset_configs(AgfPreset p, AgfPresetConfigs *out);
/* Parameters of one network of a preset (as its param_count function
 * counts them), or -1 and an error. */
gint64 agf_preset_param_count(AgfPreset p, AgfNetKind k, GError **error);
/* A table of every preset's networks and parameter counts (new string). */
char *agf_preset_describe(void);

/* Calls fn for every tensor a network of the preset loads (declaration
 * order, batch-norm running statistics included). */
gboolean agf_preset_list_tensors(AgfPreset p, AgfNetKind k,
                                 void (*fn)(const char *name, int ndim,
                                            const int64_t *shape,
                                            gpointer data),
                                 gpointer data, GError **error);

/* Writes a checkpoint of random weights (dt: AGF_ST_F32 or AGF_ST_F16)
 * with the metadata its loader reads (configuration keys; the U-Net also
 * gets SD-1.5's agfas.schedule.* keys). The paper U-Net is 3.4 GB in f32. */
gboolean agf_preset_write_random(AgfPreset p, AgfNetKind k, guint64 seed,
                                 AgfStDType dt, const char *path,
                                 GError **error);
/* The same for an OA-Net of any configuration cfg (e.g. preset p's with
 * another variant: agfas-train oanet's ablations), with p's name in the
 * metadata. */
gboolean agf_preset_write_random_oanet(AgfPreset p, const AgfOanetConfig *cfg,
                                       guint64 seed, AgfStDType dt,
                                       const char *path, GError **error);
/* The same for a U-Net of any configuration cfg (e.g. preset p's with a
 * context wide enough for the identity network: agfas-train dfg). */
gboolean agf_preset_write_random_unet(AgfPreset p, const AgfUnetConfig *cfg,
                                      guint64 seed, AgfStDType dt,
                                      const char *path, GError **error);

G_END_DECLS
