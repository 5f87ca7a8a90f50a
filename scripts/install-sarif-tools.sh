#!/usr/bin/env bash
# Installs the independent SARIF validators the audit tests run against `govdeploy audit -o sarif`
# into <repo>/.tools/sarif (gitignored):
#   - Microsoft's SARIF Multitool (npm, a self-contained .NET binary): `validate` applies the
#     SARIF 2.1.0 schema and the SARIF SDK's rules (SARIF1xxx/SARIF2xxx);
#   - Python jsonschema, which validates against the sarif-2.1.0.json schema shipped inside the
#     Multitool package; the Multitool's own schema check misses enum and minimum violations.
# Idempotent: a stamp keyed by the pinned set makes a second run a quick no-op.
#
# Usage: scripts/install-sarif-tools.sh   (PYTHON=/path/to/python3 to pick the interpreter)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/sarif"
python="${PYTHON:-python3}"

SARIF_MULTITOOL_VERSION=5.7.0
PYTHON_LOCK="jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 attrs==26.1.0 rpds-py==2026.9.1 typing_extensions==4.16.0"

stamp="$dest/.installed"
want="multitool=$SARIF_MULTITOOL_VERSION python=$("$python" -c 'import sys; print(sys.version.split()[0])') $PYTHON_LOCK"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "SARIF tools already installed in $dest"
  exit 0
fi

mkdir -p "$dest"
npm install --prefix "$dest" --no-audit --no-fund --save-exact \
  "@microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION" \
  "@microsoft/sarif-multitool-linux@$SARIF_MULTITOOL_VERSION"
multitool="$dest/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
# The package's postinstall does this, but npm may be configured not to run install scripts.
chmod u+x "$multitool"

"$python" -m venv "$dest/venv"
# shellcheck disable=SC2086 # the lock is a list of words
"$dest/venv/bin/pip" install --quiet --disable-pip-version-check $PYTHON_LOCK

"$multitool" --version >/dev/null 2>&1
"$dest/venv/bin/python" -c 'import jsonschema'
echo "$want" > "$stamp"
echo "SARIF tools installed in $dest"
