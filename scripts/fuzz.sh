#!/bin/sh
# make fuzz: QEMU's generic-fuzz target (libFuzzer, clang, ASan+UBSan) on
# virtio-gpu-gl-pci with blobs and a host-visible region, for a bounded
# time.  Crashing inputs are kept under OUT/crashes, the corpus under
# OUT/corpus (it grows from run to run).  Prints executions per second,
# coverage and findings; exits 1 if anything crashed.
#   scripts/fuzz.sh TREE OBJ OUT [SECONDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tree=$1 obj=$2 out=$3 seconds=${4:-${FUZZ_SECONDS:-600}}

"$here/deps.sh" clang libclang-rt-14-dev
if [ ! -f "$obj/build.ninja" ]; then
    echo "fuzz: configuring $obj with clang --enable-fuzzing (log: $obj.log)"
    SANITIZE=1 QEMU_CONFIGURE_EXTRA="--cc=clang --cxx=clang++ \
        --enable-fuzzing --disable-werror --disable-modules" \
        "$here/build/configure.sh" "$tree" "$obj" > "$obj.log" 2>&1 ||
        { tail -n 20 "$obj.log"; echo "fuzz: configure failed" >&2; exit 1; }
fi
ninja -C "$obj" -j"$(nproc)" qemu-fuzz-x86_64 >> "$obj.log" 2>&1 ||
    { tail -n 20 "$obj.log"; echo "fuzz: build failed" >&2; exit 1; }

mkdir -p "$out/corpus" "$out/crashes"
log="$out/fuzz.log"
echo "fuzz: generic-fuzz on virtio-gpu-gl-pci,blob=on,hostmem=64M for $seconds s"
# The target (patch 0025) sets up the device; leaks are LSan's job in
# make check-asan, not here.
ASAN_OPTIONS=detect_leaks=0 \
    "$obj/qemu-fuzz-x86_64" --fuzz-target=generic-fuzz-virtio-gpu-blob \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 \
    -artifact_prefix="$out/crashes/" "$out/corpus" > "$log" 2>&1 || true

execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
        grep -o '[0-9]*$' || true)
[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
found=$(find "$out/crashes" -type f | wc -l)
echo "fuzz: last status: ${last:-none}"
echo "fuzz: executions ${execs:-?}, $(find "$out/corpus" -type f | wc -l) corpus inputs, $found crashing inputs (in $out/crashes)"
grep -m 3 -E 'ERROR: |runtime error|SUMMARY' "$log" || true
[ "$found" -eq 0 ]
