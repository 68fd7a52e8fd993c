"""The conformance suite: its cases are well-formed, each adapter passes exactly the cases its declared
capabilities allow, every deliberately lying adapter is caught, and a broken adapter fails only its own
case while the run goes on (conformance/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance.runner._cases import load_cases, load_fixtures, select_fixtures

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "conformance"
RUN = CONFORMANCE / "run"
SQL_ADAPTER = [sys.executable, str(CONFORMANCE / "adapters" / "sql" / "adapter.py")]
PYTHON_ADAPTER = [sys.executable, str(CONFORMANCE / "adapters" / "python" / "adapter.py")]
LIAR = [sys.executable, str(CONFORMANCE / "liars" / "liar.py")]


def run_suite(*args: str, report: Path) -> tuple[int, str, dict]:
    proc = subprocess.run(
        [str(RUN), "--json", str(report), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert report.exists(), output
    return proc.returncode, output, json.loads(report.read_text())


@pytest.fixture(scope="session")
def river_go_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rivergo") / "rivergo"
    subprocess.run(
        ["go", "build", "-o", str(out), "."], cwd=CONFORMANCE / "adapters" / "river-go", check=True, timeout=600
    )
    return out


def test_cases_are_valid_and_named_by_their_path():
    schema = json.loads((CONFORMANCE / "schema" / "case.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    paths = sorted((CONFORMANCE / "cases").glob("*/*.json"))
    assert len(paths) >= 60
    names = set()
    for path in paths:
        case = json.loads(path.read_text())
        assert list(validator.iter_errors(case)) == [], path
        assert case["name"] == f"{path.parent.name}/{path.stem}"
        names.add(case["name"])
    assert len(names) == len(paths)
    sections = {name.split("/")[0] for name in names}
    assert {"insert", "unique", "validation", "unicode", "tx", "contract"} <= sections


def test_every_fixture_is_in_a_case():
    fixtures = load_fixtures()
    cases = load_cases(None, fixtures)
    covered = {
        name for case in cases for step in case["steps"] if "fixture" in step
        for name in select_fixtures(fixtures, step["fixture"])
    }  # fmt: skip
    assert covered == set(fixtures)


# Each adapter's exact count of passing cases, and the capabilities it does not declare (its n/a cases).
PYTHON_PROFILE = (PYTHON_ADAPTER, 144, "")
SQL_PROFILE = (SQL_ADAPTER, 122, "args_contract,unique_key")
SQL_PLAIN_PROFILE = (
    [*SQL_ADAPTER, "--plain"],
    52,
    "args_contract,kind_validation,reserved_metadata,unique_by_args_paths,unique_jobs,unique_key,validation",
)
RIVER_GO_PASSES, RIVER_GO_NOT_DECLARED = 124, "args_contract,kind_validation,reserved_metadata,unique_by_args_paths"
# Runs with River's tables in a schema of their own (--schema), named for the adapter to use.
CUSTOM_SCHEMA = ["--schema", "conformance_custom"]


def expect_profile(passed: int, not_declared: str) -> list[str]:
    return ["--expect-passed", str(passed), "--expect-na-capabilities", not_declared]


@pytest.mark.parametrize(
    ("profile", "options"),
    [
        (PYTHON_PROFILE, []),
        (PYTHON_PROFILE, CUSTOM_SCHEMA),
        (SQL_PROFILE, []),
        (SQL_PROFILE, CUSTOM_SCHEMA),
        (SQL_PLAIN_PROFILE, []),
    ],
    ids=["python", "python-custom-schema", "sql", "sql-custom-schema", "sql-plain"],
)
def test_adapter_passes_exactly_its_profile(profile: tuple[list[str], int, str], options: list[str], tmp_path: Path):
    command, passed, not_declared = profile
    code, output, report = run_suite(
        *options, *expect_profile(passed, not_declared), "--", *command, report=tmp_path / "report.json"
    )
    assert code == 0, output
    assert (report["passed"], report["failed"], report["unmet_expectations"]) == (passed, 0, []), output
    assert output.rstrip().splitlines()[-1] == f"{passed} passed, 0 failed, {report['not_applicable']} not applicable"


@pytest.mark.parametrize("options", [[], CUSTOM_SCHEMA], ids=["public", "custom-schema"])
def test_river_go_passes_exactly_its_profile(river_go_adapter: Path, options: list[str], tmp_path: Path):
    """River Go is the reference: it passes every case it can express, and declares what it cannot."""
    code, output, report = run_suite(
        *options, *expect_profile(RIVER_GO_PASSES, RIVER_GO_NOT_DECLARED), "--", str(river_go_adapter),
        report=tmp_path / "go.json",
    )  # fmt: skip
    assert code == 0, output
    assert report["failed"] == 0


def test_expectations_the_run_does_not_meet_fail_it(tmp_path: Path):
    code, output, report = run_suite(
        "--case", "insert/defaults", "--case", "contract/accepted",
        "--expect-passed", "3", "--expect-na-capabilities", "args_contract",
        "--", *SQL_ADAPTER,
        report=tmp_path / "report.json",
    )  # fmt: skip
    assert code == 1, output
    assert report["unmet_expectations"] == ["1 cases passed, expected exactly 3"]
    assert report["not_applicable_because"] == {"args_contract": ["contract/accepted"]}
    assert "n/a, args_contract not declared (1): contract/accepted" in output


# Lie -> (a case it breaks, text the failure must contain: the column or check it got wrong).
LIES = {
    "wrong_state": ("insert/pending", ["row 1.state is 'available', the spec requires 'pending'", "job 1.state"]),
    "wrong_unique_key": ("unique/by_args_duplicate", ["row 1.unique_key is"]),
    "wrong_priority": ("insert/max_attempts_only", ["row 1.priority is 2, the spec requires 1"]),
    "dropped_tags": ("insert/many_mixed_options", ["row 3.tags is [], the spec requires ['late']"]),
    "non_transactional": ("tx/rollback_discards", ["job 1 inserted in rolled-back t1 still exists"]),
    "unsupported_declared": ("tx/commit_makes_visible", ["answered -32004", "declares transactions"]),
    "duplicate_as_inserted": ("unique/by_args_duplicate", ["unique_skipped_as_duplicate is false, but job 1"]),
    "stale_duplicate": ("unique/conflict_running_row", ["job 1.state: the adapter reported 'available'"]),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_lying_adapter_fails_the_case_naming_the_column(lie: str, tmp_path: Path):
    case, wanted = LIES[lie]
    code, output, report = run_suite("--case", case, "--", *LIAR, f"--lie={lie}", report=tmp_path / "r.json")
    assert code == 1, output
    [outcome] = report["cases"]
    assert outcome["name"] == case
    assert not outcome["passed"], output
    problems = "\n".join(outcome["problems"])
    for text in wanted:
        assert text in problems, output
    assert f"FAIL  {case}" in output


def test_the_liars_lie_only_where_they_say(tmp_path: Path):
    """A liar's lie is its only fault: a case it does not touch passes."""
    code, output, _ = run_suite(
        "--case", "insert/queue_only", "--", *LIAR, "--lie=wrong_state", report=tmp_path / "r.json"
    )
    assert code == 0, output


@pytest.mark.parametrize("lie", ["crash", "hang", "garbage", "wrong_id", "malformed"])
def test_a_broken_adapter_fails_its_case_and_the_run_goes_on(tmp_path: Path, lie: str):
    code, output, report = run_suite(
        "--timeout", "3",
        "--case", "insert/defaults", "--case", "insert/priority_only", "--case", "tx/rollback_discards",
        "--", *LIAR, f"--lie={lie}",
        report=tmp_path / "report.json",
    )  # fmt: skip
    assert code == 1, output
    outcome = {case["name"]: case for case in report["cases"]}
    assert not outcome["insert/defaults"]["passed"]
    problems = "\n".join(outcome["insert/defaults"]["problems"])
    assert "adapter failure" in problems
    assert f"liar: about to misbehave: {lie}" in problems
    assert outcome["insert/priority_only"]["passed"], output
    assert outcome["tx/rollback_discards"]["passed"], output
    assert "2 passed, 1 failed, 0 not applicable" in output
