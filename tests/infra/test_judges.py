"""Outside judges: cfn-lint (informational checks and the serverless rules included) and checkov on every stage's
synthesized templates, bandit on the code, pip-audit on both lock files.

The judges run from their own virtualenv (``.venv-judges``, ``requirements/judges.lock``; ``make test`` installs
it). Each template judge runs once over all stages' templates, twice: as synthesized, where nothing may be
found, and with every waiver stripped, where exactly the waived findings must come back. So no waiver is stale
or broader than what it excuses, and the suppression counts below are measured, not declared.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from bazaar import manifest, resources
from bazaar.manifest import GRANT_ENV
from infra.judges import TEMPLATE_WAIVERS, WAIVERS, WAIVERS_KEY, is_checkov

from .conftest import REPORT, STAGES, Assemblies, Json
from .helpers import functions

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
JUDGES_BIN = REPO / ".venv-judges" / "bin"
CODE = ("app.py", "functions", "shared", "infra", "local", "layers")  # what ships or runs; tests excluded
LOCK_FILES = ("requirements/dev.lock", "layers/requirements.txt")
DEVELOPERS = REPO / "DEVELOPERS.md"


def judge(name: str) -> str:
    path = JUDGES_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: `make test` installs the judges' virtualenv (.venv-judges)")
    return str(path)


@dataclass
class Verdicts:
    """What the judges said, per stage; findings as (stage, logical id or "", rule)."""

    cfn_lint: list[Json]
    cfn_lint_stripped: list[Json]
    checkov: dict[str, Any]
    checkov_stripped: dict[str, Any]
    waived: set[tuple[str, str, str]] = field(default_factory=set)  # (stage, logical id, rule) in the metadata
    templates: dict[str, dict[str, Json]] = field(default_factory=dict)  # stage -> file name -> template


def _stage_of(filename: str) -> str:
    return next(s for s in STAGES if f"Bazaar-{s}-" in filename)


def _strip(template: Json) -> Json:
    bare = copy.deepcopy(template)
    bare.pop("Metadata", None)
    for r in bare["Resources"].values():
        for key in ("checkov", "cfn-lint", WAIVERS_KEY):
            r.get("Metadata", {}).pop(key, None)
    return bare


def _checkov_results(report: Any) -> dict[str, list[Json]]:
    reports = report if isinstance(report, list) else [report]
    out: dict[str, list[Any]] = {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}
    for r in reports:
        for key in out:
            out[key] += r["results"].get(key, [])
    return out


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _collect(proc: subprocess.Popen, what: str, ok_codes: tuple[int, ...]) -> Any:
    out, err = proc.communicate(timeout=300)
    if proc.returncode not in ok_codes:
        pytest.fail(f"{what} exited {proc.returncode}: {err[-2000:]}")
    try:
        return json.loads(out)
    except ValueError:
        pytest.fail(f"{what} printed no JSON: {out[-1000:]} {err[-1000:]}")


@pytest.fixture(scope="session")
def verdicts(assemblies: Assemblies, tmp_path_factory: pytest.TempPathFactory) -> Verdicts:
    waived_dir = tmp_path_factory.mktemp("judged")
    stripped_dir = tmp_path_factory.mktemp("stripped")
    templates: dict[str, dict[str, Json]] = {}
    for stage in STAGES:
        synth = assemblies[stage]
        for path in sorted(synth.outdir.glob("*.template.json")):
            template = json.loads(path.read_text())
            templates.setdefault(stage, {})[path.name] = template
            (waived_dir / path.name).write_text(json.dumps(template, indent=1))
            (stripped_dir / path.name).write_text(json.dumps(_strip(template), indent=1))
    names = sorted(p.name for p in waived_dir.glob("*.template.json"))
    cfn_lint = [judge("cfn-lint"), "--format", "json", "--include-checks", "I", "--append-rules",
                "cfn_lint_serverless.rules", "--", *names]
    checkov = [judge("checkov"), "--skip-download", "--framework", "cloudformation", "--output", "json", "--compact",
               *[a for n in names for a in ("--file", n)]]
    # All four at once: each is single-threaded, and the machine has two cores.
    procs = {(tool, d): _spawn(args, d) for tool, args in (("cfn-lint", cfn_lint), ("checkov", checkov))
             for d in (waived_dir, stripped_dir)}
    # cfn-lint exits with a bit mask of what it found (2 error, 4 warning, 8 informational); checkov 1 on failures.
    got = {key: _collect(p, f"{key[0]} on {key[1].name}", (0, 2, 4, 6, 8, 10, 12, 14) if key[0] == "cfn-lint"
                         else (0, 1)) for key, p in procs.items()}
    v = Verdicts(got["cfn-lint", waived_dir], got["cfn-lint", stripped_dir], got["checkov", waived_dir],
                 got["checkov", stripped_dir], templates=templates)
    for stage, files in templates.items():
        for template in files.values():
            for lid, r in template["Resources"].items():
                for rule in r.get("Metadata", {}).get(WAIVERS_KEY, {}):
                    v.waived.add((stage, lid, rule))
    _report(v)
    return v


def _cfn_lint_findings(matches: list[Json]) -> set[tuple[str, str, str]]:
    out = set()
    for m in matches:
        path = m["Location"]["Path"]
        lid = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        out.add((_stage_of(m["Filename"]), lid, m["Rule"]["Id"]))
    return out


def _checkov_findings(results: list[Json]) -> set[tuple[str, str, str]]:
    return {(_stage_of(r["file_path"]), r["resource"].split(".", 1)[1], r["check_id"]) for r in results}


def _report(v: Verdicts) -> None:
    levels = {"Error": "errors", "Warning": "warnings", "Informational": "informational"}
    stripped_lint = Counter(_stage_of(m["Filename"]) for m in v.cfn_lint_stripped)
    ck, ck_bare = _checkov_results(v.checkov), _checkov_results(v.checkov_stripped)
    for stage in STAGES:
        found = Counter(levels[m["Level"]] for m in v.cfn_lint if _stage_of(m["Filename"]) == stage)
        lint = ", ".join(f"{found[k]} {k}" for k in levels.values())
        suppressed = stripped_lint[stage] - sum(found.values())
        passed, failed, skipped = (sum(_stage_of(r["file_path"]) == stage for r in ck[k])
                                   for k in ("passed_checks", "failed_checks", "skipped_checks"))
        bare_failed = sum(_stage_of(r["file_path"]) == stage for r in ck_bare["failed_checks"])
        REPORT.append(f"judges {stage}: cfn-lint (+I, serverless rules) {lint}, {suppressed} suppressed "
                      f"(of {stripped_lint[stage]} without waivers); checkov {passed} passed, {failed} failed, "
                      f"{skipped} suppressed (of {bare_failed} failures without waivers)")
    rules = Counter(rule for _, _, rule in v.waived)
    REPORT.append("judges: waived findings by rule, all stages: " + ", ".join(f"{r} {n}" for r, n in sorted(rules.items())))


def test_cfn_lint_finds_nothing_in_any_stage(verdicts: Verdicts) -> None:
    assert [(m["Rule"]["Id"], m["Filename"], m["Location"]["Path"][:2], m["Message"]) for m in verdicts.cfn_lint] == []
    assert {_stage_of(n) for n in _names(verdicts)} == set(STAGES)


def _names(v: Verdicts) -> list[str]:
    return [name for files in v.templates.values() for name in files]


def test_checkov_finds_nothing_unsuppressed_in_any_stage(verdicts: Verdicts) -> None:
    results = _checkov_results(verdicts.checkov)
    assert [(r["check_id"], r["file_path"], r["resource"]) for r in results["failed_checks"]] == []
    assert results["parsing_errors"] == []
    assert {_stage_of(r["file_path"]) for r in results["passed_checks"]} == set(STAGES)


def test_every_resource_waiver_silences_a_real_finding_and_nothing_else(verdicts: Verdicts) -> None:
    """Without the waivers, the judges report exactly the waived (stage, resource, rule) triples."""
    bare_lint = _cfn_lint_findings(verdicts.cfn_lint_stripped)
    bare_checkov = _checkov_findings(_checkov_results(verdicts.checkov_stripped)["failed_checks"])
    resource_level = {f for f in bare_lint if f[2] not in TEMPLATE_WAIVERS}
    waived_lint = {w for w in verdicts.waived if not is_checkov(w[2])}
    waived_checkov = {w for w in verdicts.waived if is_checkov(w[2])}
    assert waived_lint == resource_level
    assert waived_checkov == bare_checkov
    skipped = _checkov_findings(_checkov_results(verdicts.checkov)["skipped_checks"])
    assert skipped == waived_checkov  # checkov read every waiver written for it


def test_template_waivers_cover_only_generated_text_and_are_used(verdicts: Verdicts) -> None:
    template_level = {rule for _, _, rule in _cfn_lint_findings(verdicts.cfn_lint_stripped) if rule in TEMPLATE_WAIVERS}
    assert template_level == set(TEMPLATE_WAIVERS)
    assert all(rule.startswith(("I", "W")) for rule in TEMPLATE_WAIVERS)  # never an error, never a serverless rule


def test_every_waiver_in_the_table_is_used_and_explained(verdicts: Verdicts) -> None:
    used = {rule for _, _, rule in verdicts.waived}
    for w in WAIVERS:
        assert len(w.reason) >= 60 and w.name, w
        assert set(w.rules) <= used, f"waiver for {w.name} ({w.rules}) matches no finding in any stage"
    for files in verdicts.templates.values():
        for template in files.values():
            for lid, r in template["Resources"].items():
                meta = r.get("Metadata", {})
                waivers = meta.get(WAIVERS_KEY, {})
                checkov = {s["id"]: s["comment"] for s in meta.get("checkov", {}).get("skip", [])}
                lint = set(meta.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []))
                assert checkov == {k: v for k, v in waivers.items() if is_checkov(k)}, lid
                assert lint == {k for k in waivers if not is_checkov(k)}, lid


def test_function_environments_hold_no_secret(synth) -> None:
    """What the CKV_AWS_173 waiver relies on: variable names from the manifest and the grants, and a name that
    sounds secret only ever holds an id or an ARN."""
    allowed = set(GRANT_ENV.values()) | set(resources.base_environment("x", manifest.FUNCTIONS[0])) | {
        k for fn in manifest.FUNCTIONS for k in fn.environment}
    for name, (_, props) in functions(synth).items():
        variables = props["Environment"]["Variables"]
        assert set(variables) <= allowed, (name, set(variables) - allowed)
        for var in variables:
            if any(word in var for word in ("SECRET", "PASSWORD", "TOKEN", "KEY")):
                assert var.endswith(("_ID", "_ARN")), (name, var)


# --- code and dependencies -------------------------------------------------------------------------------------

def test_bandit_finds_no_medium_or_high_issue() -> None:
    proc = subprocess.run([judge("bandit"), "-r", *CODE, "-f", "json", "-q"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    serious = [(r["test_id"], r["issue_severity"], f'{r["filename"]}:{r["line_number"]}', r["issue_text"])
               for r in report["results"] if r["issue_severity"] in ("MEDIUM", "HIGH")]
    totals = report["metrics"]["_totals"]
    low = Counter(r["test_id"] for r in report["results"] if r["issue_severity"] == "LOW")
    REPORT.append(f"bandit ({', '.join(CODE)}; {totals['loc']} lines): {totals['SEVERITY.HIGH']} high, "
                  f"{totals['SEVERITY.MEDIUM']} medium, {totals['SEVERITY.LOW']} low "
                  f"({', '.join(f'{k} {n}' for k, n in sorted(low.items()))}), {totals['nosec']} nosec")
    assert serious == []


def _documented_advisories() -> str:
    """The "Known dependency advisories" section of DEVELOPERS.md: where an accepted advisory is explained."""
    text = DEVELOPERS.read_text()
    return text.split("## Known dependency advisories", 1)[1] if "## Known dependency advisories" in text else ""


def _pip_audit(service: str) -> tuple[Optional[dict[str, Any]], str]:
    """pip-audit's JSON report of both lock files against ``service``, or why it could not run."""
    args = [judge("pip-audit"), "--progress-spinner", "off", "--format", "json", "--no-deps", "--disable-pip",
            "--vulnerability-service", service, "--timeout", "10"]
    for lock in LOCK_FILES:
        args += ["--requirement", lock]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(proc.stdout), ""
    except ValueError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{service}: {last[:200]}"


