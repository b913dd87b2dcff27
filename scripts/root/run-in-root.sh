#!/bin/sh
# Run a command inside the line's Debian root (scripts/root/make-root.sh),
# with this repository at the same path, /proc, /dev, /sys (libvirtd's
# cgroups) and /tmp, in a
# mount namespace of its own, so nothing stays mounted afterwards.
#   scripts/root/run-in-root.sh ROOT COMMAND [ARG...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
root=$(realpath "$1")
shift
[ -x "$root/bin/sh" ] || { echo "run-in-root: error: no root at $root" >&2; exit 1; }
exec unshare --mount --propagation private -- sh -eu -c '
    root=$1 top=$2
    shift 2
    mkdir -p "$root$top" "$root/proc" "$root/dev" "$root/sys" "$root/tmp"
    # the root a mount of its own: libvirtd makes "/" private in the
    # mount namespace it gives QEMU, which needs "/" to be a mount point
    mount --bind "$root" "$root"
    mount --bind "$top" "$root$top"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount --bind /tmp "$root/tmp"
    cd "$root$top"
    exec chroot "$root" /usr/bin/env -C "$top" HOME=/root LANG=C.UTF-8 \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
' run-in-root "$root" "$top" "$@"
