#!/bin/sh
# Runs a GTK test program ($@) on a private X server (Xvfb) with its own
# session bus, so UI tests need no display and touch no user session.
set -e
exec xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$@"
