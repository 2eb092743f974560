"""Shared fixtures: a real local service in a subprocess on loopback, with a temporary data dir."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _service import RunningService, start_service


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the tests that only read or add their own batches."""
    svc = start_service(tmp_path_factory.mktemp("service"), "--workers", "2", "--rate-limit", "0")
    yield svc
    svc.stop()

