"""The client reads numeric strings in dicts as the service does, so "2" and 2 are one submission."""

from __future__ import annotations

import pandas as pd
import pytest

import infinityframe as inf
from _service import RunningService
from infinityframe.client.records import content_key

SHAPES = "shapes-v0.1.0"
SMALL = {"image_width": 64, "image_height": 64}


@pytest.fixture
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, SHAPES, server=service.url)


def test_dicts_are_completed_with_the_number(sesh: inf.Session) -> None:
    [job] = sesh.complete([{"num_images": "2", "lighting_power": " 150", **SMALL}])
    assert job["num_images"] == 2 and type(job["num_images"]) is int
    assert job["lighting_power"] == 150.0 and type(job["lighting_power"]) is float


def test_a_string_and_a_number_are_the_same_content(sesh: inf.Session) -> None:
    as_text = sesh.complete([{"num_images": "2", **SMALL}], preview=True)
    as_number = sesh.complete([{"num_images": 2, **SMALL}], preview=True)
    assert as_text == as_number
    assert content_key(sesh.origin, SHAPES, True, "n", as_text) == content_key(sesh.origin, SHAPES, True, "n",
                                                                                  as_number)


def test_submitting_2_after_2_reattaches(sesh: inf.Session) -> None:
    first = sesh.submit([{"num_images": "2", "state": None, **SMALL}], preview=True, name="numeric strings")
    again = sesh.submit([{"num_images": 2, **SMALL}], preview=True, name="numeric strings")
    assert again.id == first.id
    frame = sesh.submit(pd.DataFrame({"num_images": ["2.0"], **{k: [str(v)] for k, v in SMALL.items()}}),
                        preview=True, name="numeric strings")
    assert frame.id == first.id


@pytest.mark.parametrize(("value", "reason"), [
    (True, "A valid integer is required."), ("2.5", "A valid integer is required."),
    ("1" * 1001, "String value too large.")])
def test_refusals_before_any_request(sesh: inf.Session, value: object, reason: str) -> None:
    with pytest.raises(inf.ValidationError, match="num_images") as info:
        sesh.submit([SMALL, {"num_images": value, **SMALL}], preview=True)
    assert reason in str(info.value)
    assert sesh.validate_job_params([{"num_images": value}])[0].endswith(f"({reason})")  # type: ignore[union-attr]
