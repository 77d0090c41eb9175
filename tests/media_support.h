/* Media generated with libav's encoders, shared by the tests that need
 * video files (test_media, test_prepare): no tool or data file needed. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Luma of frame k of agf_test_write_video's videos: 20 + 5 k. */
int agf_test_video_level(int k);

/* Writes an n-frame 64x48 video at 25 fps to path (the container from its
 * extension) with encoder ("libx264", "mpeg4"): frame k a flat gray of
 * luma agf_test_video_level(k), a keyframe every gop frames, up to bframes
 * B-frames. FALSE when libav has no such encoder; asserts on any other
 * failure. */
gboolean agf_test_write_video(const char *path, const char *encoder, int n,
                              int gop, int bframes);

/* ---- a synthetic face, drawn analytically in the aligned 256 frame: its
 * eyes, nose and mouth corners at agf_face_template(256)'s points ---- */

/* RGB in [0, 255] at aligned-frame point (x, y): background, hair, skin
 * oval, brows, eyes (white, dark iris at the template eye points), nose
 * shadow, lips between the template mouth corners. */
void agf_test_face_colour(double x, double y, double rgb[3]);
/* Aligned -> frame m: scale s, rotation deg, then translation (tx, ty). */
void agf_test_similarity(double s, double deg, double tx, double ty,
                         double m[2][3]);
/* agf_test_similarity with the translation that puts the aligned frame's
 * centre (128, 128) at (cx, cy). */
void agf_test_face_at(double s, double deg, double cx, double cy,
                      double m[2][3]);
/* Fills w x h RGB rows, stride bytes apart, with the face at inv(X, Y) for
 * pixel (X, Y) (inv maps the frame to the aligned frame). */
void agf_test_render_face(guint8 *px, int w, int h, gsize stride,
                          const double inv[2][3]);

G_END_DECLS
