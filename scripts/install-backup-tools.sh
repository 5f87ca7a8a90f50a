#!/usr/bin/env bash
# Installs moto's S3 server (PyPI moto[server], pinned) into <repo>/.tools/backup-venv: the
# local S3-compatible object store the backup tests use. Idempotent: a stamp keyed by the
# pinned set makes a second run a no-op. Debian packages the backup tests need (etcd-server,
# etcd-client, protobuf-compiler, age, PostgreSQL 15) are installed by .ci/run.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/backup-venv"
python="${PYTHON:-python3}"
MOTO_VERSION=5.2.1

stamp="$venv/.stamp-moto-$MOTO_VERSION-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -f "$stamp" ] && [ -x "$venv/bin/moto_server" ]; then
  exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
touch "$stamp"
echo "installed moto[server] $MOTO_VERSION into $venv" >&2
