"""The recommended prior, rendered: stickfit's default sweep keeps the person in view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from infinityframe.local.generators import get
from infinityframe.local.generators.base import validate_batch
from infinityframe.params.sampling import sample
from infinityframe.params.spec import GeneratorSpec

N = 40  # previews at 128 px: about a second in all


def in_view(generator: str, jobs: pd.DataFrame, out: Path) -> np.ndarray:
    """Each job's percent of the person inside the image, from its rendered preview's labels."""
    gen = get(generator)
    rows: list[dict[str, Any]] = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                                  for r in jobs.to_dict(orient="records")]
    percents = []
    for i, (params, errors) in enumerate(validate_batch(gen, rows)):
        assert params is not None, errors
        folder = out / f"job{i}"
        folder.mkdir()
        gen.render(params, True, folder, np.random.default_rng(i))
        labels = orjson.loads((folder / "labels.json").read_bytes())
        person = next(c["id"] for c in labels["categories"] if c["name"] == "person")
        people = [a for a in labels["annotations"] if a["category_id"] == person]
        percents.append(max((a.get("percent_in_fov", 0.0) for a in people), default=0.0))
    return np.array(percents)


@pytest.mark.parametrize("generator", ["stickfit-v0.1.0", "visionfit-v0.4.0"])
def test_the_default_prior_keeps_the_person_at_least_half_in_view(generator: str, tmp_path: Path) -> None:
    spec = GeneratorSpec.from_metadata(get(generator).metadata())
    jobs = sample(spec, N, seed=2024, fixed={"image_width": 128})  # the height follows: square
    share = float((in_view(generator, jobs, tmp_path) >= 50).mean())
    assert share >= 0.9, f"only {share:.0%} of {N} jobs have the person at least half in view"


def test_the_whole_ranges_often_lose_the_person(tmp_path: Path) -> None:
    """What the recommendation is for: over the whole ranges most of the figure is often out of view."""
    spec = GeneratorSpec.from_metadata(get("stickfit-v0.1.0").metadata())
    jobs = sample(spec, N, seed=2024, prior="uniform", fixed={"image_width": 128, "image_height": 128})
    assert float((in_view("stickfit-v0.1.0", jobs, tmp_path) >= 50).mean()) < 0.5
