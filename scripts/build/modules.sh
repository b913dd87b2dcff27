#!/bin/sh
# The loadable modules of a build configured with --enable-modules (as
# Debian's is): the ninja targets that qemu-system-x86_64 loads from
# the build tree.  Prints nothing for a build without modules.
#   scripts/build/modules.sh OBJ_DIR
set -eu
ninja -C "$1" -t targets all | sed -n 's/^\([a-z0-9_-]*\.so\): .*/\1/p' | sort -u
