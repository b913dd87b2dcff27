#!/usr/bin/env python3
"""make bench-compare: one guest workload on this series' two lines (the
Debian 12 build, and the Debian 13 build run by line-qemu.sh) and on the
upstream peer (stock Debian 13: QEMU 10.0 + virglrenderer 1.1, prepared
by prepare-peer.sh, run by peer-qemu.sh under Xvfb), interleaved round
by round on the same machine, then one line per figure:

    compare FIGURE ours=X ours13=Y upstream=Z ratio=R ratio13=R13

R is upstream/ours for times and ours/upstream for rates, so R > 1
always means this series is faster; R13 is the same for the Debian 13
build against stock Debian 13, the same QEMU and virglrenderer.  The guest program's --bench-compare
mode makes the figures (see vgpu-guest-test.c); the soak counts hangs.
Also writes build/bench-compare.png: map-cycle time against live
mappings, both QEMUs, log scale.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "scripts", "guest"))
import guestvm  # noqa: E402

LIVE = (0, 1, 64, 256, 1024)
# name, unit, bigger is better
FIGURES = [("map_cycle_live_%d" % n, "us", False) for n in LIVE] + [
    ("drain_256", "us", False),
    ("create_unref_rate", "per_s", True),
    ("write_blob", "MB_per_s", True),
    ("write_ram", "MB_per_s", True),
]


def boot(qemu, image, timeout, keep=None):
    """
    One guest run of the bench workload: its figures, or an error.  A
    failed run's serial console goes to @keep, if given.
    """
    os.environ["QEMU"] = qemu
    with tempfile.TemporaryDirectory() as tmp:
        serial = os.path.join(tmp, "serial.log")
        cmd = guestvm.guest_command(image, "loglevel=4 vgpu.benchcmp", serial)
        err = None
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            err = "timed out after %d s" % timeout
        log = open(serial, errors="replace").read() \
            if os.path.exists(serial) else ""
    figs = {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^VGPU-BENCH (\S+) ([0-9.]+)", log, re.M)}
    bad = re.findall(r"^not ok .*", log, re.M)
    if not err and (bad or "VGPU-TEST-END" not in log):
        err = "; ".join(bad) or "the guest program did not finish"
    if err and keep:
        with open(keep, "w") as f:
            f.write(log)
        err += " (console: %s)" % keep
    return figs, err


def soak_hangs(qemu, image, runs, keep):
    """Hangs in @runs soak runs; soak.py's report (a hang's state) to @keep."""
    env = dict(os.environ, QEMU=qemu)
    out = subprocess.run([sys.executable,
                          os.path.join(TOP, "scripts/guest/soak.py"), image,
                          "--runs", str(runs)], env=env,
                         capture_output=True, text=True).stdout
    with open(keep, "w") as f:
        f.write(out)
    m = re.search(r"soak: (\d+) runs, (\d+) hangs", out)
    return (int(m.group(2)), int(m.group(1))) if m else (None, runs)


def plot(path, med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("bench-compare: error: no matplotlib (Debian package "
                 "python3-matplotlib) to draw %s" % path)
    xs = [max(n, 0.5) for n in LIVE]    # 0 live mappings, drawn at 0.5
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, figs, mark in (
            ("this series, Debian 12 (QEMU 7.2, virglrenderer 0.10.4)",
             med["ours"], "o-"),
            ("this series, Debian 13 (QEMU 10.0, virglrenderer 1.1)",
             med["ours13"], "^-"),
            ("stock Debian 13 (QEMU 10.0, virglrenderer 1.1)",
             med["upstream"], "s--")):
        ys = [figs.get("map_cycle_live_%d" % n) for n in LIVE]
        pts = [(x, y) for x, y in zip(xs, ys) if y]
        if pts:
            ax.plot(*zip(*pts), mark, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([str(n) for n in LIVE])
    ax.set_xlabel("other mappings live")
    ax.set_ylabel("map cycle, median (us)")
    ax.set_title("64 KiB HOST3D blob: create, map, touch, unmap, close\n"
                 "(Linux guest under TCG, same machine, same run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--rounds", type=int,
                    default=int(os.environ.get("BENCH_ROUNDS", "3")))
    ap.add_argument("--soak-runs", type=int,
                    default=int(os.environ.get("BENCH_SOAK_RUNS", "5")))
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--png", default=os.path.join(TOP, "build",
                                                   "bench-compare.png"))
    args = ap.parse_args()
    sides = {
        "ours": os.environ.get("QEMU", os.path.join(
            TOP, "build", "debian12", "obj/qemu-system-x86_64")),
        "ours13": os.path.join(HERE, "line-qemu.sh"),
        "upstream": os.path.join(HERE, "peer-qemu.sh"),
    }
    print("bench-compare: %d rounds, interleaved; ours=%s ours13=%s "
          "upstream=%s" % (args.rounds, sides["ours"],
                           "build/debian13 (line-qemu.sh)",
                           "Debian 13 QEMU 10.0 (peer-qemu.sh)"))
    runs = {s: [] for s in sides}
    for r in range(args.rounds):
        for side, qemu in sides.items():
            figs, err = boot(qemu, args.image, args.timeout,
                             keep=os.path.join(TOP, "build",
                                               "bench-compare-%s-round%d.log"
                                               % (side, r + 1)))
            print("# round %d %s: %s" % (r + 1, side, err or "ok " + " ".join(
                "%s=%g" % kv for kv in sorted(figs.items()))), flush=True)
            if figs:
                runs[side].append(figs)
    med = {}
    for side in sides:
        med[side] = {}
        for name, _, _ in FIGURES:
            vals = [f[name] for f in runs[side] if name in f]
            if vals:
                med[side][name] = statistics.median(vals)
    failed = [s for s in sides if not runs[s]]
    for name, unit, bigger in FIGURES:
        u = med["upstream"].get(name)
        line = "compare %s" % name
        for side in sides:
            line += " %s=%s" % (side, "%g" % med[side][name]
                                if name in med[side] else "none")
        for side, key in (("ours", "ratio"), ("ours13", "ratio13")):
            o = med[side].get(name)
            ratio = (o / u if bigger else u / o) if o and u else None
            line += " %s=%s" % (key, "%.2f" % ratio if ratio else "n/a")
        print(line + " (%s)" % unit)
    for side in sides:
        one = med[side].get("map_cycle_live_1")
        many = med[side].get("map_cycle_live_1024")
        if one and many:
            print("# %s: map cycle with 1024 live / with 1 live = %.2f"
                  % (side, many / one))
    if args.soak_runs:
        h = {s: soak_hangs(q, args.image, args.soak_runs,
                           os.path.join(TOP, "build",
                                        "bench-compare-soak-%s.log" % s))
             for s, q in sides.items()}
        print("compare soak_hangs " + " ".join(
            "%s=%s/%d" % (s, h[s][0], h[s][1]) for s in sides))
    plot(args.png, med)
    print("bench-compare: wrote %s" % args.png)
    if failed:
        sys.exit("bench-compare: error: no figures from %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
