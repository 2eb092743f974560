"""A Session you can hold: close() and ``with``, the ``inf.use`` default, and submit never
spending on whichever session happened to be made last. Against the real local service."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

import infinityframe as inf
from _service import RunningService
from infinityframe.client import session as session_module

SHAPES = "shapes-v0.1.0"
JOB = {"num_images": 1, "num_objects": 1, "image_width": 64, "image_height": 64}


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """No session made by earlier tests counts as the most recent or as a frame's origin."""
    monkeypatch.setattr(session_module, "_sessions", session_module._Sessions())


def batches(service: RunningService) -> int:
    return len(service.get("batch/").json())


class TestClose:
    def test_with_block_closes_and_a_closed_session_sends_nothing(self, service: RunningService) -> None:
        with inf.Session(service.token, SHAPES, server=service.url) as sesh:
            assert sesh.estimate([JOB]) == [1]
            assert not sesh.closed
        assert sesh.closed and "closed" in repr(sesh)
        before = batches(service)
        with pytest.raises(inf.InfinityError, match="closed"):
            sesh.submit([JOB], name="after close")
        assert batches(service) == before
        sesh.close()  # twice is fine

    def test_a_closed_session_is_nobodys_default(self, service: RunningService, fresh_registry: None) -> None:
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        frame = sesh.sample(1, seed=0, **JOB)
        sesh.close()
        with pytest.raises(inf.InfinityError, match="pass session="):
            pd.DataFrame({"num_objects": [2]}).infinity.validate()
        with pytest.raises(inf.InfinityError, match="no open session to it is left"):
            frame.infinity.submit(name="closed origin")
        with pytest.raises(inf.InfinityError, match="is closed"):
            frame.infinity.validate(sesh)


class TestSpendingNeedsToBeTold:
    def test_submit_does_not_take_the_latest_session(self, service: RunningService, fresh_registry: None) -> None:
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        jobs = pl.DataFrame({"num_objects": [2]})  # polars: no attrs, no origin
        assert len(jobs.infinity.validate()) == 1  # a verb that spends nothing may use the latest
        before = batches(service)
        with pytest.raises(inf.InfinityError, match=r"inf\.use\(sesh\)"):
            jobs.infinity.submit(name="not told")
        assert batches(service) == before
        batch = jobs.infinity.submit(sesh, name="told", mode="force")
        assert batch.num_jobs == 1

    def test_use_sets_the_default_for_a_block(self, service: RunningService, fresh_registry: None) -> None:
        shapes = inf.Session(service.token, SHAPES, server=service.url)
        inf.Session(service.token, "stickfit-v0.1.0", server=service.url)  # made last
        jobs = pl.DataFrame({"num_objects": [3]})
        with inf.use(shapes) as chosen:
            assert chosen is shapes
            batch = jobs.infinity.submit(name="used", mode="force")
            assert batch.generator == SHAPES
        with pytest.raises(inf.InfinityError, match=r"inf\.use"):
            jobs.infinity.submit(name="after the block")

    def test_a_frame_remembers_where_it_came_from(self, service: RunningService, fresh_registry: None) -> None:
        shapes = inf.Session(service.token, SHAPES, server=service.url)
        frame = shapes.sample(1, seed=1, **JOB)
        stickfit = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        with inf.use(stickfit):  # the frame's own session comes before the default
            batch = frame.infinity.submit(name="origin first", mode="force")
        assert batch.generator == SHAPES

    def test_use_takes_a_session(self) -> None:
        with pytest.raises(TypeError, match="takes a Session"):
            inf.use("stickfit-v0.1.0")  # type: ignore[arg-type]


def test_closing_a_newer_session_leaves_the_older_one_in_charge(service: RunningService,
                                                               fresh_registry: None) -> None:
    older = inf.Session(service.token, SHAPES, server=service.url)
    frame = older.sample(1, seed=2, **JOB)
    with inf.Session(service.token, SHAPES, server=service.url):
        pass  # the same service and generator, newer, then closed
    batch = frame.infinity.submit(name="older one", mode="force")  # found through the frame's origin
    assert batch.session is older
