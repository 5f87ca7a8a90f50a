#!/usr/bin/env python3
"""Apply benchmark: deploy wall time in the simulated cluster (catalogue readiness times,
scaled) against (a) the critical-path lower bound of the apply graph and (b) the same deploy
level by level with a barrier between levels (--barrier-levels, how wave-based tools behave);
plus API requests per object.

Reproduce from the project root:
    cargo build --release -p govdeploy-cli -p govdeploy-apply --example bench-sim
    python3 bench/apply/run.py [--runs 3] [--scale 50] [--poll 1s] [ENV]

Every figure is the median of whole-process runs; each run gets a fresh simulator. The
machine's load average (1 min) is read before every run and reported with the figures.
`--poll` is govdeploy's --poll-interval: with watches it only paces the timeout checks (and
the fallback polling of collections a server will not watch), so the default 1s is used.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROFILE = os.environ.get("BENCH_PROFILE", "release")
GOVDEPLOY = os.path.join(ROOT, "target", PROFILE, "govdeploy")
SIM = os.path.join(ROOT, "target", PROFILE, "examples", "bench-sim")


def critical_path(nodes, scale):
    """Longest path through the node graph, each node taking its expected seconds / scale."""
    by_name = {n["name"]: n for n in nodes}
    finish = {}

    def done(name):
        if name not in finish:
            n = by_name[name]
            start = max((done(d) for d in n["needs"]), default=0.0)
            finish[name] = start + n["expectedSeconds"] / scale
        return finish[name]

    return max(done(n["name"]) for n in nodes)


def one_run(env, plan_path, scale, poll, barrier):
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        sim = subprocess.Popen([SIM, plan_path, kubeconfig, str(scale)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = sim.stdout.readline()
            if not line.startswith("ready"):
                sys.exit(f"simulator did not start: {line!r}")
            args = [GOVDEPLOY, "apply", env, "-o", "json", "--kubeconfig", kubeconfig,
                    "--poll-interval", poll]
            load = os.getloadavg()[0]
            if barrier:
                args.append("--barrier-levels")
            start = time.monotonic()
            out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
            wall = time.monotonic() - start
            if out.returncode != 0:
                sys.exit(f"apply failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr}")
            events = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
            sim.stdin.write("stats\n")
            sim.stdin.flush()
            sim_stats = json.loads(sim.stdout.readline())
        finally:
            sim.stdin.close()
            sim.wait(timeout=10)
    plan = next(e for e in events if e["event"] == "plan")
    outcome = next(e for e in events if e["event"] == "outcome")["outcome"]
    return {
        "wall": wall,
        "load": load,
        "critical": critical_path(plan["nodes"], scale),
        "objects": outcome["objects"],
        "requests": outcome["stats"]["requests"],
        "sim_requests": sim_stats["totalRequests"],
        "nodes": len(plan["nodes"]),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("env", nargs="?", default="examples/production.yaml")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scale", type=float, default=50.0)
    p.add_argument("--poll", default="1s")
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        plan = subprocess.run([GOVDEPLOY, "plan", "-o", "json", a.env], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        f.write(plan)
        plan_path = f.name
    results = {"dag": [], "barrier": []}
    for i in range(a.runs):
        # Interleaved, so both modes see the same machine load.
        for mode in ("dag", "barrier"):
            r = one_run(a.env, plan_path, a.scale, a.poll, mode == "barrier")
            results[mode].append(r)
            print(f"run {i + 1} {mode:8} wall {r['wall']:.2f}s  critical path {r['critical']:.2f}s  "
                  f"requests {r['requests']} ({r['requests'] / r['objects']:.2f}/object)  "
                  f"load {r['load']:.2f}", flush=True)
    os.unlink(plan_path)
    med = lambda mode, key: statistics.median(r[key] for r in results[mode])
    critical = med("dag", "critical")
    dag, barrier = med("dag", "wall"), med("barrier", "wall")
    objects = results["dag"][0]["objects"]
    print()
    print(f"binaries: target/{PROFILE}")
    print(f"environment {a.env}: {results['dag'][0]['nodes']} nodes, {objects} objects, "
          f"time scale {a.scale}x, poll {a.poll}, {a.runs} runs per mode (medians)")
    print(f"critical-path lower bound  {critical:8.2f}s  ({critical * a.scale:.0f} simulated s)")
    print(f"govdeploy apply (DAG)      {dag:8.2f}s  {dag / critical:.3f} x critical path")
    print(f"level by level (barrier)   {barrier:8.2f}s  {barrier / critical:.3f} x critical path, "
          f"{barrier / dag:.2f} x DAG")
    print(f"API requests per object    {med('dag', 'requests') / objects:8.2f}  (client count; "
          f"simulator counted {med('dag', 'sim_requests') / objects:.2f}); barrier "
          f"{med('barrier', 'requests') / objects:.2f}")
    loads = [r["load"] for mode in results for r in results[mode]]
    print(f"load average (1 min) before the runs: median {statistics.median(loads):.2f}, "
          f"min {min(loads):.2f}, max {max(loads):.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
