#!/bin/sh
# Install Debian packages a lane needs into the line's root, from the
# root's own apt sources (the line's suite), if it lacks them.
#   scripts/root/install.sh ROOT PKG...
set -eu
root=$(realpath "$1")
shift
# shellcheck disable=SC2086
chroot "$root" dpkg-query -W "$@" > /dev/null 2>&1 && exit 0
log=$root/../install.log
echo "root: installing $* into $root (log: $log)"
{ chroot "$root" apt-get update -q &&
  chroot "$root" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "$@" &&
  chroot "$root" apt-get clean; } > "$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "root: error: cannot install $*" >&2; exit 1; }
