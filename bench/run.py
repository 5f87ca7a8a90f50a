#!/usr/bin/env python3
"""Whole-process benchmark of `govdeploy plan` and `govdeploy render`.

Runs the release binary N times per case (after one warm-up run) and reports the median and
spread of wall-clock time. Usage: python3 bench/run.py [--runs N] [--binary PATH]
Build first: cargo build --release
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("plan, every module of DIGIT v2.8 (prod)", ["plan", "bench/envs/digit-v2.8-all.yaml"]),
    ("plan -o json, every module of DIGIT v2.8", ["plan", "-o", "json", "bench/envs/digit-v2.8-all.yaml"]),
    ("plan, quickstart example", ["plan", "examples/quickstart.yaml"]),
    ("render -o DIR, every module of DIGIT v2.8", ["render", "bench/envs/digit-v2.8-all.yaml", "-o", "{out}"]),
    ("render -o -, every module of DIGIT v2.8", ["render", "bench/envs/digit-v2.8-all.yaml", "-o", "-"]),
    ("render -o DIR, production example", ["render", "examples/production.yaml", "-o", "{out}"]),
    ("render -o DIR, quickstart example", ["render", "examples/quickstart.yaml", "-o", "{out}"]),
]


def measure(binary, args, runs):
    samples = []
    subprocess.run([binary, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - start) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[0], samples[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "govdeploy"))
    opts = parser.parse_args()
    if not os.path.exists(opts.binary):
        sys.exit(f"{opts.binary} not found: run `cargo build --release` first")
    print(f"{'case':48} {'median ms':>10} {'min':>8} {'max':>8}   ({opts.runs} runs, {os.cpu_count()} cores)")
    scratch = tempfile.mkdtemp(prefix="govdeploy-bench-")
    for name, args in CASES:
        args = [a.replace("{out}", os.path.join(scratch, "out")) for a in args]
        median, lo, hi = measure(opts.binary, args, opts.runs)
        print(f"{name:48} {median:10.1f} {lo:8.1f} {hi:8.1f}")


if __name__ == "__main__":
    main()
