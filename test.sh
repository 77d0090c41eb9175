#!/bin/bash
# Installs what is missing, builds, and runs the test suite (on the CPU
# backend and on Vulkan, lavapipe when there is no GPU, with the Vulkan
# validation layers on).
set -euo pipefail
cd "$(dirname "$0")"
source tools/setup.sh
agf_install_missing
agf_build
exec meson test -C "$AGF_BUILD_DIR" --print-errorlogs "$@"
