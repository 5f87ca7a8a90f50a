#!/usr/bin/env bash
# Installs the Python tools the test suite runs as independent oracles into <repo>/.tools/venv
# (gitignored): kubernetes-validate (offline schema validation of rendered objects) and checkov
# (peer security audit). Idempotent: a stamp keyed by the pinned set and the Python version makes
# a second run a quick no-op. See docs/tools.md for how the tests call them.
#
# Usage: scripts/install-tools.sh        (PYTHON=/path/to/python3 to pick the interpreter)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
venv="$tools/venv"
python="${PYTHON:-python3}"

# The two tools, pinned; bump these together with the lock below.
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30

# Every package of the venv, pinned (pip freeze of a fresh install of the two tools above on
# CPython 3.11), so that a new machine gets the same checkov rules and the same jsonschema.
lock() {
  cat <<EOF
kubernetes-validate==$KUBERNETES_VALIDATE_VERSION
checkov==$CHECKOV_VERSION
aiodns==3.6.1
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiomultiprocess==0.9.1
aiosignal==1.4.0
annotated-types==0.8.0
argcomplete==3.7.2
asteval==1.0.6
attrs==26.1.0
bc-detect-secrets==1.5.52
bc-jsonpath-ng==1.6.1
bc-python-hcl2==0.4.3
beartype==0.23.1
beautifulsoup4==4.15.0
boolean.py==5.0
boto3==1.35.49
botocore==1.35.99
cached-property==2.0.1
cachetools==5.5.2
certifi==2026.10.18
cffi==2.1.1
charset-normalizer==3.5.2
click==8.5.1
click-option-group==0.5.9
cloudsplaining==0.7.0
colorama==0.4.6
ConfigArgParse==1.9.0
contextlib2==21.6.0
cyclonedx-python-lib==7.6.2
decorator==5.3.1
defusedxml==0.7.1
docker==7.2.0
dockerfile-parse==2.0.1
dpath==2.1.3
ecdsa==0.19.2
frozenlist==1.8.0
gitdb==4.0.12
GitPython==3.2.1
idna==3.20
importlib_metadata==7.2.1
importlib_resources==7.1.0
Jinja2==3.1.6
jmespath==1.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
junit-xml==1.9
lark==1.3.1
license-expression==30.4.4
Markdown==3.11.3
MarkupSafe==3.0.4
multidict==7.2.1
networkx==2.6.3
numpy==2.4.6
orjson==3.13.0
packageurl-python==0.13.4
packaging==23.2
platformdirs==4.14.7
ply==3.11
policy_sentry==0.13.2
prettytable==3.18.0
propcache==0.5.4
py-serializable==1.1.2
pycares==4.11.0
pycep-parser==0.5.1
pycparser==3.12
pydantic==2.14.3
pydantic_core==2.50.4
pyparsing==3.3.3
python-dateutil==2.9.0.post0
PyYAML==6.0.3
rdflib==7.6.0
referencing==0.37.0
regex==2026.11.15
requests==2.34.2
rpds-py==2026.9.1
rustworkx==0.18.1
s3transfer==0.10.4
schema==0.7.5
semantic-version==2.10.0
six==1.17.0
smmap==5.0.3
sortedcontainers==2.4.0
soupsieve==4.1.2
spdx-tools==0.8.5
tabulate==0.9.0
termcolor==2.3.0
tqdm==4.70.1
typing-inspection==0.4.5
typing_extensions==4.16.0
unidiff==1.0.1
uritools==6.1.5
urllib3==2.8.0
wcwidth==0.9.4
xmltodict==1.0.4
yarl==1.25.1
zipp==4.1.2
EOF
}

die() { echo "install-tools: error: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found: install CPython 3 with pip and venv"
py_version="$("$python" -c 'import sys; print(sys.version.split()[0])')" \
  || die "$python does not run"
key="$( { lock; echo "python=$py_version"; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.installed"

installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
    [ -x "$venv/bin/kubernetes-validate" ] && [ -x "$venv/bin/checkov" ] &&
    "$venv/bin/python" - "$KUBERNETES_VALIDATE_VERSION" "$CHECKOV_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if [version("kubernetes-validate"), version("checkov")] == sys.argv[1:] else 1)
PY
}

report() {
  echo "install-tools: kubernetes-validate $KUBERNETES_VALIDATE_VERSION and checkov $CHECKOV_VERSION $1 $venv/bin"
}

mkdir -p "$tools"
# One install at a time (two test runs started together would otherwise race on the venv).
exec 9>"$tools/.lock"
if command -v flock >/dev/null; then flock 9; fi

if installed; then
  report "already in"
  exit 0
fi

echo "install-tools: creating $venv (Python $py_version)"
rm -rf "$venv"
"$python" -m venv "$venv" || die "could not create a venv with $python (is the venv module installed?)"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --timeout 30 --retries 2)

# Ask the index once (its page for one package, not a download), so that an unreachable PyPI is
# told apart from a failed install.
if ! probe="$("${pip[@]}" index versions "kubernetes-validate" 2>&1)" ||
    ! grep -q -F "$KUBERNETES_VALIDATE_VERSION" <<<"$probe"; then
  grep -v -F 'pip index is currently an experimental command' <<<"$probe" >&2 || true
  rm -rf "$venv"
  die "pip cannot reach PyPI (or the package index pip is configured with) or it does not offer \
kubernetes-validate $KUBERNETES_VALIDATE_VERSION, so the pinned tools cannot be installed. Check the \
network and pip's index settings (pip config list), then re-run scripts/install-tools.sh."
fi

lockfile="$tools/requirements.lock"
lock >"$lockfile"
echo "install-tools: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION, checkov $CHECKOV_VERSION and their pinned dependencies (about a minute)"
if ! "${pip[@]}" install --quiet --requirement "$lockfile"; then
  rm -rf "$venv"
  die "pip install of the pinned tools failed (see pip's output above)"
fi
"${pip[@]}" check >/dev/null || { rm -rf "$venv"; die "pip check found broken requirements in $venv"; }
echo "$key" >"$stamp"
installed || die "the venv at $venv does not hold the pinned versions after installing"
report "installed in"
