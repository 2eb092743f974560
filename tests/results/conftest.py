"""Batch folders for the results tests: the real v0.4.0 fixture and small batches of our generators."""

from __future__ import annotations

from pathlib import Path

import pytest
from results_helpers import FIXTURE, SHAPES, STICKFIT, copy_writable, render_job, write_batch_id


@pytest.fixture(scope="session")
def fixture_batch() -> Path:
    """The real VisionFit v0.4.0 batch (read-only; never written to)."""
    if not (FIXTURE / "batch_id.txt").is_file():
        pytest.skip(f"the real Infinity v0.4.0 fixture is not at {FIXTURE}; these tests need ../shared/fixtures")
    return FIXTURE


@pytest.fixture
def fixture_copy(fixture_batch: Path, tmp_path: Path) -> Path:
    """A writable copy of the real fixture, to damage or cache into."""
    return copy_writable(fixture_batch, tmp_path / "batch")


@pytest.fixture(scope="session")
def stickfit_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three stickfit jobs at different camera distances (a read-only template: copy before changing)."""
    batch = tmp_path_factory.mktemp("stickfit") / "batch"
    for i, distance in enumerate((2.5, 3.5, 4.5)):
        render_job(batch, f"job-{i}", "stickfit-v0.1.0", {**STICKFIT, "camera_distance": distance}, seed=i)
    write_batch_id(batch, "stickfit-batch")
    return batch


@pytest.fixture(scope="session")
def shapes_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shapes jobs: still images with several, sometimes hidden, objects each."""
    batch = tmp_path_factory.mktemp("shapes") / "batch"
    for i in range(2):
        render_job(batch, f"shapes-{i}", "shapes-v0.1.0", SHAPES, seed=10 + i)
    write_batch_id(batch, "shapes-batch")
    return batch
