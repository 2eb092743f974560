"""The names the docstrings' examples use, for pytest's doctests of ``src/infinityframe``.

An example runs as written against the embedded local service, started once in a temporary
data dir: ``sesh`` is a stickfit session there, ``jobs`` a small valid frame of it (tiny
images, one rep, so a render takes a moment), ``batch`` a finished batch of those jobs as
previews, downloaded into ``folder`` (``./batch``) and read as ``res``, and ``inf``, ``pd``,
``pl`` and ``np`` the usual imports, ``tmp_path`` an empty folder per example. Submission records and
the results cache go to the temporary dir too, never the user's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.doctest import DoctestItem

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


@pytest.fixture(scope="session")
def _doctest_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import numpy as np
    import pandas as pd
    import polars as pl

    import infinityframe as inf

    root = tmp_path_factory.mktemp("doctests")
    before = os.environ.get("INFINITYFRAME_CACHE_DIR")
    os.environ["INFINITYFRAME_CACHE_DIR"] = str(root / "cache")
    try:
        sesh = inf.Session.local("stickfit-v0.1.0", data_dir=root / "data")
        jobs = sesh.sample(2, seed=0, **SMALL)
        batch = jobs.infinity.submit(preview=True, name="doctest previews")
        batch.wait(progress=False)
        folder = batch.download(root / "batch", quiet=True)
        yield {"inf": inf, "pd": pd, "pl": pl, "np": np, "sesh": sesh, "jobs": jobs, "batch": batch,
               "folder": folder, "res": inf.read_results(folder), "SMALL": SMALL, "_root": root}
    finally:
        if before is None:
            os.environ.pop("INFINITYFRAME_CACHE_DIR", None)
        else:
            os.environ["INFINITYFRAME_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(request.node, DoctestItem):
        world = request.getfixturevalue("_doctest_world")
        doctest_namespace.update({k: v for k, v in world.items() if not k.startswith("_")})
        doctest_namespace["tmp_path"] = request.getfixturevalue("tmp_path")  # an empty folder of the example's own
        monkeypatch.chdir(world["_root"])  # examples that write files ("out/", "sweep.png") write them there
