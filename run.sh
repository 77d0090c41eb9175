#!/bin/bash
# Installs what is missing, builds, and runs the main job: for now the op
# benchmark on the default device ($AGFAS_DEVICE, else auto).
set -euo pipefail
cd "$(dirname "$0")"
source tools/setup.sh
agf_install_missing
agf_build
exec "$AGF_BUILD_DIR/trainer/agfas-bench" ops --quick "$@"
