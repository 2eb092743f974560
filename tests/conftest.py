"""Shared fixtures: a real local service in a subprocess on loopback, with a temporary data dir."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Hypothesis keeps its examples and constants in ./.hypothesis unless told otherwise: never the repository.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="hypothesis-"))

from _service import RunningService, start_service


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the tests that only read or add their own batches."""
    svc = start_service(tmp_path_factory.mktemp("service"), "--workers", "2", "--rate-limit", "0")
    yield svc
    svc.stop()



@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Submission records go to a temporary cache dir, never the user's."""
    monkeypatch.setenv("INFINITYFRAME_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("INFINITY_TOKEN", raising=False)
    monkeypatch.delenv("INFINITY_SERVER", raising=False)
