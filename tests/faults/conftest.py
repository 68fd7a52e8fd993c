"""The fault scenarios get a PostgreSQL of their own: they restart it, which the session's
shared cluster (tests/conftest.py) must never see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import Cluster, cluster


@pytest.fixture(scope="session")
def fault_cluster() -> Iterator[Cluster]:
    with cluster() as started:
        yield started
