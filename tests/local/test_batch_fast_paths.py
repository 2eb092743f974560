"""The fast paths of a batch POST, and the fallbacks that keep them honest.

A body of one generator's flat job runs is read by msgspec against its schema (anything else by
orjson); a batch whose jobs all name the same parameters is gathered into columns in one walk
(anything else job by job); the 201 is formatted on another thread while the batch is stored,
and sent only once it is. Each fast path must judge, store and answer exactly as the slow one:
checked here against the slow path itself, on a real store, and over real HTTP on loopback.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from infinityframe.client.asgi import ASGIAdapter
from infinityframe.local import generators
from infinityframe.local.generators.base import _by_column, check_batch, validate_job
from infinityframe.local.routes import batches
from infinityframe.local.routes.common import ApiError, ServiceState
from infinityframe.local.server import in_process_app
from infinityframe.local.signing import Signer
from infinityframe.local.store import Account, Store

SHAPES = "shapes-v0.1.0"
_NAMES = ["num_images", "num_objects", "categories", "background", "image_width", "lighting_power", "max_size"]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> ServiceState:
    data = tmp_path_factory.mktemp("service")
    store = Store(data / "service.db")
    store.create_account("alice", 10**9)
    return ServiceState(store, Signer(b"k" * 32), None, data)


def account_of(state: ServiceState) -> Account:
    account = state.store.account_by_name("alice")
    assert account is not None
    return account


def outcome(state: ServiceState, raw: bytes, body: Any = batches._UNPARSED) -> tuple[Any, ...]:
    """What ``_parse`` makes of a body: its columns as stored (JSON: 1 and 1.0 differ) and
    estimates, or the error answer."""
    try:
        parsed = batches._parse(state, raw, account_of(state), body)
    except ApiError as err:
        return err.status, err.body
    return parsed.name, parsed.gen.name, parsed.preview, orjson.dumps(parsed.columns), parsed.estimates()


# Values a parameter may hold in a body, the awkward ones included: ints at and past 64 bits (orjson
# reads a longer one as a float), floats at the edges, strings with escapes and control characters.
_cells = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.integers(2**63 - 2, 2**64 + 2),
    st.integers(-(2**63) - 2, -(2**63) + 2), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e-7, 1e16, 12.5]),
    st.sampled_from(["NOISE", "PLAIN", "circle", "a\x00b", "\u2028", 'q"\\', "x" * 1100, "\ud7ff"]),
    st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.none(),
                                                                             max_size=1),
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """A batch POST body: nearly always jobs naming the same parameters (in any order), each
    value drawn from :data:`_cells`; sometimes a job that differs (another key, a missing key,
    another generator or preview flag, not an object)."""
    keys = draw(st.lists(st.sampled_from([*_NAMES, "bogus"]), unique=True, max_size=5))
    runs: list[Any] = []
    for _ in range(draw(st.integers(1, 8))):
        order = draw(st.permutations(keys))
        runs.append({"name": SHAPES, "is_preview": False,
                     "param_values": {key: draw(_cells) for key in order}})
    odd = draw(st.sampled_from(["none", "none", "key", "missing", "generator", "preview", "not an object",
                                "no params", "null params", "name"]))
    i = draw(st.integers(0, len(runs) - 1))
    if odd == "key":
        runs[i]["param_values"]["other"] = 1
    elif odd == "missing" and keys:
        runs[i]["param_values"].pop(keys[0])
    elif odd == "generator":
        runs[i]["name"] = "stickfit-v0.1.0"
    elif odd == "preview":
        runs[i]["is_preview"] = True
    elif odd == "not an object":
        runs[i] = [1]
    elif odd == "no params":
        del runs[i]["param_values"]
    elif odd == "null params":
        runs[i]["param_values"] = None
    body: dict[str, Any] = {"name": draw(st.sampled_from(["b", None, 3])) if odd == "name" else "b",
                            "job_runs": runs}
    return json.dumps(body, ensure_ascii=draw(st.booleans())).encode()  # orjson writes no int past 64 bits


class TestReading:
    @given(_bodies())
    @settings(max_examples=400, deadline=None)
    def test_msgspec_reads_what_orjson_reads(self, state: ServiceState, raw: bytes) -> None:
        """Whatever the body, the batch is judged, converted and estimated as orjson's reading of it is."""
        assert outcome(state, raw) == outcome(state, raw, orjson.loads(raw))

    def test_what_msgspec_refuses_falls_back_to_orjson(self, state: ServiceState) -> None:
        # An int past 64 bits: orjson reads it as a float, and the range check words that float.
        run = {"name": SHAPES, "param_values": {"num_images": 2**64 + 1}}
        raw = json.dumps({"name": "b", "job_runs": [run] * 300}).encode()
        assert batches._plain_body(raw) is None
        status, body = outcome(state, raw)
        assert status == 400
        expected = validate_job(generators.get(SHAPES), 0, orjson.loads(raw)["job_runs"][0]["param_values"])[1]
        assert body["errors"][0]["message"] == expected[0]["message"]
        assert body["errors"][0]["message"].startswith("row 0, num_images:")
        assert [e["job"] for e in body["errors"]] == list(range(300))
        # Not JSON at all: orjson's own words. Nested past msgspec's depth where any value may go.
        assert outcome(state, b'{"job_runs": [')[0] == 400
        deep = b'{"job_runs": [{"name": ' + b"[" * 1000 + b"]" * 1000 + b', "param_values": {}}]}'
        assert batches._plain_body(deep) is None
        assert outcome(state, deep) == outcome(state, deep, orjson.loads(deep))
        assert "Unknown generator" in outcome(state, deep)[1]["detail"]

    def test_a_plain_body_is_read_by_msgspec(self) -> None:
        raw = orjson.dumps({"name": None, "job_runs": [{"name": SHAPES, "param_values": {"num_images": 2}}] * 3})
        body = batches._plain_body(raw)
        assert body is not None and [run.param_values for run in body.job_runs] == [{"num_images": 2}] * 3


