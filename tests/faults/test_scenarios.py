"""Each fault scenario, once, against real worker processes: nothing lost, nothing left
running, no job run twice unless a killed process lost its outcome, no impossible row
(tests/faults/harness.py says how each is checked)."""

from __future__ import annotations

import pytest

from tests.faults.harness import SCENARIOS, Cluster, run_scenario


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_loses_nothing(fault_cluster: Cluster, scenario: str) -> None:
    outcome, logs = run_scenario(fault_cluster, scenario, seed=15)
    assert outcome.faults > 0
    assert outcome.ok, f"{outcome}\n--- worker logs (tail) ---\n{logs[-8000:]}"
    assert outcome.recover is not None, logs[-8000:]
