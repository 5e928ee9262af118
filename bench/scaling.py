#!/usr/bin/env python3
"""bench/scaling.py [--strata S] [--work DIR] [--bytes MIB,...] [--files N,...] [--runs R]
                   [--runs-over MIB:R] [--reuse]

Cost as images grow (issue 16).  Two series, each image made, measured and removed
before the next (so the disk holds one image at a time):

  bytes: bench/gen-image.py images of 256, 1024, 4096, 16384 MiB of layers (mixed
         content, eight layers, about 15 files a MiB: 0.25 to 16 GiB)
  files: bench/gen-files.py images of 10k, 100k, 1M, 4M empty files (one layer)

For each image, verify, convert --gzip, analyze --format json and flatten run R
times, alternating (verify, convert, analyze, flatten, verify, ...), so background
load falls on every command alike; each figure is the median wall time and the
median peak RSS and CPU time, user + system (GNU time %M, %U, %S): on a shared machine
the CPU time is the steadier figure of the work done.  Outputs go to stdout (/dev/null): convert writes an
oci-archive there, flatten a tar, so no output competes for the disk.  Every
figure is printed with its ratio to the smallest image of its series, beside the
ratio of the inputs (MiB or files).  Targets: time linear in bytes within 10% (time ratio / bytes
ratio in 0.9-1.1), memory flat in bytes and sub-linear in files.

--reuse: an image already in WORK under the series' name (bytes-MIB.tar, files-N.tar) is
measured as it is and kept, so the images can be made beforehand (while the machine is busy)
and measured later on a quiet one.

Never part of `make check`: no timing assertions anywhere in tests.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

CMDS = {
    "verify": lambda s, img: [s, "verify", img],
    "convert --gzip": lambda s, img: [s, "convert", "--gzip", img, "-", "--format", "oci-archive"],
    "analyze": lambda s, img: [s, "analyze", "--format", "json", img],
    "flatten": lambda s, img: [s, "flatten", img, "-"],
}


def measure(argv):
    """(wall seconds, CPU seconds (user + system), peak RSS KiB) of one run; exits on failure."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M"] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("failed (exit %d): %s\n%s" % (p.returncode, " ".join(argv), p.stderr[-2000:]))
    u, s, m = p.stderr.strip().splitlines()[-1].split()
    return dt, float(u) + float(s), int(m)


def series(name, sizes, make, runs_for, a):
    rows = []
    for size in sizes:
        img = os.path.join(a.work, "%s-%s.tar" % (name, size))
        t0 = time.monotonic()
        reused = a.reuse and os.path.exists(img)
        if not reused:
            make(size, img)
        gen = time.monotonic() - t0
        nbytes = os.path.getsize(img)
        runs = runs_for(size)
        got = {c: [] for c in CMDS}
        for _ in range(runs):
            for c, argv in CMDS.items():
                got[c].append(measure(argv(a.strata, img)))
        if not reused:
            os.unlink(img)
        load = os.getloadavg()[0]
        for c in CMDS:
            t = statistics.median(x[0] for x in got[c])
            cpu = statistics.median(x[1] for x in got[c])
            m = statistics.median(x[2] for x in got[c])
            rows.append((size, nbytes, c, t, cpu, m, runs, load))
        print("# %s %s: %d bytes, made in %.0f s, %d runs, load %.2f" % (name, size, nbytes, gen, runs, load),
              file=sys.stderr, flush=True)
    return rows


def report(title, unit, rows):
    print("\n%s" % title)
    print("| %s | image bytes | command | wall (s) | CPU (s) | peak RSS (MiB) | input ratio | wall ratio "
          "| CPU ratio | RSS ratio | runs | load |" % unit)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = {}
    for size, nbytes, c, t, cpu, m, runs, load in rows:
        if c not in base:
            base[c] = (size, t, cpu, m)
        b = base[c]
        print("| %s | %d | %s | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.2f | %d | %.2f |" % (
            size, nbytes, c, t, cpu, m / 1024, size / b[0], t / b[1] if b[1] else 0,
            cpu / b[2] if b[2] else 0, m / b[3], runs, load))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", default=os.path.join(TOP, "build", "strata"))
    ap.add_argument("--work", default="/tmp/strata-scaling")
    ap.add_argument("--bytes", default="256,1024,4096,16384", help="MiB of layers, comma-separated ('' none)")
    ap.add_argument("--files", default="10000,100000,1000000,4000000", help="files, comma-separated ('' none)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runs-over", default="", help="MIB:R: R runs for byte images of more than MIB MiB")
    ap.add_argument("--reuse", action="store_true", help="measure images already in WORK, and keep them")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    big = tuple(int(x) for x in a.runs_over.split(":")) if a.runs_over else None
    print("# %s, %d cores, load %.2f %.2f %.2f, %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                         os.cpu_count(), *os.getloadavg(), a.strata))
    if a.bytes:
        sizes = [int(x) for x in a.bytes.split(",")]
        rows = series("bytes", sizes, lambda s, img: subprocess.run(
            [sys.executable, os.path.join(HERE, "gen-image.py"), img, "--size-mib", str(s), "-q"], check=True),
            lambda s: big[1] if big and s > big[0] else a.runs, a)
        report("Bytes (gen-image.py, eight layers of mixed content)", "MiB", rows)
    if a.files:
        sizes = [int(x) for x in a.files.split(",")]
        rows = series("files", sizes, lambda n, img: subprocess.run(
            [sys.executable, os.path.join(HERE, "gen-files.py"), img, str(n)], check=True),
            lambda n: a.runs, a)
        report("Files (gen-files.py, one layer of empty files)", "files", rows)


if __name__ == "__main__":
    main()
