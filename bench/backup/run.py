#!/usr/bin/env python3
"""Backup and drill benchmark against plain pg_dump / pg_restore, side by side in one run.

Starts a PostgreSQL 15 server in a temporary directory on 127.0.0.1 (as the `postgres` user
when run as root), fills a database of at least 1 GB (pgbench tables at scale 75, plus a
table of non-ASCII text and large objects), then for each of N rounds times, as whole
processes:
  pg_dump      pg_dump --format=custom of the database
  backup       govdeploy backup run (the same dump + the census in its snapshot + manifest)
  pg_restore   createdb + pg_restore --jobs 2 --no-owner --no-acl + dropdb
  drill        govdeploy backup drill --jobs 2 (verify + the same restore + census + compare)
Prints medians, ratios and throughput, the drill report, and the error output of the
corruption cases (a flipped byte in the dump, a truncated etcd snapshot).

Usage: cargo build --release -p govdeploy-cli && python3 bench/backup/run.py [--rounds 3] [--scale 75]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOVDEPLOY = os.path.join(ROOT, "target", "release", "govdeploy")
PG_BIN = "/usr/lib/postgresql/15/bin"
PASSWORD = "bench-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_server_user(argv):
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + argv


def run(argv, env=None, check=True, capture=False):
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=int, default=75)
    ap.add_argument("--wait-for", help="fill the database, then wait until this file exists "
                    "(e.g. a marker touched when a release build finishes) before timing")
    args = ap.parse_args()
    if not args.wait_for and not os.path.exists(GOVDEPLOY):
        sys.exit("build first: cargo build --release -p govdeploy-cli")

    work = tempfile.mkdtemp(prefix="gd-bench-backup-")
    os.chmod(work, 0o777)
    data = os.path.join(work, "data")
    pw = os.path.join(work, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
        shutil.chown(pw, "postgres", "postgres")
    port = free_port()
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
               PGPASSWORD=PASSWORD, PGDATABASE="egov")
    etcd = None
    try:
        run(as_server_user([f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256",
                            f"--pwfile={pw}", "--encoding=UTF8", "--locale=C.UTF-8"]))
        opts = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_wal_size=4GB -c shared_buffers=256MB"
        run(as_server_user([f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(work, "log"), "-o", opts,
                            "-w", "start"]))
        run([f"{PG_BIN}/createdb", "egov"], env=env)
        t, _ = run([f"{PG_BIN}/pgbench", "-i", "-q", "-s", str(args.scale), "egov"], env=env)
        run([f"{PG_BIN}/psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", """
            CREATE TABLE grievances (id serial PRIMARY KEY, body text, filed timestamptz);
            INSERT INTO grievances (body, filed)
              SELECT 'ಕುಂದುಕೊರತೆ शिकायत ' || g || repeat(' ñ', g % 40), now() - g * interval '1 minute'
              FROM generate_series(1, 200000) g;
            CREATE TABLE attachments (id int PRIMARY KEY, file oid);
            INSERT INTO attachments SELECT g, lo_from_bytea(0, decode(repeat(md5(g::text), 2000), 'hex'))
              FROM generate_series(1, 200) g;"""], env=env)
        run([f"{PG_BIN}/psql", "-q", "-c", "VACUUM ANALYZE"], env=env)
        _, proc = run([f"{PG_BIN}/psql", "-At", "-c",
                       "SELECT pg_database_size('egov'), pg_size_pretty(pg_database_size('egov'))"],
                      env=env, capture=True)
        size_bytes, size_pretty = proc.stdout.strip().split("|")
        size_bytes = int(size_bytes)
        print(f"database egov: {size_pretty} ({size_bytes} bytes), filled in {t:.0f}s (pgbench -s {args.scale})")
        if size_bytes < 1 << 30:
            sys.exit("database is smaller than 1 GiB: raise --scale")
        if args.wait_for:
            for _ in range(3600):
                if os.path.exists(args.wait_for):
                    break
                time.sleep(1)
            else:
                sys.exit(f"{args.wait_for} did not appear within an hour")

        store = os.path.join(work, "store")
        times = {"pg_dump": [], "backup": [], "pg_restore": [], "drill": []}
        loads = {k: [] for k in times}
        last_id = None
        rows = []
        for r in range(args.rounds):
            dump = os.path.join(work, "plain.dump")

            def plain_dump():
                loads["pg_dump"].append(os.getloadavg()[0])
                t, _ = run([f"{PG_BIN}/pg_dump", "--format=custom", "--file", dump], env=env)
                times["pg_dump"].append(t)

            def backup():
                loads["backup"].append(os.getloadavg()[0])
                t, proc = run([GOVDEPLOY, "backup", "run", "--environment", "bench", "--pg-host", "127.0.0.1",
                               "--pg-port", str(port), "--pg-database", "egov", "--to", store],
                              env=env, capture=True)
                times["backup"].append(t)
                return proc.stdout.split()[1]

            # Alternate which goes first, so neither always runs on a warmer cache.
            if r % 2 == 0:
                plain_dump()
                last_id = backup()
            else:
                last_id = backup()
                plain_dump()
            dump_size = os.path.getsize(dump)
            loads["pg_restore"].append(os.getloadavg()[0])
            run([f"{PG_BIN}/createdb", "scratch_plain"], env=env)
            t1, _ = run([f"{PG_BIN}/pg_restore", "--jobs=2", "--no-owner", "--no-acl", "--exit-on-error",
                         "--dbname", "scratch_plain", dump], env=env)
            t2, _ = run([f"{PG_BIN}/dropdb", "scratch_plain"], env=env)
            times["pg_restore"].append(t1 + t2)
            loads["drill"].append(os.getloadavg()[0])
            t, proc = run([GOVDEPLOY, "backup", "drill", os.path.join(store, last_id), "--jobs", "2"],
                          env=env, capture=True)
            times["drill"].append(t)
            drill_report = proc.stdout
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s (load {loads[k][-1]:.1f})"
                                                 for k, v in times.items()), flush=True)
            if r + 1 < args.rounds:
                shutil.rmtree(os.path.join(store, last_id))
            os.remove(dump)

        med = {k: statistics.median(v) for k, v in times.items()}
        mib = size_bytes / (1 << 20)
        print()
        print("| round | pg_dump -Fc | govdeploy backup | ratio | pg_restore -j2 | govdeploy backup drill -j2 | ratio |")
        print("|---|---|---|---|---|---|---|")
        for r in range(args.rounds):
            print(f"| {r + 1} | {times['pg_dump'][r]:.1f} s (load {loads['pg_dump'][r]:.1f}) "
                  f"| {times['backup'][r]:.1f} s (load {loads['backup'][r]:.1f}) "
                  f"| {times['backup'][r] / times['pg_dump'][r]:.2f} "
                  f"| {times['pg_restore'][r]:.1f} s (load {loads['pg_restore'][r]:.1f}) "
                  f"| {times['drill'][r]:.1f} s (load {loads['drill'][r]:.1f}) "
                  f"| {times['drill'][r] / times['pg_restore'][r]:.2f} |")
        print(f"| **median** | **{med['pg_dump']:.1f} s** | **{med['backup']:.1f} s** "
              f"| **{med['backup'] / med['pg_dump']:.2f}** | **{med['pg_restore']:.1f} s** "
              f"| **{med['drill']:.1f} s** | **{med['drill'] / med['pg_restore']:.2f}** |")
        print()
        print(f"| step | median of {args.rounds} (s) | throughput (MiB/s of database) | ratio |")
        print("|---|---|---|---|")
        print(f"| pg_dump -Fc | {med['pg_dump']:.1f} | {mib / med['pg_dump']:.0f} | 1.00 |")
        print(f"| govdeploy backup | {med['backup']:.1f} | {mib / med['backup']:.0f} | {med['backup'] / med['pg_dump']:.2f} x pg_dump |")
        print(f"| pg_restore -j2 (+createdb/dropdb) | {med['pg_restore']:.1f} | {mib / med['pg_restore']:.0f} | 1.00 |")
        print(f"| govdeploy backup drill | {med['drill']:.1f} | {mib / med['drill']:.0f} | {med['drill'] / med['pg_restore']:.2f} x pg_restore |")
        print(f"dump file: {dump_size} bytes")
        print()
        print("drill report:")
        print(drill_report)

        # Corruption cases, on copies of the last backup (plus an etcd snapshot).
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd = subprocess.Popen(["etcd", "--data-dir", os.path.join(work, "etcd"),
                                 f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                                 f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                                 f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                                 f"--initial-cluster=default=http://127.0.0.1:{peer_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", etcd_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        for i in range(100):
            run(["etcdctl", f"--endpoints={etcd_url}", "put", f"/registry/k{i}", f"v{i}"],
                env=dict(os.environ, ETCDCTL_API="3"))
        small_store = os.path.join(work, "small")
        run([f"{PG_BIN}/createdb", "small"], env=env)
        run([f"{PG_BIN}/psql", "-q", "-d", "small", "-c",
             "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 100000) g"], env=env)
        _, proc = run([GOVDEPLOY, "backup", "run", "--environment", "bench", "--pg-host", "127.0.0.1",
                       "--pg-port", str(port), "--pg-database", "small", "--to", small_store,
                       "--etcd", etcd_url], env=env, capture=True)
        small_id = proc.stdout.split()[1]
        bdir = os.path.join(small_store, small_id)
        with open(os.path.join(bdir, "postgres.dump"), "r+b") as f:
            f.seek(os.path.getsize(f.name) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x5A]))
        snap = os.path.join(bdir, "etcd.snapshot")
        with open(snap, "r+b") as f:
            f.truncate(os.path.getsize(snap) - 4096)
        print("corruption cases: one flipped byte in postgres.dump, etcd.snapshot truncated by 4096 bytes")
        for cmd in (["backup", "verify", bdir], ["backup", "drill", bdir]):
            _, proc = run([GOVDEPLOY] + cmd, env=env, check=False, capture=True)
            print(f"$ govdeploy {' '.join(cmd).replace(work, '$WORK')}   # exit {proc.returncode}")
            print((proc.stdout + proc.stderr).replace(work, "$WORK").rstrip())
    finally:
        if etcd:
            etcd.kill()
            etcd.wait()
        subprocess.run(as_server_user([f"{PG_BIN}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
