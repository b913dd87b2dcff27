#!/bin/sh
# Install Debian packages a lane needs into the line's root, from the
# root's own apt sources (the line's suite), if it lacks them.
#   scripts/root/install.sh ROOT PKG...
set -eu
root=$(realpath "$1")
shift
missing=
for p in "$@"; do
    # shellcheck disable=SC2016  # dpkg-query's format, not the shell's
    case $(chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null) in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done
[ -n "$missing" ] || exit 0
log=$root/../install.log
echo "root: installing$missing into $root (log: $log)"
# shellcheck disable=SC2086
{ chroot "$root" apt-get update -q &&
  chroot "$root" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends $missing &&
  chroot "$root" apt-get clean; } > "$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "root: error: cannot install$missing" >&2; exit 1; }
