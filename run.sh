#!/bin/bash
# Installs what is missing, builds, and runs the main job: the AG-FAS Studio
# app with the default models on the built-in sample's print attack
# (arguments instead: files to open, images, videos, folders or manifests).
set -euo pipefail
cd "$(dirname "$0")"
source tools/setup.sh
agf_install_missing
agf_build
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display (DISPLAY and WAYLAND_DISPLAY are unset): the app" \
       "needs a desktop session. Without one: xvfb-run -a" \
       "$AGF_BUILD_DIR/app/agfas" >&2
  exit 1
fi
if [ $# -eq 0 ] && [ -f resources/sample/print.png ]; then
  set -- resources/sample/print.png
fi
exec "$AGF_BUILD_DIR/app/agfas" "$@"