def _plain_jobs(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"num_images": rng.randint(1, 100), "lighting_power": rng.uniform(0, 2000),
             "background": rng.choice(["NOISE", "PLAIN"])} for _ in range(n)]


class TestOneWalk:
    """A batch whose jobs name the same parameters is gathered in one walk; any other batch is
    looked at job by job, and both word a failure naming the row and the column."""

    def test_a_uniform_batch_is_gathered_in_one_walk(self) -> None:
        gen = generators.get(SHAPES)
        jobs = _plain_jobs(300)
        jobs[7] = dict(reversed(jobs[7].items()))  # the same keys in another order
        names = frozenset(p["name"] for p in gen.params)
        found = _by_column(jobs, names)
        assert found is not None
        columns, types = found
        assert columns["num_images"][7] == jobs[7]["num_images"] and types["background"] == {str}
        checked, errors = check_batch(gen, jobs)
        assert not any(errors) and checked.columns["lighting_power"] == [job["lighting_power"] for job in jobs]

    @pytest.mark.parametrize(("odd", "column", "words"), [
        ({"num_images": 2, "lighting_power": 1.0, "bogus": 1}, "bogus", "bogus"),  # as many keys, one unknown
        ({"num_images": 2, "lighting_power": 1.0, "background": "a\tb"}, "background", "control character"),
        ({"num_images": 2, "lighting_power": [1.0], "background": "PLAIN"}, "lighting_power", "lighting_power"),
        ({"num_images": 2, "lighting_power": 1.0, "background": "x" * 1100}, "background", "1,100 characters"),
        ({"num_images": 0, "lighting_power": 1.0, "background": "PLAIN"}, "num_images", "between 1 and 100"),
    ])
    def test_an_odd_job_is_named_by_row_and_column(self, odd: dict[str, Any], column: str, words: str) -> None:
        gen = generators.get(SHAPES)
        jobs: list[Any] = _plain_jobs(300)
        jobs[250] = odd
        checked, errors = check_batch(gen, jobs)
        assert [i for i, found in enumerate(errors) if found] == [250]
        assert errors[250] == validate_job(gen, 250, odd)[1]
        assert errors[250][0]["param"] == column and errors[250][0]["message"].startswith(f"row 250, {column}")
        assert words in errors[250][0]["message"]
        assert checked.columns["num_images"][:250] == [job["num_images"] for job in jobs[:250]]

    @given(st.lists(st.sampled_from(_NAMES), unique=True, min_size=1, max_size=4).flatmap(
        lambda keys: st.lists(st.fixed_dictionaries({key: _cells for key in keys}), min_size=1, max_size=6)))
    @settings(max_examples=300, deadline=None)
    def test_the_same_judgement_as_job_by_job(self, jobs: list[dict[str, Any]]) -> None:
        gen = generators.get(SHAPES)
        checked, errors = check_batch(gen, jobs)
        slow, slow_errors = check_batch(gen, [*jobs, "not an object"])  # not an object: job by job
        assert errors == slow_errors[:-1]
        assert orjson.dumps(checked.columns) == orjson.dumps({n: c[:-1] for n, c in slow.columns.items()})


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Any, requests.Session, str]]:
    """The service's application with jobs that stay queued (a read answers what the 201 did),
    reached through the in-process adapter."""
    with in_process_app(tmp_path / "data") as (application, token):
        session = requests.Session()
        session.mount("http://local.test", ASGIAdapter(application))
        yield application, session, token


