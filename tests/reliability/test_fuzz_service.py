"""A service that never answers 500 to what a client sends, and 503 (to retry) when its storage cannot serve.

Driven over HTTP against real ``infinityframe serve`` processes on loopback:

- result-URL query parameters of any text or bytes (non-ASCII signatures, ``expires=²``) → 403;
- parameter values nested up to a thousand deep, in lists and objects → 400 naming the job and parameter;
- ``start_time``/``end_time`` anywhere from year 1 to 9999, in any offset, or junk → 200 or 400;
- batch names and string parameters of any length and content → 400 exactly when too long or
  holding a control character, naming the field;
- JSON bodies of any shape → 4xx;
- a write lock held on ``service.db`` by another process → 503 with ``Retry-After`` and a JSON
  ``detail`` after a bounded wait, reads unaffected, and the service whole again once released;
- a full disk (a small tmpfs, where this machine lets the test mount one) → 503 the same way.

In-process checks of the same (an injected ``ENOSPC``, the generic 500) are in
``tests/local/test_unavailable.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import requests
from _reliability import PROFILE, SHAPES, report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _service import RunningService, start_service, wait_for_batch

FUZZ = settings(max_examples=PROFILE.fuzz_examples, deadline=None, derandomize=PROFILE.name == "quick", database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
MAX_NAME = 255
PARAMS = ("num_images", "image_width", "categories", "state", "not_a_param")
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)  # anything UTF-8 can carry


def control_free(text: str) -> bool:
    """An independent oracle of the service's rule: no C0, DEL or C1 control character."""
    return not any(unicodedata.category(c) == "Cc" for c in text)


