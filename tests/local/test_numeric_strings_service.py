"""The service reads numeric strings as the real (DRF) service does, and stores the number (issue 14, item 3)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import requests

from _service import RunningService, wait_for_batch

SHAPES = "shapes-v0.1.0"
SMALL = {"image_width": "64", "image_height": " 64.0 "}


def body(*jobs: dict[str, Any], preview: bool = True) -> dict[str, Any]:
    return {"name": "numeric strings", "job_runs": [
        {"name": SHAPES, "is_preview": preview, "param_values": {**SMALL, **job}} for job in jobs]}


def test_numeric_strings_are_accepted_and_stored_as_numbers(service: RunningService) -> None:
    created = service.post("batch/", body({"num_images": "2", "num_objects": "3.", "lighting_power": " 150.5",
                                           "min_size": "1e-1"}))
    assert created.status_code == 201, created.text
    stored = service.get(f"batch/{created.json()['id']}/").json()["job_runs"][0]["param_values"]
    expected = {"num_images": 2, "num_objects": 3, "lighting_power": 150.5, "min_size": 0.1,
                "image_width": 64, "image_height": 64}
    assert {k: stored[k] for k in expected} == expected
    assert all(type(stored[k]) is type(v) for k, v in expected.items())  # 2, not "2" nor 2.0

    run = wait_for_batch(service, created.json()["id"])[0]
    assert run["state"] == "succeeded", run
    archive = zipfile.ZipFile(io.BytesIO(requests.get(str(run["result_url"]), timeout=30).content))
    job_json = next(n for n in archive.namelist() if n.endswith("job.json"))
    params = json.loads(archive.read(job_json))["params"]
    assert {k: params[k] for k in expected} == expected
    assert type(params["num_images"]) is int


def test_refusals_name_the_job_and_the_parameter(service: RunningService) -> None:
    before = service.get("batch/").json()
    answer = service.post("batch/", body(
        {"num_images": "1"}, {"num_images": True}, {"num_images": "2.5"}, {"lighting_power": "nan"},
        {"num_images": "1" * 1001}, {"num_images": "101"}))
    assert answer.status_code == 400, answer.text
    found = answer.json()
    assert set(found) == {"detail", "errors"}
    assert found["detail"].startswith("5 of 6 job(s) are invalid (5 error(s)). First: row 1, num_images: must be")
    assert [(e["job"], e["param"]) for e in found["errors"]] == [
        (1, "num_images"), (2, "num_images"), (3, "lighting_power"), (4, "num_images"), (5, "num_images")]
    messages = [e["message"] for e in found["errors"]]
    integer = "must be an integer (3.0 and '3' count; 1.5, '1.5' and True do not)"
    number = "must be a finite number ('0.5' counts; 'nan', 'inf' and True do not)"
    assert messages[0] == f"row 1, num_images: {integer}, got True (A valid integer is required.)"
    assert messages[1] == f"row 2, num_images: {integer}, got '2.5' (A valid integer is required.)"
    assert messages[2] == f"row 3, lighting_power: {number}, got 'nan' (A valid number is required.)"
    assert messages[3].startswith(f"row 4, num_images: {integer}, got '1111")
    assert messages[3].endswith("(1,001 characters) (String value too large.)")
    assert messages[4] == "row 5, num_images: must be between 1 and 100 (inclusive), got '101'"  # as given
    assert service.get("batch/").json() == before  # nothing was created


def test_estimate_reads_them_too(service: RunningService) -> None:
    strings = service.post("batch/estimate/", body({"num_images": "3"}, preview=False))
    numbers = service.post("batch/estimate/", body({"num_images": 3}, preview=False))
    assert strings.status_code == numbers.status_code == 200, strings.text
    assert strings.json() == numbers.json() == [3]
