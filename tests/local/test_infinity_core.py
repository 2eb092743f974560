"""The public infinity-core client, unchanged, against the local service.

infinity-core is not on PyPI: the tests take it from ``../shared/vendor/infinity-core`` (a
verbatim copy of the public repository, beside the project; CI has it), else from an install,
and are skipped only where neither is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _service import RunningService

VENDOR = Path(__file__).resolve().parents[3] / "shared" / "vendor" / "infinity-core"
if (VENDOR / "infinity_core").is_dir() and str(VENDOR) not in sys.path:
    sys.path.insert(0, str(VENDOR))

infinity_core = pytest.importorskip(
    "infinity_core", reason=f"infinity-core is neither at {VENDOR} nor installed (it is not on PyPI)"
)


def test_the_public_client_workflow(service: RunningService, tmp_path: Path) -> None:
    from infinity_core.batch import Batch
    from infinity_core.session import Session, get_available_generators

    assert "shapes-v0.1.0" in get_available_generators(service.token, service.url)
    sesh = Session(token=service.token, generator="shapes-v0.1.0", server=service.url)
    assert sesh.default_job["state"] is None
    jobs = [sesh.randomize_unspecified_params({"num_images": 1, "image_width": 64, "image_height": 64})
            for _ in range(3)]
    jobs = [{**j, "min_size": 0.1, "max_size": 0.2} for j in jobs]
    assert sesh.validate_job_params(jobs) == [None, None, None]
    assert sesh.estimate_samples(jobs, is_preview=True) == [1, 1, 1]
    assert sesh.estimate_samples(jobs, is_preview=False) == [1, 1, 1]

    batch = sesh.submit(jobs, is_preview=True, batch_name="from infinity-core")
    completed = batch.await_completion(polling_interval=1, timeout=120)
    assert len(completed) == 3
    assert batch.get_num_jobs_remaining() == 0
    assert batch.download(str(tmp_path / "out")) is True
    assert (tmp_path / "out" / "batch_id.txt").read_text() == batch.batch_id
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == sorted(batch.job_ids)
    for job_id in batch.job_ids:
        assert (tmp_path / "out" / job_id / "video_preview.png").exists()

    again = sesh.batch_from_api(batch.batch_id)
    assert again.job_ids == batch.job_ids and again.name == "from infinity-core"
    assert isinstance(again, Batch)
    listed = sesh.get_batches_last_n_days(1)
    assert listed[0]["batch_id"] == batch.batch_id  # newest first after the client's reversal
    usage = sesh.get_usage_stats_last_n_days(30)
    assert any(c["generator"] == "shapes-v0.1.0" and c["preview_samples_rendered"] >= 3
               for c in usage["counts_by_generator"])


def test_bad_token_and_generator_messages(service: RunningService) -> None:
    from infinity_core.session import Session, SessionInitializationError

    with pytest.raises(SessionInitializationError, match="Invalid token"):
        Session(token="0" * 40, generator="shapes-v0.1.0", server=service.url)
    with pytest.raises(SessionInitializationError, match="Invalid generator name"):
        Session(token=service.token, generator="nope-v0.0.1", server=service.url)


def _public_methods(cls: type) -> dict[str, object]:
    import inspect

    return {name: fn for name, fn in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


@pytest.mark.parametrize("kind", ["Session", "Batch"])
def test_every_alias_takes_infinity_cores_own_signature(kind: str) -> None:
    """Each method of infinity-core's Session and Batch exists on ours and takes the same calls.

    Same parameter names in the same positions with the same defaults, so any call a notebook
    makes to infinity-core — positional or keyword — means the same here. Ours may add
    parameters only after those, with defaults (so no infinity-core call can reach them).
    """
    import inspect

    from infinity_core.batch import Batch as CoreBatch
    from infinity_core.session import Session as CoreSession

    import infinityframe as inf

    core, ours = (CoreSession, inf.Session) if kind == "Session" else (CoreBatch, inf.Batch)
    problems = []
    for name, fn in _public_methods(core).items():
        mine = getattr(ours, name, None)
        if not callable(mine):
            problems.append(f"{kind}.{name} is missing")
            continue
        theirs = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
        ours_params = list(inspect.signature(mine).parameters.values())
        for i, param in enumerate(theirs):
            match = ours_params[i] if i < len(ours_params) else None
            if match is None or match.name != param.name or match.kind != param.kind or (
                    param.default is not inspect.Parameter.empty and match.default != param.default):
                problems.append(f"{kind}.{name}: parameter {i} is {match} here, {param} in infinity-core")
        for extra in ours_params[len(theirs):]:
            if extra.default is inspect.Parameter.empty and extra.kind not in (extra.VAR_POSITIONAL, extra.VAR_KEYWORD):
                problems.append(f"{kind}.{name}: {extra.name} has no default, so infinity-core's calls fail")
    assert not problems, "\n".join(problems)
