#!/bin/sh
# Runs a GTK test program ($@) on a private X server (Xvfb) with its own
# session bus and a temporary XDG_CONFIG_HOME, so UI tests need no display
# and touch no user session or saved preferences.
set -e
XDG_CONFIG_HOME=$(mktemp -d "${TMPDIR:-/tmp}/agfas-config-XXXXXX")
export XDG_CONFIG_HOME
trap 'rm -rf "$XDG_CONFIG_HOME"' EXIT
xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$@"