class TestReplyWhileStoring:
    def post(self, session: requests.Session, token: str, body: dict[str, Any], key: str) -> requests.Response:
        return session.post("http://local.test/api/batch/", data=orjson.dumps(body), timeout=60,
                            headers={"Authorization": f"Token {token}", "Idempotency-Key": key,
                                     "Content-Type": "application/json"})

    def get(self, session: requests.Session, token: str, path: str) -> requests.Response:
        return session.get(f"http://local.test/api/{path}", timeout=60, headers={"Authorization": f"Token {token}"})

    def test_a_batch_not_stored_is_never_answered_201(self, app: tuple[Any, requests.Session, str],
                                                      tmp_path: Path) -> None:
        """The 201 formatted while the transaction waits is dropped when the transaction fails;
        the retry stores the batch and answers what a read of it gives, byte for byte."""
        application, session, token = app
        body = {"name": "held", "job_runs": [{"name": SHAPES, "param_values": job} for job in _plain_jobs(3000)]}
        balance = self.get(session, token, "account/").json()
        application.state.service.store.busy_timeout = 0.5
        holder = sqlite3.connect(tmp_path / "data" / "service.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            refused = self.post(session, token, body, "k-held")
            assert refused.status_code == 503, refused.text[:300]
            assert "job_runs" not in refused.json()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert self.get(session, token, "batch/").json() == []
        assert self.get(session, token, "account/").json() == balance  # nothing reserved
        stored = self.post(session, token, body, "k-held")
        assert stored.status_code == 201 and "Idempotent-Replayed" not in stored.headers
        assert stored.content == self.get(session, token, f"batch/{stored.json()['id']}/").content
        again = self.post(session, token, body, "k-held")
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.content == stored.content

    def test_a_short_balance_is_402_and_nothing_formatted_is_sent(self, app: tuple[Any, requests.Session, str]
                                                                  ) -> None:
        application, session, _ = app
        token = application.state.service.store.create_account("poorer", 0)
        body = {"name": "b", "job_runs": [{"name": SHAPES, "param_values": job} for job in _plain_jobs(2000)]}
        r = self.post(session, token, body, "k-poor")
        assert r.status_code == 402, r.text[:300]
        assert set(r.json()) == {"detail", "required", "balance", "shortfall"}
        assert self.get(session, token, "batch/").json() == []
