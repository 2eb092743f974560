"""A session for the learning tests: its own account on the shared local service, so balances are its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import infinityframe as inf
from _service import RunningService


@pytest.fixture(scope="session")
def owner(service: RunningService) -> str:
    return service.add_account("learner", 100_000)


@pytest.fixture(scope="module")
def sesh(service: RunningService, owner: str) -> Iterator[inf.Session]:
    with inf.Session(owner, "stickfit-v0.1.0", server=service.url) as session:
        yield session
