#!/usr/bin/env python3
"""govdeploy audit against checkov, side by side in one run, on generated manifests.

1. Installs checkov 3.3.30 into .tools/venv (scripts/install-tools.sh; a no-op when present).
2. Generates manifest files: each file is one component (Deployment, Service,
   PodDisruptionBudget, HorizontalPodAutoscaler: 4 resources), spread over 10 namespaces that
   each get a file with their Namespace, LimitRange, ResourceQuota and default-deny policy.
   Every tenth component carries deliberate violations, so both tools have findings to report.
3. For 500 and 5,000 files: govdeploy audit (median of --runs whole-process runs) and checkov
   (`--quiet`, median of --checkov-runs runs: it is slow), wall time and peak RSS of each.
4. Growth: govdeploy audit on 1k / 5k / 10k / 20k resources.

Usage: cargo build --release && python3 bench/audit/run.py [--runs 7] [--checkov-runs 3]
Writes nothing outside a temp dir; prints a Markdown report (copy it into RESULTS.md).
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import signal
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMESPACES = 10

NAMESPACE = """apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: LimitRange
metadata: {{name: defaults, namespace: {ns}}}
spec:
  limits: [{{type: Container, defaultRequest: {{cpu: 100m, memory: 128Mi}}, default: {{memory: 128Mi}}}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {{name: capacity, namespace: {ns}}}
spec:
  hard: {{requests.cpu: "200", requests.memory: 400Gi}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny, namespace: {ns}}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
"""

COMPONENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: svc-{i}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/version: "1.0.{i}"
    app.kubernetes.io/component: service
    app.kubernetes.io/part-of: bench
    govdeploy.io/owner: team-{ns}
    govdeploy.io/data-classification: internal
spec:
  selector:
    matchLabels: {{app.kubernetes.io/name: svc-{i}, app.kubernetes.io/instance: bench}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: svc-{i}, app.kubernetes.io/instance: bench}}
    spec:
      serviceAccountName: svc-{i}
      automountServiceAccountToken: false
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {{matchLabels: {{app.kubernetes.io/name: svc-{i}}}}}}}
      terminationGracePeriodSeconds: 30
      containers:
        - name: app
          image: {image}
          imagePullPolicy: IfNotPresent
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /ready, port: http}}, periodSeconds: 10}}
          livenessProbe: {{httpGet: {{path: /health, port: http}}, periodSeconds: 20}}
          lifecycle: {{preStop: {{sleep: {{seconds: 10}}}}}}
          resources:
            requests: {{cpu: 100m, memory: 256Mi}}
            limits: {{memory: 256Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: {read_only}
            capabilities: {{drop: [ALL]}}
          env:
            - {{name: SERVICE_NAME, value: svc-{i}}}
            - {{name: DB_PASSWORD, valueFrom: {{secretKeyRef: {{name: db-{i}, key: password, optional: true}}}}}}
          volumeMounts: [{{name: tmp, mountPath: /tmp}}]
      volumes: [{{name: tmp, emptyDir: {{sizeLimit: 64Mi}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  selector: {{app.kubernetes.io/name: svc-{i}, app.kubernetes.io/instance: bench}}
  ports: [{{name: http, port: 80, targetPort: {target}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  maxUnavailable: 1
  selector: {{matchLabels: {{app.kubernetes.io/name: svc-{i}}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: svc-{i}}}
  minReplicas: 2
  maxReplicas: 6
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 75}}}}}}]
"""


def generate(directory, files):
    """`files` component files plus one file per namespace."""
    directory.mkdir(parents=True)
    for n in range(NAMESPACES):
        (directory / f"ns-{n}.yaml").write_text(NAMESPACE.format(ns=f"team-{n}"))
    for i in range(files):
        bad = i % 10 == 0
        (directory / f"svc-{i:05d}.yaml").write_text(COMPONENT.format(
            i=i, ns=f"team-{i % NAMESPACES}",
            image=f"registry.example.org/bench/svc:{'latest' if bad else '1.0.' + str(i)}",
            read_only="false" if bad else "true",
            target="web" if bad else "http",
        ))
    return files * 4 + NAMESPACES * 4


def run_once(command, timeout=None):
    """Wall seconds and peak RSS (MiB) of one whole process; None when it ran out of time."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            cwd=tempfile.gettempdir(), env=dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE"))
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout and time.perf_counter() - start > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            return None
        time.sleep(0.01)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{command[0]} failed with exit code {code}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def measure(command, runs, timeout=None):
    samples = []
    for _ in range(runs):
        sample = run_once(command, timeout)
        if sample is None:
            return None
        samples.append(sample)
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples), statistics.median(s[2] for s in samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target/release/govdeploy"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--checkov-runs", type=int, default=3)
    parser.add_argument("--checkov-runs-large", type=int, default=1, help="checkov runs at 5,000 files")
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--checkov-timeout", type=float, default=2400, help="seconds per checkov run")
    parser.add_argument("--growth", default="1000,5000,10000,20000", help="resources")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts/install-tools.sh")], check=True)
    checkov = str(ROOT / ".tools/venv/bin/checkov")
    binary = args.binary
    if not pathlib.Path(binary).exists():
        sys.exit(f"{binary} is missing: cargo build --release")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="govdeploy-audit-bench-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
        if args.sizes:
            print("| files | resources | govdeploy audit median (runs) | peak RSS | checkov --quiet median (runs) | peak RSS | checkov / govdeploy |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
        for files in (int(s) for s in args.sizes.split(",") if s):
            d = tmp / f"files-{files}"
            resources = generate(d, files)
            ours = measure([binary, "audit", str(d)], args.runs)
            runs = args.checkov_runs if files <= 1000 else args.checkov_runs_large
            theirs = measure([checkov, "-d", str(d), "--framework", "kubernetes", "--quiet", "-o", "json", "--skip-download"], runs, args.checkov_timeout)
            if theirs is None:
                print(f"| {files + NAMESPACES} | {resources} | {ours[0]*1000:.0f} ms ({args.runs}) | {ours[1]:.0f} MiB | stopped after {args.checkov_timeout:.0f} s | — | > {args.checkov_timeout/ours[0]:.0f}x |", flush=True)
            else:
                print(f"| {files + NAMESPACES} | {resources} | {ours[0]*1000:.0f} ms ({args.runs}) | {ours[1]:.0f} MiB | {theirs[0]:.1f} s ({runs}) | {theirs[1]:.0f} MiB | {theirs[0]/ours[0]:.0f}x |", flush=True)
            shutil.rmtree(d)
        if not args.growth:
            return
        print("\n| resources | files | govdeploy audit median wall | ms per 1,000 resources | median CPU (user+sys) | peak RSS |")
        print("|---:|---:|---:|---:|---:|---:|")
        for target in (int(s) for s in args.growth.split(",") if s):
            files = (target - NAMESPACES * 4) // 4
            d = tmp / f"growth-{target}"
            resources = generate(d, files)
            ours = measure([binary, "audit", str(d)], args.runs)
            print(f"| {resources} | {files + NAMESPACES} | {ours[0]*1000:.0f} ms | {ours[0]*1e6/resources:.1f} | {ours[2]*1000:.0f} ms | {ours[1]:.0f} MiB |", flush=True)
            shutil.rmtree(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
