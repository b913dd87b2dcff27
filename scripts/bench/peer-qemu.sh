#!/bin/sh
# Run the peer's qemu-system-x86_64 (Debian 13's QEMU 10.0 + virglrenderer
# 1.1, unpacked by prepare-peer.sh) like a qemu binary:
#   scripts/bench/peer-qemu.sh QEMU-ARGS...
# Upstream 10.0's egl-headless needs a DRM render node, which this machine
# lacks, so GL goes through an X display instead: "-display egl-headless"
# is replaced by "-display $PEER_DISPLAY,gl=on" (default sdl; gtk works
# too), added when no -display is given, under a private Xvfb that dies
# with QEMU.  QEMU itself runs through trixie's ld.so on the host's file
# system (the caller's paths and a 9p export of / mean the same as for our
# build); Xvfb runs chrooted in the root, where its compiled-in paths
# (xkbcomp, /bin/sh, the DRI driver) hold, in a private mount namespace so
# its bind mounts vanish with it.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${PEER_DIR:-$TOP/build/peer}
R=$OUT/root
L=$R/usr/lib/x86_64-linux-gnu
DISP=${PEER_DISPLAY:-sdl}

die() { echo "peer-qemu: error: $*" >&2; exit 1; }
[ -x "$R/usr/bin/qemu-system-x86_64" ] ||
    die "no peer in $OUT; run scripts/bench/prepare-peer.sh first"

# Swap egl-headless for the X display (POSIX sh: rotate "$@" in place).
seen="" prev="" used=""
for a; do
    shift
    case $prev in
        -display|--display)
            seen=1
            case $a in egl-headless*) a="$DISP,gl=on" ;; esac
            used=$a ;;
    esac
    case $a in -nographic|--nographic) seen=1 used="none (-nographic)" ;; esac
    set -- "$@" "$a"
    prev=$a
done
[ -n "$seen" ] || { set -- "$@" -display "$DISP,gl=on"; used="$DISP,gl=on"; }

# Xvfb on the first free display from :90; -displayfd says when it is up.
# --pdeathsig: Xvfb's parent is this process, which becomes QEMU by exec,
# so Xvfb is stopped whenever QEMU exits, however it exits.
mkdir -p "$OUT/run"
rdy=$OUT/run/xvfb.$$.fd
n=90
while :; do
    [ $n -lt 190 ] || die "no free X display in :90..:189"
    if [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; then
        n=$((n + 1)); continue
    fi
    log=$OUT/run/xvfb.$n.log
    : > "$rdy"
    setpriv --pdeathsig TERM unshare --mount --propagation private sh -c '
        mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" &&
        mount --rbind /tmp "$1/tmp" &&
        exec chroot "$1" /usr/bin/Xvfb ":$2" -displayfd 3 -nolisten tcp \
            -noreset -screen 0 1280x1024x24' sh "$R" "$n" \
        3>"$rdy" >"$log" 2>&1 </dev/null &
    xpid=$!
    i=0
    while [ ! -s "$rdy" ]; do
        state=$(cut -d' ' -f3 "/proc/$xpid/stat" 2>/dev/null || :)
        case $state in ''|Z) break ;; esac     # it died
        [ $i -lt 100 ] || { kill $xpid; die "Xvfb :$n not ready in 10 s; see $log"; }
        i=$((i + 1)); sleep 0.1
    done
    [ -s "$rdy" ] && break
    # It died: usually another server took :$n meanwhile; try the next.
    grep -q 'already active\|Cannot establish any listening' "$log" ||
        die "Xvfb failed to start; see $log"
    n=$((n + 1))
done
rm -f "$rdy"

ver() { sed -n "s/^$1=//p" "$OUT/versions" 2>/dev/null; }
echo "peer: QEMU $(ver qemu), virglrenderer $(ver virglrenderer)," \
     "Mesa $(ver mesa), display $used under Xvfb :$n" >&2

export DISPLAY=":$n" SDL_VIDEODRIVER=x11
exec "$TOP/scripts/bench/root-qemu.sh" "$R" "$L/qemu" \
    "$R/usr/bin/qemu-system-x86_64" "$@"
