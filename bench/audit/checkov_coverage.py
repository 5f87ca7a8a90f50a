#!/usr/bin/env python3
"""Checklist coverage: govdeploy audit next to checkov on the same fixtures.

For every rule's violation fixture (crates/govdeploy-audit/tests/fixtures/violations/), lists
whether `govdeploy audit` reports the rule and which checkov checks fail on the fixture that do
not fail on the clean hardened example (the checks that noticed the violation). One checkov run
over all fixtures. Prints a Markdown table.

    scripts/install-tools.sh && cargo build --release
    python3 bench/audit/checkov_coverage.py [--govdeploy target/release/govdeploy]
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates/govdeploy-audit/tests/fixtures"


def checkov_failures(directory, checkov):
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE")
    out = subprocess.run(
        [checkov, "-d", str(directory), "--framework", "kubernetes", "--quiet", "-o", "json", "--skip-download"],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
    )
    data = json.loads(out.stdout)
    reports = data if isinstance(data, list) else [data]
    failures, names = {}, {}
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            name = pathlib.Path(check["file_path"]).name
            failures.setdefault(name, set()).add(check["check_id"])
            names[check["check_id"]] = check.get("check_name", "")
    return failures, names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--govdeploy", default=str(ROOT / "target/release/govdeploy"))
    parser.add_argument("--checkov", default=str(ROOT / ".tools/venv/bin/checkov"))
    args = parser.parse_args()
    if not pathlib.Path(args.checkov).exists():
        sys.exit("checkov is missing: run scripts/install-tools.sh")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        shutil.copy(FIXTURES / "hardened.yaml", tmp / "hardened.yaml")
        for f in sorted((FIXTURES / "violations").glob("*.yaml")):
            shutil.copy(f, tmp / f.name)
        failures, names = checkov_failures(tmp, args.checkov)
    baseline = failures.get("hardened.yaml", set())
    rules = json.loads(subprocess.run([args.govdeploy, "audit", "--rules", "-o", "json"], capture_output=True, text=True, check=True).stdout)
    rows, ours, theirs = [], 0, 0
    for rule in rules:
        fixture = FIXTURES / "violations" / f"{rule['id']}.yaml"
        report = json.loads(subprocess.run(
            [args.govdeploy, "audit", str(fixture), "--config", str(FIXTURES / "audit.yaml"), "-o", "json", "--today", "2026-12-01"],
            capture_output=True, text=True).stdout)
        fired = any(f["ruleId"] == rule["id"] and not f.get("waived") for f in report["findings"])
        new = sorted(failures.get(fixture.name, set()) - baseline)
        ours += fired
        theirs += bool(new)
        checks = ", ".join(f"{c} ({names.get(c, '')})" for c in new) or "—"
        rows.append(f"| {rule['id']} | {rule['item']} | {'yes' if fired else 'NO'} | {checks} |")
    print(f"checkov baseline on hardened.yaml: {len(baseline)} failing check(s): {', '.join(sorted(baseline)) or 'none'}\n")
    print("| rule | checklist item | govdeploy audit | checkov 3.3.30: checks that newly fail |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{len(rules)} violations: govdeploy audit reports {ours}, checkov notices {theirs}.")


if __name__ == "__main__":
    main()
