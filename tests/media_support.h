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

G_END_DECLS
