#!/usr/bin/env bash
# Regenerates the built-in DIGIT catalogue from the DIGIT-DevOps corpus beside the project.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus/digit-devops
cargo run --release --quiet -- catalog import-digit "$corpus" \
  -o crates/govdeploy-catalog/catalogs \
  --name digit \
  --env-file "$corpus/deploy-as-code/helm/environments/egov-demo.yaml" \
  --source "egovernments/DIGIT-DevOps (branch master), data files only" \
  --commit 747949622b814c31cc04eb00b98ab52d1bb8e2f8
