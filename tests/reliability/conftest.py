"""The reliability suite: every test here is marked ``reliability``; the profile picks its size.

Every test here also checks that no process it started outlives it (a service, a worker of its
pool, a client script): see ``tests/_procs.py``. Services shared by several tests (session or
module fixtures) are started before the check begins and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _reliability import PROFILE

from _procs import no_process_outlives

HERE = Path(__file__).resolve().parent


def pytest_report_header(config: pytest.Config) -> str:
    return f"infinityframe reliability profile: {PROFILE.name} (INFINITYFRAME_RELIABILITY=quick|long)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
            if PROFILE.name == "long":
                item.add_marker(pytest.mark.timeout(1800))


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    # A service stopped by the test ends its workers within its own stop; a killed one's workers
    # die with it (PR_SET_PDEATHSIG) — the grace covers the kernel and the pool reaping them.
    with no_process_outlives(grace=15.0):
        yield
