#!/usr/bin/env python3
"""Air-gap benchmark: `govdeploy mirror` against `skopeo sync`, side by side in one run.

The same image set (shared base layers, per-image layers, one two-architecture index) is
pushed into a source registry (Debian's docker-registry, distribution 2.8, on 127.0.0.1);
each run copies it into a fresh, empty target registry, alternating the two tools. Reported:
median whole-process wall time of each tool and their ratio, bytes sent to the target
(through a counting TCP proxy, in a separate run per tool), and the bundle size against the
sum of the image sizes.

Usage: python3 bench/airgap/run.py [--runs N] [--binary PATH] [--scale MB]
Build first: cargo build --release -p govdeploy-cli
Needs: docker-registry, skopeo (apt-get install docker-registry skopeo).
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: bench\n"
            )
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("registry did not start")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def request(host, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def push_blob(host, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp, _ = request(host, "HEAD", f"/v2/{repo}/blobs/{digest}")
    if resp.status == 200:
        return digest, len(data)
    resp, _ = request(host, "POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    location = resp.getheader("Location")
    if location.startswith("http"):
        location = "/" + location.split("/", 3)[3]
    sep = "&" if "?" in location else "?"
    resp, body = request(host, "PUT", f"{location}{sep}digest={digest}", body=data,
                         headers={"Content-Type": "application/octet-stream"})
    assert resp.status == 201, (resp.status, body)
    return digest, len(data)


def push_manifest(host, repo, ref, manifest, media_type):
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    resp, body = request(host, "PUT", f"/v2/{repo}/manifests/{ref}", body=raw, headers={"Content-Type": media_type})
    assert resp.status == 201, (resp.status, body)
    return "sha256:" + hashlib.sha256(raw).hexdigest(), len(raw)


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def image(host, repo, arch, layers, tag=None):
    descs = [push_blob(host, repo, layer) for layer in layers]
    config = json.dumps({"architecture": arch, "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [d for d, _ in descs]}}).encode()
    cdigest, csize = push_blob(host, repo, config)
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s} for d, s in descs],
    }
    digest, size = push_manifest(host, repo, tag or "sha256:" + hashlib.sha256(
        json.dumps(manifest, separators=(",", ":")).encode()).hexdigest(), manifest, OCI_MANIFEST)
    return digest, size, csize + sum(s for _, s in descs) + size


def build_images(host, scale_mb):
    rng = random.Random(9)
    mb = 1 << 20
    base_os = rng.randbytes(int(scale_mb * 0.4 * mb))      # shared by every image
    base_jre = rng.randbytes(int(scale_mb * 0.3 * mb))     # shared by the JVM services
    images, sizes = [], []
    for i in range(8):
        layers = [base_os, base_jre, rng.randbytes(int(scale_mb * 0.08 * mb)), rng.randbytes(200_000)]
        _, _, total = image(host, f"bench/svc{i}", "amd64", layers, tag="v1")
        images.append(f"bench/svc{i}:v1")
        sizes.append(total)
    # One multi-architecture image: two per-arch manifests under an index.
    entries, total = [], 0
    for arch in ("amd64", "arm64"):
        d, s, t = image(host, "bench/multi", arch, [base_os, rng.randbytes(int(scale_mb * 0.1 * mb))])
        entries.append({"mediaType": OCI_MANIFEST, "digest": d, "size": s, "platform": {"os": "linux", "architecture": arch}})
        total += t
    _, isize = push_manifest(host, "bench/multi", "v1", {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, OCI_INDEX)
    images.append("bench/multi:v1")
    sizes.append(total + isize)
    return images, sizes


class CountingProxy:
    """127.0.0.1 TCP proxy counting client-to-server bytes."""

    def __init__(self, upstream_port):
        self.sent = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.upstream = upstream_port
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                client, _ = self.sock.accept()
            except socket.timeout:
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, False), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if count:
                    with self.lock:
                        self.sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def govdeploy_cmd(binary, source, images, target_host):
    args = [binary, "mirror", "--to", target_host, "-o", "json"]
    for i in images:
        args += ["--from", f"{source.host}/{i}"]
    return args


def skopeo_cmd(workdir, source, images, target_host):
    spec = os.path.join(workdir, "sync.yaml")
    repos = {}
    for i in images:
        repo, tag = i.split(":")
        repos.setdefault(repo, []).append(tag)
    with open(spec, "w") as f:
        f.write(f"{source.host}:\n  tls-verify: false\n  images:\n")
        for repo, tags in repos.items():
            f.write(f"    {repo}: [{', '.join(tags)}]\n")
    return ["skopeo", "sync", "--all", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
            spec, f"{target_host}/skopeo"]


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr.decode()[-2000:]}")
    return elapsed, out


def max_rss_mib(cmd, workdir):
    """Peak resident memory of one run of `cmd` (GNU time), in MiB."""
    out = os.path.join(workdir, "rss.txt")
    subprocess.run(["/usr/bin/time", "-o", out, "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    with open(out) as f:
        return int(f.read().strip().splitlines()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/govdeploy"))
    parser.add_argument("--scale", type=float, default=40.0, help="size of the shared base in MB (about)")
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing: apt-get install -y docker-registry skopeo")
    workdir = tempfile.mkdtemp(prefix="govdeploy-bench-airgap-")
    source = Registry(workdir, "source")
    try:
        images, sizes = build_images(source.host, args.scale)
        unique = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(source.dir, "data"))
                     for f in fs if f == "data" and "/blobs/" in dp)
        times = {"govdeploy mirror": [], "skopeo sync": []}
        for run in range(args.runs):
            for name in (list(times) if run % 2 == 0 else list(times)[::-1]):
                target = Registry(workdir, f"target-{run}-{name.split()[0]}")
                cmd = (govdeploy_cmd(args.binary, source, images, target.host) if name.startswith("govdeploy")
                       else skopeo_cmd(workdir, source, images, target.host))
                elapsed, _ = timed(cmd)
                times[name].append(elapsed)
                target.stop()
        sent = {}
        for name in times:
            target = Registry(workdir, f"bytes-{name.split()[0]}")
            proxy = CountingProxy(target.port)
            host = f"127.0.0.1:{proxy.port}"
            cmd = (govdeploy_cmd(args.binary, source, images, host) if name.startswith("govdeploy")
                   else skopeo_cmd(workdir, source, images, host))
            timed(cmd)
            time.sleep(0.2)
            sent[name] = proxy.sent
            if name.startswith("govdeploy"):
                # A finished mirror run again: bytes and time.
                before = proxy.sent
                rerun_time, _ = timed(cmd)
                time.sleep(0.2)
                rerun_bytes = proxy.sent - before
            proxy.stop()
            target.stop()
        lock = os.path.join(workdir, "lock.json")
        with open(lock, "w") as f:
            json.dump({"apiVersion": "govdeploy.io/v1", "kind": "ImageLock",
                       "images": [{"source": f"{source.host}/{i}", "reference": f"{source.host}/{i}"} for i in images]}, f)
        bundle = os.path.join(workdir, "bundle.tar")
        bundle_time, _ = timed([args.binary, "bundle", "--images", lock, "-o", bundle])
        bundle_size = os.path.getsize(bundle)
        os.remove(bundle)
        bundle_rss = max_rss_mib([args.binary, "bundle", "--images", lock, "-o", bundle], workdir)
        target = Registry(workdir, "rss")
        mirror_rss = max_rss_mib(govdeploy_cmd(args.binary, source, images, target.host), workdir)
        target.stop()
    finally:
        source.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["skopeo sync"] / med["govdeploy mirror"]
    total_images = sum(sizes)
    print(f"image set: {len(images)} images (one a two-architecture index), sum of image sizes {total_images:,} bytes, "
          f"distinct blobs {unique:,} bytes")
    print(f"runs: {args.runs} per tool, alternating, fresh target registry each run; 127.0.0.1, distribution 2.8")
    print()
    print("| tool | median wall time | min | max | bytes sent to target |")
    print("|---|---|---|---|---|")
    for name, samples in times.items():
        print(f"| {name} | {med[name]:.2f} s | {min(samples):.2f} s | {max(samples):.2f} s | {sent[name]:,} |")
    print()
    print(f"wall-time ratio skopeo sync / govdeploy mirror: {ratio:.2f}x")
    print(f"bytes sent: govdeploy {sent['govdeploy mirror'] / unique:.3f}x the distinct blob bytes, "
          f"skopeo {sent['skopeo sync'] / unique:.3f}x")
    print(f"finished mirror run again: {rerun_bytes:,} bytes sent, {rerun_time:.2f} s")
    print(f"bundle: {bundle_size:,} bytes in {bundle_time:.2f} s = {bundle_size / total_images:.3f} of the sum of image sizes "
          f"({total_images / bundle_size:.2f}x smaller)")
    print(f"peak memory (max RSS): bundle {bundle_rss:.1f} MiB, mirror {mirror_rss:.1f} MiB "
          f"(chunk size 16 MiB, concurrency 6)")


if __name__ == "__main__":
    main()