class Answers:
    """Checks each answer is a JSON error (or success) and never 5xx; counts statuses for the report."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def check(self, what: str, r: requests.Response, allowed: set[int]) -> Any:
        assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
        assert r.status_code in allowed, f"{what}: {r.status_code} (expected one of {sorted(allowed)}): {r.text[:300]}"
        assert r.headers["content-type"].startswith("application/json"), (what, r.headers["content-type"])
        body = r.json()
        if r.status_code >= 400:
            assert isinstance(body.get("detail"), str) and body["detail"].strip(), (what, body)
            assert "Traceback" not in r.text
        key = f"{what}: {r.status_code}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return body


@pytest.fixture(scope="module")
def answers() -> Iterator[Answers]:
    seen = Answers()
    yield seen
    report("fuzz_service", examples=PROFILE.fuzz_examples, outcomes=seen.counts, held=True)


@pytest.fixture(scope="module")
def broke(service: RunningService) -> str:
    """An account with no samples: a batch that passes every check is refused for its cost (402)."""
    return service.add_account(f"fuzz-service-{uuid.uuid4().hex[:8]}", 0)


def post_raw(service: RunningService, path: str, body: bytes | str, token: str) -> requests.Response:
    return requests.post(f"{service.api}/{path}", data=body if isinstance(body, bytes) else body.encode(),
                         headers={**service.headers(token), "Content-Type": "application/json"}, timeout=60)


# -- signed result URLs ---------------------------------------------------------------------------

QUERY_VALUE = st.one_of(
    TEXT.map(lambda t: quote(t, safe="")),
    st.binary(max_size=40).map(lambda b: quote_from_bytes(b, safe="")),  # bytes that are not UTF-8 too
    st.sampled_from(["²", "¹²³", "١٢٣", "１２３", "𝟗𝟗", "1" * 21, "-1", "0x10", " 12", "12 ", "1e3", "é" * 64,
                     "\u0661" * 20, "%00", "9" * 20]).map(lambda t: quote(t, safe="")),
)


def test_result_url_queries_are_403(service: RunningService, answers: Answers) -> None:
    job_id = str(uuid.uuid4())

    @FUZZ
    @given(expires=QUERY_VALUE, signature=QUERY_VALUE)
    def check(expires: str, signature: str) -> None:
        r = requests.get(f"{service.url}/results/{job_id}.zip?expires={expires}&signature={signature}", timeout=30)
        answers.check("result url", r, {403})

    check()
    for signature in ("é" * 10, "ß" * 64, "\u00e9" + "0" * 63):  # non-ASCII str: hmac.compare_digest refused it
        r = requests.get(f"{service.url}/results/{job_id}.zip", params={"expires": "99999999999", "signature":
                                                                          signature}, timeout=30)
        answers.check("result url, non-ASCII signature", r, {403})
    r = requests.get(f"{service.url}/results/{job_id}.zip", params={"expires": "²", "signature": "ab"}, timeout=30)
    answers.check("result url, expires=²", r, {403})


# -- deeply nested parameters ---------------------------------------------------------------------

def raw_run(generator_json: str, params_json: str) -> str:
    return '{"name": ' + generator_json + ', "param_values": ' + params_json + "}"


def raw_batch(runs: list[str]) -> str:
    return '{"name": "n", "job_runs": [' + ", ".join(runs) + "]}"


@st.composite
def nested(draw: st.DrawFn) -> tuple[str, int]:
    """JSON text of a value nested ``depth`` deep in lists and objects (text: json.dumps would recurse)."""
    depth = draw(st.one_of(st.integers(1, 40), st.integers(900, 1000)))
    kinds = draw(st.lists(st.booleans(), min_size=depth, max_size=depth))
    opening = "".join('{"k": ' if as_object else "[" for as_object in kinds)
    closing = "".join("}" if as_object else "]" for as_object in reversed(kinds))
    return opening + draw(st.sampled_from(["1", '"x"', "null", "[]"])) + closing, depth


def test_deeply_nested_parameters_are_400_naming_the_job(service: RunningService, broke: str,
                                                         answers: Answers) -> None:
    @FUZZ
    @given(value=nested(), param=st.sampled_from(PARAMS), position=st.integers(0, 2),
           path=st.sampled_from(["batch/", "batch/estimate/"]))
    def check(value: tuple[str, int], param: str, position: int, path: str) -> None:
        text, depth = value
        runs = [raw_run(json.dumps(SHAPES), "{}")] * 3
        runs[position] = raw_run(json.dumps(SHAPES), "{" + json.dumps(param) + ": " + text + "}")
        body = answers.check(f"nested {path}", post_raw(service, path, raw_batch(runs), broke), {400})
        assert {"job": position, "param": param} in [{"job": e["job"], "param": e["param"]} for e in body["errors"]]
        if depth > 32:
            assert any("nested" in e["message"] for e in body["errors"]), body

    check()
    deeper = "[" * 1100 + "]" * 1100  # past the JSON parser's own limit: a parse error, still a 400
    r = post_raw(service, "batch/", raw_batch([raw_run(json.dumps(SHAPES), '{"num_images": ' + deeper + "}")]), broke)
    answers.check("nested past the parser", r, {400})
    generator = raw_batch([raw_run("[" * 1000 + "]" * 1000, "{}")])
    assert "unknown generator" in answers.check("nested generator name", post_raw(service, "batch/", generator,
                                                                                broke), {400})["detail"].lower()


# -- time windows at the ends of the calendar -----------------------------------------------------

OFFSETS = st.one_of(st.none(), st.just(UTC), st.integers(-1439, 1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))))
EXTREMES = ["9999-12-31T00:00:00+00:00", "9999-12-31T23:59:59.999999-23:59", "9999-12-31T23:59:59",
            "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00", "0001-01-01",
            "9999-12-31", "2026-13-01T00:00:00", "²⁰²⁶-01-01", "", " ", "now", "1e9"]
MOMENT = st.one_of(st.none(), st.sampled_from(EXTREMES), TEXT,
                   st.builds(lambda dt, tz: dt.replace(tzinfo=tz).isoformat(), st.datetimes(), OFFSETS))


def test_time_windows_are_answered_or_400(service: RunningService, answers: Answers) -> None:
    @FUZZ
    @given(start=MOMENT, end=MOMENT, path=st.sampled_from(["job_runs/counts/", "batch/"]))
    def check(start: str | None, end: str | None, path: str) -> None:
        query = {k: v for k, v in (("start_time", start), ("end_time", end)) if v is not None}
        body = answers.check(f"window {path}", service.get(path, params=query), {200, 400})
        if isinstance(body, dict) and "counts_by_generator" in body:  # the window echoed, in order
            assert datetime.fromisoformat(body["start_time"]) <= datetime.fromisoformat(body["end_time"]), body

    check()
    for path in ("job_runs/counts/", "batch/"):
        for name in ("start_time", "end_time"):
            for moment in EXTREMES[:7]:
                answers.check(f"window {path} {name}={moment}", service.get(path, params={name: moment}), {200})


# -- names and string parameters: bounded, no control characters ---------------------------------

NAMES = st.one_of(TEXT, st.text(alphabet=st.sampled_from("ab\x00\t\n\r\x1b\x7f\x85 é"), max_size=8),
                  st.integers(250, 260).map(lambda n: "x" * n))


def test_names_and_strings_are_bounded(service: RunningService, broke: str, answers: Answers) -> None:
    job = {"name": SHAPES, "param_values": {"num_images": 1}}

    @FUZZ
    @given(name=NAMES, state=st.one_of(st.none(), NAMES, st.integers(1000, 1030).map(lambda n: "s" * n)))
    def check(name: str, state: str | None) -> None:
        r = service.post("batch/", {"name": name, "job_runs": [job]}, token=broke)
        if len(name) <= MAX_NAME and control_free(name):
            answers.check("name ok", r, {402})  # valid: refused only for its cost
        else:
            assert "'name'" in answers.check("name refused", r, {400})["detail"]
        if state is None:
            return
        run = {**job, "param_values": {"state": state}}
        r = service.post("batch/", {"name": "", "job_runs": [job, run]}, token=broke)
        if state == "":
            answers.check("state empty", r, {402})  # no seed job: a fresh one
            return
        body = answers.check("state", r, {400})
        assert {k: body["errors"][0][k] for k in ("job", "param")} == {"job": 1, "param": "state"}, body
        if len(state) > 1024 or not control_free(state):
            assert "is not a job" not in body["errors"][0]["message"]

    check()
    big = {"name": "n" * (20 * 1024 * 1024), "job_runs": [job]}  # 20 MB: under the 64 MB body limit
    body = answers.check("20 MB name", service.post("batch/", big, token=broke), {400})
    assert "at most 255" in body["detail"] and len(json.dumps(body)) < 1000
    assert service.get("batch/", token=broke).json() == []


# -- any JSON body at all ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
              TEXT.map(lambda t: t[:40]), st.sampled_from([SHAPES, "num_images", "job_runs", "param_values"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["name", "job_runs", "is_preview", "param_values",
                                                             "num_images", "state", "x"]), inner, max_size=4)),
    max_leaves=20)


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    runs = draw(st.lists(st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({"name": st.one_of(st.just(SHAPES), JSON_VALUES)},
                              optional={"is_preview": JSON_VALUES, "param_values": st.one_of(
                                  JSON_VALUES, st.dictionaries(st.sampled_from(PARAMS), JSON_VALUES, max_size=4))}),
    ), max_size=3))
    return draw(st.one_of(JSON_VALUES, st.fixed_dictionaries({"job_runs": st.just(runs)},
                                                             optional={"name": JSON_VALUES})))


def test_any_json_body_is_4xx(service: RunningService, broke: str, answers: Answers) -> None:
    @FUZZ
    @given(body=bodies(), path=st.sampled_from(["batch/", "batch/estimate/"]))
    def check(body: Any, path: str) -> None:
        r = post_raw(service, path, json.dumps(body), broke)
        answers.check(f"json body {path}", r, {200, 400, 402} if path.endswith("estimate/") else {400, 402})

    check()


# -- a database that cannot be used just now --------------------------------------------------------


def batch_request(n: int = 1) -> dict[str, Any]:
    return {"name": "while locked", "job_runs": [
        {"name": SHAPES, "param_values": {"num_images": 1, "image_width": 64, "image_height": 64}}] * n}


def unavailable(r: requests.Response, *words: str) -> None:
    assert r.status_code == 503, f"{r.status_code}: {r.text[:300]}"
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert "safe to retry" in detail and all(w in detail for w in words), detail


def batch_count(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "service.db", timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def quiet_service(tmp_path: Path) -> Iterator[RunningService]:
    svc = start_service(tmp_path / "service", "--workers", "1", "--rate-limit", "0")
    yield svc
    svc.stop()


def test_held_database_lock_is_503_then_recovers(quiet_service: RunningService) -> None:
    svc = quiet_service
    existing = svc.post("batch/", batch_request())
    assert existing.status_code == 201, existing.text
    wait_for_batch(svc, existing.json()["id"])  # nothing rendering while the lock is held
    holder = sqlite3.connect(svc.data_dir / "service.db", isolation_level=None, timeout=30)
    holder.execute("BEGIN EXCLUSIVE")  # another process takes the write lock and keeps it
    writes: list[tuple[requests.Response, float]] = []
    key = str(uuid.uuid4())
    try:
        def write(path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
            started = time.monotonic()
            r = svc.post(path, body, headers=headers)
            writes.append((r, time.monotonic() - started))

        threads = [threading.Thread(target=write, args=args) for args in (
            ("batch/", batch_request(), {"Idempotency-Key": key}), ("batch/", batch_request(3), {}),
            (f"batch/{existing.json()['id']}/cancel/", {}, {}))]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        for path in ("account/", "batch/", f"batch/{existing.json()['id']}/summary/", f"jobs/{SHAPES}/"):
            started = time.monotonic()  # reads are not blocked by the writer (WAL) nor by the waiting writes
            assert svc.get(path).status_code == 200, path
            assert time.monotonic() - started < 2.0, f"GET {path} waited on the lock"
        for thread in threads:
            thread.join(timeout=60)
        assert len(writes) == 3
        for r, took in writes:
            unavailable(r, "locked")
            assert took < 15, f"a write waited {took:.1f} s: the wait is not bounded"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert batch_count(svc.data_dir) == 1, "a refused write created a batch"
    again = svc.post("batch/", batch_request(), headers={"Idempotency-Key": key})  # the client's retry
    assert again.status_code == 201, again.text
    assert batch_count(svc.data_dir) == 2
    assert svc.post(f"batch/{existing.json()['id']}/cancel/", {}).status_code == 200
    report("db_lock", writes=len(writes), reads=4, held=True)


def mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as err:
            assert err.errno == 28, err  # ENOSPC
        try:
            while True:
                fh.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def test_full_disk_is_503_then_recovers(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "24m"):
        pytest.skip("cannot mount a tmpfs here (needs root); tests/local/test_unavailable.py injects ENOSPC instead")
    svc = None
    try:
        svc = start_service(disk / "service", "--workers", "1", "--rate-limit", "0")
        filler = fill(disk)
        key = str(uuid.uuid4())
        r = svc.post("batch/", batch_request(300), headers={"Idempotency-Key": key})
        unavailable(r, "full")
        assert svc.get("account/").status_code == 200  # reading needs no space
        assert batch_count(svc.data_dir) == 0
        filler.unlink()
        again = svc.post("batch/", batch_request(300), headers={"Idempotency-Key": key})
        assert again.status_code == 201, again.text
        assert svc.post(f"batch/{again.json()['id']}/cancel/", {}).status_code == 200
        assert batch_count(svc.data_dir) == 1
        report("disk_full", held=True)
    finally:
        if svc is not None:
            svc.stop()
        subprocess.run(["umount", str(disk)], capture_output=True, timeout=30)
        if os.path.ismount(disk):
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)