@pytest.mark.network
def test_pip_audit_of_both_lock_files_finds_only_documented_advisories() -> None:
    """Needs a vulnerability database (PyPI's per-version JSON API or OSV), which this project's machines cannot
    reach: so it is not part of ``make test`` (marker ``network``) and ``make audit-deps`` runs it. Where no
    database answers it fails: an audit that did not happen is never a pass."""
    reasons = []
    for service in ("pypi", "osv"):
        report, why = _pip_audit(service)
        if report is None:
            reasons.append(why)
            continue
        deps = report["dependencies"]
        unaudited = [d["name"] for d in deps if "skip_reason" in d]
        if len(unaudited) == len(deps):
            first = next((d["skip_reason"] for d in deps if "skip_reason" in d), "nothing to audit")
            reasons.append(f"{service}: 0 of {len(deps)} packages audited ({first[:120]})")
            continue
        assert unaudited == [], f"{service} could not audit {unaudited}"
        documented = _documented_advisories()
        found = [(d["name"], d["version"], v["id"], v.get("aliases", [])) for d in deps for v in d["vulns"]]
        undocumented = [f for f in found if not any(i in documented for i in [f[2], *f[3]])]
        REPORT.append(f"pip-audit ({service}; {', '.join(LOCK_FILES)}): {len(deps)} packages audited, "
                      f"{len(found)} known vulnerabilities ({len(found) - len(undocumented)} documented in "
                      f"DEVELOPERS.md): {found}")
        assert undocumented == []
        return
    pytest.fail("pip-audit NOT RUN: no vulnerability database reachable from this machine (" + "; ".join(reasons)
                + "). Run `make audit-deps` where PyPI's JSON API or OSV answers.")
