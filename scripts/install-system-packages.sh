#!/usr/bin/env bash
# Installs the Debian packages whose servers and tools the test suite runs as real components and
# independent oracles, when one is missing (a no-op otherwise):
#   age                       age-keygen, for the SOPS interoperability tests
#   docker-registry skopeo    real registries (distribution 2.8) and skopeo, the air-gap oracle
#   openssl                   test CAs and token-server keys for the registry tests
#   etcd-server etcd-client   etcd for the backup tests; etcdctl
#   protobuf-compiler libprotobuf-dev   protoc and its well-known types (etcd-client's build)
#   postgresql-15             PostgreSQL 15 servers and clients for the backup tests
#   kubernetes-client         fallback kubectl (the machine image carries /usr/bin/kubectl 1.32),
#                             the independent client of the simulated API server's fidelity test
# Needs root and apt-get; otherwise it names what is missing and leaves it to the caller.
# Usage: scripts/install-system-packages.sh [--update]   (--update runs apt-get update first)
set -euo pipefail

missing=()
need() { # need PACKAGE PATH-OR-COMMAND
  if [[ "$2" == /* ]]; then [ -e "$2" ] || missing+=("$1"); else command -v "$2" >/dev/null || missing+=("$1"); fi
}
need age age-keygen
need docker-registry docker-registry
need skopeo skopeo
need openssl openssl
need etcd-server etcd
need etcd-client etcdctl
need protobuf-compiler protoc
need libprotobuf-dev /usr/include/google/protobuf/timestamp.proto
need postgresql-15 /usr/lib/postgresql/15/bin/pg_ctl
command -v kubectl >/dev/null || missing+=(kubernetes-client)

update=false
[ "${1:-}" = --update ] && update=true
if [ "${#missing[@]}" -eq 0 ] && ! $update; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-system-packages: missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]}); the tests that need them will say so" >&2
  fi
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if $update || [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq || echo "install-system-packages: apt-get update failed; installing from the lists already here" >&2
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-system-packages: installing ${missing[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
