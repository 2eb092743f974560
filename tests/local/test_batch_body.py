"""A batch is accepted as one stored body and expanded into job rows after the reply.

On a real SQLite file (the store), through the real application in this process (the reply
byte for byte), and with a real service process killed between the reply and the expansion.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from _service import RunningService, start_service, wait_for_batch
from infinityframe.client.asgi import ASGIAdapter
from infinityframe.local.faults import HOLD_BODIES_VAR
from infinityframe.local.generators.base import encoded_params
from infinityframe.local.jobtexts import EncodedJobs, _written_by_polars, encoded_columns
from infinityframe.local.server import in_process_app
from infinityframe.local.store import COLUMNS, Created, NewJob, NewJobs, Store, job_seed

SHAPES = "shapes-v0.1.0"


def raw_counts(path: Path, batch_id: str) -> tuple[int, int]:
    """(pending bodies of the batch, job rows of the batch), read straight from the file."""
    db = sqlite3.connect(path, timeout=30)
    try:
        bodies = db.execute("SELECT COUNT(*) FROM batch_bodies WHERE batch_id = ?", (batch_id,)).fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM jobs WHERE batch_id = ?", (batch_id,)).fetchone()[0]
        return int(bodies), int(rows)
    finally:
        db.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "service.db")


def account_of(store: Store, balance: int = 10_000) -> int:
    store.create_account("alice", balance)
    account = store.account_by_name("alice")
    assert account is not None
    return account.id


def created(store: Store, account_id: int, n: int, name: str = "b") -> Created:
    texts = [orjson.dumps({"num_images": 1 + i % 7, "tag": f"job {i}"}) for i in range(n)]
    seeds: list[int | None] = [None if i % 3 else 1000 + i for i in range(n)]
    made = store.create_batch(account_id, name, SHAPES, False, NewJobs(texts, seeds, [1 + i % 7 for i in range(n)]))
    assert isinstance(made, Created)
    return made


class TestStore:
    def test_the_accept_writes_one_body_and_reserves_the_estimate(self, store: Store, tmp_path: Path) -> None:
        account_id = account_of(store)
        made = created(store, account_id, 50)
        assert raw_counts(tmp_path / "service.db", made.batch["id"]) == (1, 0)
        assert store.balance(account_id) == 10_000 - sum(made.estimates)  # charged in the accept transaction
        assert store.batch(account_id, made.batch["id"])["num_jobs"] == 50

        rows = store.jobs_of_batch(made.batch["id"])  # a read expands it
        assert raw_counts(tmp_path / "service.db", made.batch["id"]) == (0, 50)
        assert [r["id"] for r in rows] == made.ids
        assert [r["position"] for r in rows] == list(range(50))
        assert [r["params"] for r in rows] == [t.decode() for t in made.params]
        assert [r["estimated_samples"] for r in rows] == made.estimates
        assert [r["seed"] for r in rows] == [job_seed(t) if i % 3 else 1000 + i for i, t in enumerate(made.params)]
        assert {r["state"] for r in rows} == {"queued"}
        assert [dict(r) for r in rows] == [dict(store.job(account_id, job_id)) for job_id in made.ids]
        assert store.expand() == 0  # nothing left: idempotent
        assert store.balance(account_id) == 10_000 - sum(made.estimates)

    def test_a_body_stored_by_column_expands_into_the_same_texts(self, store: Store, tmp_path: Path) -> None:
        account_id = account_of(store)
        columns = {"num_images": [1 + i % 7 for i in range(40)], "tag": [f"job {i}, ü" for i in range(40)],
                   "lighting_power": [12.5 * i if i % 4 else None for i in range(40)], "state": [None] * 40}
        per_job = [orjson.dumps(dict(zip(columns, row, strict=True))) for row in zip(*columns.values(), strict=True)]
        seeds: list[int | None] = [None if i % 3 else 1000 + i for i in range(40)]
        made = store.create_batch(account_id, "b", SHAPES, False,
                                  NewJobs(EncodedJobs.of(columns, 40), seeds, [1 + i % 7 for i in range(40)]))
        assert isinstance(made, Created) and made.texts == per_job
        db = sqlite3.connect(tmp_path / "service.db")
        (stored,) = db.execute("SELECT params FROM batch_bodies WHERE batch_id = ?", (made.batch["id"],)).fetchone()
        db.close()
        assert bytes(stored) == COLUMNS + orjson.dumps(columns)  # by column, not a text per job
        rows = store.jobs_of_batch(made.batch["id"])
        assert [r["params"].encode() for r in rows] == per_job
        assert [r["seed"] for r in rows] == [job_seed(t) if i % 3 else 1000 + i for i, t in enumerate(per_job)]

    def test_texts_already_written_are_stored_as_given_if_they_are_all_there(self, store: Store) -> None:
        account_id = account_of(store)
        columns = {"num_images": [1, 2, 3]}
        jobs = NewJobs(EncodedJobs.of(columns, 3), [None] * 3, [1, 2, 3])
        short = store.create_batch(account_id, "short", SHAPES, False, jobs)
        whole = store.create_batch(account_id, "whole", SHAPES, False, jobs)
        assert isinstance(short, Created) and isinstance(whole, Created)
        written = [b'{"num_images":1}', b'{"num_images":2}', b'{"num_images":3}']
        assert store.expand({short.batch["id"]: written[:2], whole.batch["id"]: written}) == 2
        for made in (short, whole):  # a partial list (a reply cut short) is written again from the body
            assert [r["params"].encode() for r in store.jobs_of_batch(made.batch["id"])] == written

    def test_a_list_of_new_jobs_is_stored_as_given(self, store: Store) -> None:
        account_id = account_of(store)
        made = store.create_batch(account_id, "b", SHAPES, True, [NewJob({"num_images": 2}, 7, 1),
                                                                   NewJob('{"num_images":3}', 8, 1)])
        assert isinstance(made, Created)
        rows = store.jobs(account_id, True)
        assert [(r["params"], r["seed"], r["is_preview"]) for r in rows] == [
            ('{"num_images":2}', 7, 1), ('{"num_images":3}', 8, 1)]

    def test_concurrent_readers_see_every_job_exactly_once(self, store: Store, tmp_path: Path) -> None:
        account_id = account_of(store, 10**9)
        batches = [created(store, account_id, 300, f"b{i}") for i in range(3)]
        seen: list[int] = []
        errors: list[BaseException] = []

        def read(i: int) -> None:
            try:
                reads = (lambda: store.jobs(account_id, False), lambda: store.jobs_of_batch(batches[i % 3].batch["id"]),
                         lambda: [store.job(account_id, batches[2].ids[-1])], lambda: store.claim(0) or
                         store.jobs(account_id, False))
                seen.append(len(reads[i % 4]()))
            except BaseException as err:  # reported below, in the test's thread
                errors.append(err)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        db = sqlite3.connect(tmp_path / "service.db")
        ids = [job_id for (job_id,) in db.execute("SELECT id FROM jobs ORDER BY rowid")]
        assert ids == [job_id for b in batches for job_id in b.ids]  # each once, in the order accepted
        assert db.execute("SELECT COUNT(*) FROM batch_bodies").fetchone()[0] == 0
        assert set(seen) <= {300, 900, 1}

    def test_claims_expand_first_oldest_batch_first(self, store: Store) -> None:
        account_id = account_of(store)
        first, second = created(store, account_id, 3), created(store, account_id, 2)
        assert [r["id"] for r in store.claim(4)] == first.ids + second.ids[:1]
        assert [r["id"] for r in store.claim(4)] == second.ids[1:]

    def test_cancel_before_any_read_cancels_every_job(self, store: Store) -> None:
        account_id = account_of(store)
        made = created(store, account_id, 20)
        assert store.cancel_batch(account_id, made.batch["id"]) == 20
        assert store.balance(account_id) == 10_000  # every estimate released

    def test_a_refused_batch_leaves_no_body(self, store: Store, tmp_path: Path) -> None:
        account_id = account_of(store, 5)
        jobs = NewJobs([b"{}"] * 3, [None] * 3, [2] * 3)
        batch_id, balance = store.create_batch(account_id, "b", SHAPES, False, jobs)
        assert batch_id is None and balance == 5
        db = sqlite3.connect(tmp_path / "service.db")
        assert db.execute("SELECT COUNT(*) FROM batch_bodies").fetchone()[0] == 0


def post(session: requests.Session, token: str, path: str, body: Any, **headers: str) -> requests.Response:
    return session.post(f"http://local.test/api/{path}", data=orjson.dumps(body),
                        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", **headers})


class TestReply:
    """The 201 is formatted from a template, not from the rows: it must be what a read of them gives."""

    def test_the_reply_is_the_stored_batch_byte_for_byte(self, tmp_path: Path) -> None:
        with in_process_app(tmp_path / "data") as (app, token):  # jobs stay queued: a read answers the same
            session = requests.Session()
            session.mount("http://local.test", ASGIAdapter(app))
            headers = {"Authorization": f"Token {token}"}
            runs = [{"name": SHAPES, "is_preview": False,
                     "param_values": {"num_images": 1 + i % 5, "lighting_power": 12.5 * i, "image_width": 128,
                                      "image_height": 128}} for i in range(40)]
            first = post(session, token, "batch/", {"name": 'a 100% "name" %d %s ünï', "job_runs": runs},
                         **{"Idempotency-Key": "k1"})
            assert first.status_code == 201, first.text
            batch_id = first.json()["id"]
            read = session.get(f"http://local.test/api/batch/{batch_id}/", headers=headers)
            assert first.content == read.content
            assert first.headers["content-type"] == "application/json"
            # The rows were expanded with the texts the reply wrote: what orjson writes job by job.
            rows = app.state.service.store.jobs_of_batch(batch_id)
            texts = [orjson.dumps(job["param_values"]) for job in first.json()["job_runs"]]
            assert [r["params"].encode() for r in rows] == texts
            assert [r["seed"] for r in rows] == [job_seed(t) for t in texts]

            rerun = [{"name": SHAPES, "is_preview": True, "param_values": {"state": job["id"]}}
                     for job in first.json()["job_runs"][:3]]
            second = post(session, token, "batch/", {"name": "", "job_runs": rerun})
            assert second.status_code == 201, second.text
            read = session.get(f"http://local.test/api/batch/{second.json()['id']}/", headers=headers)
            assert second.content == read.content
            assert [j["param_values"]["state"] for j in second.json()["job_runs"]] == [
                j["id"] for j in first.json()["job_runs"][:3]]

            again = post(session, token, "batch/", {"name": 'a 100% "name" %d %s ünï', "job_runs": runs},
                         **{"Idempotency-Key": "k1"})
            assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
            assert again.content == first.content
            other = post(session, token, "batch/", {"name": "other", "job_runs": runs}, **{"Idempotency-Key": "k1"})
            assert other.status_code == 409

    def test_a_key_stored_with_the_job_texts_hash_still_replays(self, tmp_path: Path) -> None:
        # The version before columns keyed a request by its jobs' texts, one a line
        # (local/routes/batches._lines_request_hash): its replays must still be the same request.
        from infinityframe.local.routes.batches import REQUEST_HASH_TAG, _lines_request_hash

        runs = [{"name": SHAPES, "is_preview": False, "param_values": {"num_images": 2, "lighting_power": 400.0}}]
        with in_process_app(tmp_path / "data") as (app, token):
            session = requests.Session()
            session.mount("http://local.test", ASGIAdapter(app))
            store: Store = app.state.service.store
            account = store.authenticate(token)
            assert account is not None
            texts = [orjson.dumps({"num_images": 2, "lighting_power": 400.0})]
            first = post(session, token, "batch/", {"name": "old", "job_runs": runs}, **{"Idempotency-Key": "new"})
            assert first.status_code == 201
            (_, stored_hash), = [store.find_idempotent(account.id, "new")]
            assert stored_hash.startswith(REQUEST_HASH_TAG)
            old_texts = [r["params"].encode() for r in store.jobs_of_batch(first.json()["id"])]
            assert len(old_texts) == 1 and texts[0] != old_texts[0]  # completed with every default
            encoded = EncodedJobs.from_body(orjson.dumps(
                {k: [v] for k, v in orjson.loads(old_texts[0]).items()}), 1)
            made = store.create_batch(account.id, "old", SHAPES, False, [NewJob(old_texts[0].decode(), 1, 2)],
                                      idempotency_key="lines",
                                      request_hash=_lines_request_hash("old", SHAPES, False, encoded))
            assert isinstance(made, Created)
            replay = post(session, token, "batch/", {"name": "old", "job_runs": runs}, **{"Idempotency-Key": "lines"})
            assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true", replay.text
            assert replay.json()["id"] == made.batch["id"]
            other = post(session, token, "batch/", {"name": "other", "job_runs": runs},
                         **{"Idempotency-Key": "lines"})
            assert other.status_code == 409

    def test_jobs_are_readable_the_moment_the_reply_arrives(self, service: RunningService) -> None:
        token = service.add_account("reads-at-once", 10**6)
        body = {"name": "at once", "job_runs": [
            {"name": SHAPES, "is_preview": False, "param_values": {"num_images": 1, "lighting_power": float(i)}}
            for i in range(500)]}
        reply = service.post("batch/", body, token=token)
        assert reply.status_code == 201
        ids = [j["id"] for j in reply.json()["job_runs"]]
        assert service.get(f"job_runs/{ids[-1]}/", token=token).status_code == 200  # no wait, no retry
        summary = service.get(f"batch/{reply.json()['id']}/summary/", token=token).json()
        assert [j["id"] for j in summary["job_runs"]] == ids
        listed = service.get("job_runs/", token=token, params={"batch_id": reply.json()["id"]}).json()
        assert sorted(j["id"] for j in listed) == sorted(ids)
        service.post(f"batch/{reply.json()['id']}/cancel/", {}, token=token)


def check_ran_once(svc: RunningService, data_dir: Path, batch_id: str, ids: list[str]) -> None:
    runs = wait_for_batch(svc, batch_id)
    assert [r["id"] for r in runs] == ids
    assert {r["state"] for r in runs} == {"succeeded"}
    db = sqlite3.connect(data_dir / "service.db")
    try:
        rows = db.execute("SELECT id, attempts FROM jobs WHERE batch_id = ? ORDER BY position", (batch_id,)).fetchall()
        assert [job_id for job_id, _ in rows] == ids  # every job once, none lost
        assert {attempts for _, attempts in rows} == {1}  # and none run twice
        kinds = Counter(kind for (kind,) in db.execute("SELECT kind FROM ledger WHERE batch_id = ?", (batch_id,)))
        assert kinds == Counter({"reserve": 1, "release": len(ids), "charge": len(ids)})
        assert db.execute("SELECT COUNT(*) FROM batch_bodies").fetchone()[0] == 0
    finally:
        db.close()


def crash_body(n: int) -> dict[str, Any]:
    return {"name": "crash", "job_runs": [
        {"name": SHAPES, "is_preview": False,
         "param_values": {"num_images": 1, "num_objects": 1, "image_width": 64, "image_height": 64,
                          "lighting_power": float(i)}} for i in range(n)]}


class TestCrash:
    def test_killed_between_reply_and_expansion(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        data_dir = tmp_path / "data"
        monkeypatch.setenv(HOLD_BODIES_VAR, "1")  # the service keeps what it accepts as a body, unexpanded
        svc = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
        try:
            initial = svc.get("account/").json()["balance"]
            reply = svc.post("batch/", crash_body(30), headers={"Idempotency-Key": "crash-1"})
            assert reply.status_code == 201
            batch_id, ids = reply.json()["id"], [j["id"] for j in reply.json()["job_runs"]]
            time.sleep(1.0)  # the runner's poll and the after-reply expansion have both had their turn
            assert raw_counts(data_dir / "service.db", batch_id) == (1, 0)
            assert svc.get("account/").json()["balance"] == initial - 30  # reserved at the accept
        finally:
            svc.kill()
        monkeypatch.delenv(HOLD_BODIES_VAR)
        svc = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
        try:
            check_ran_once(svc, data_dir, batch_id, ids)
            replay = svc.post("batch/", crash_body(30), headers={"Idempotency-Key": "crash-1"})
            assert replay.status_code == 201 and [j["id"] for j in replay.json()["job_runs"]] == ids
            assert svc.get("account/").json()["balance"] == initial - 30  # 30 one-image jobs, charged once
        finally:
            svc.stop()

    def test_killed_the_moment_the_reply_arrives(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        svc = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
        try:
            reply = requests.post(f"{svc.api}/batch/", data=orjson.dumps(crash_body(2000)),
                                  headers={**svc.headers(), "Content-Type": "application/json"}, timeout=120)
            svc.proc.kill()  # no request between: SIGKILL as soon as the reply is in
            svc.proc.wait(timeout=30)
            assert reply.status_code == 201
        finally:
            svc.kill()
        batch_id, ids = reply.json()["id"], [j["id"] for j in reply.json()["job_runs"]]
        svc = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
        try:
            summary = svc.get(f"batch/{batch_id}/summary/").json()["job_runs"]
            assert [r["id"] for r in summary] == ids  # every job accepted is there, once, in order
            svc.post(f"batch/{batch_id}/cancel/", {})  # rendering 2,000 jobs proves no more than a few do
            runs = wait_for_batch(svc, batch_id)
        finally:
            svc.stop()
        db = sqlite3.connect(data_dir / "service.db")
        try:
            rows = db.execute("SELECT id, state, attempts FROM jobs WHERE batch_id = ? ORDER BY position",
                              (batch_id,)).fetchall()
            charges = Counter(job_id for (job_id,) in db.execute(
                "SELECT job_id FROM ledger WHERE kind = 'charge' AND batch_id = ?", (batch_id,)))
        finally:
            db.close()
        assert [job_id for job_id, _, _ in rows] == ids
        assert {r["state"] for r in runs} <= {"succeeded", "cancelled"}
        ran = {job_id for job_id, state, _ in rows if state == "succeeded"}
        assert all(attempts == 1 for job_id, _, attempts in rows if job_id in ran)  # none ran twice
        assert set(charges) == ran and set(charges.values()) <= {1}


_cells = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 + 5), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.sampled_from(["a,b", '"q"', "%s", "100%", "ü,ñ", "\\"]),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.sampled_from(["k", "j"]), st.integers(), max_size=2),
)


class TestEncodedColumns:
    """Jobs encoded by column are the texts the job-by-job encoding gives, byte for byte: the stored
    parameters, the seeds hashed from them and the Idempotency-Key's request hash depend on it."""

    @given(st.integers(1, 6).flatmap(lambda n: st.dictionaries(
        st.sampled_from(["n", "x", "name,with", "%d", 'q"', "ü"]), st.lists(_cells, min_size=n, max_size=n),
        max_size=5).map(lambda columns: (n, columns))))
    @settings(max_examples=300, deadline=None)
    def test_the_same_texts_as_job_by_job(self, case: tuple[int, dict[str, list[Any]]]) -> None:
        n, columns = case
        per_job = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)] or [{}] * n
        assert encoded_columns(columns, n) == encoded_params(per_job)


def _one_kind(n: int) -> st.SearchStrategy[list[Any]]:
    """A column of ``n`` cells of one plain kind, some of them null."""
    kinds = (st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**63), 2**63 - 1), st.booleans(),
             st.text(max_size=8), st.sampled_from(["a,b", '"q"', "ü,ñ", "\\", "\u2028", "\x7f", "\x01"]))
    return st.sampled_from(kinds).flatmap(
        lambda kind: st.lists(st.one_of(kind, st.none()), min_size=n, max_size=n))


_plain_columns = st.integers(1, 8).flatmap(lambda n: st.dictionaries(
    st.sampled_from(["n", "x", "name,with", "%d", 'q"', "ü", "a\\b", "tab\there"]), _one_kind(n),
    min_size=1, max_size=5).map(lambda columns: (n, columns)))


class TestPlainColumns:
    """Columns of one kind each are written by polars: the same texts as orjson job by job, byte
    for byte (the stored parameters, the seeds hashed from them and the reply depend on it)."""

    @given(_plain_columns)
    @settings(max_examples=300, deadline=None)
    def test_polars_writes_what_orjson_writes(self, case: tuple[int, dict[str, list[Any]]]) -> None:
        n, columns = case
        per_job = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        expected, _ = encoded_params(per_job)
        assert _written_by_polars(columns, n, None) == expected  # taken, not fallen back from
        jobs = EncodedJobs.of(columns, n)
        assert jobs.job_texts() == expected
        assert EncodedJobs.from_body(jobs.body, n).job_texts() == expected  # what the expansion reads

        # The reply polars writes from the columns is the one formatted job by job from the texts.
        from infinityframe.local.routes import batches
        from infinityframe.local.store import new_id_text

        batch = {"id": "b" * 36, "name": 'x "%s" ü', "created": "2026-01-02T03:04:05.000006+01:00",
                 "generator": SHAPES, "is_preview": 0, "num_jobs": n}
        ids, estimates = new_id_text(n), list(range(n))
        by_text = b"".join(batches._new_batch_reply(Created(batch, ids, expected, estimates)))
        chunk = batches.REPLY_CHUNK
        try:
            for batches.REPLY_CHUNK in (chunk, 3):  # in one piece, and in pieces of 3 jobs
                by_column = b"".join(batches._new_batch_reply(Created(batch, ids, jobs, estimates)))
                assert by_column == by_text
        finally:
            batches.REPLY_CHUNK = chunk
        assert [job["param_values"] for job in orjson.loads(by_column)["job_runs"]] == [
            orjson.loads(text) for text in expected]

    @given(st.lists(st.fixed_dictionaries({}, optional={
        "num_images": st.integers(1, 100), "lighting_power": st.one_of(st.floats(0, 2000), st.integers(0, 2000)),
        "image_width": st.sampled_from([64, 128, 256.0]), "background": st.sampled_from(["NOISE", "PLAIN"]),
        "allow_overlap": st.booleans(), "max_size": st.floats(0.05, 0.9)}), min_size=1, max_size=300))
    @settings(max_examples=60, deadline=None)
    def test_a_checked_batch_as_the_checks_hold_it(self, jobs: list[dict[str, Any]]) -> None:
        from infinityframe.local import generators
        from infinityframe.local.generators.base import check_batch

        checked, errors = check_batch(generators.get(SHAPES), jobs)
        assert not any(errors)
        arrays = {name: (read.column, read.present) for name, read in checked.read.items()}
        expected, _ = encoded_params(checked.params)
        assert _written_by_polars(checked.columns, len(jobs), arrays) == expected
        assert EncodedJobs.of(checked.columns, len(jobs), arrays).job_texts() == expected


_SHAPES_NAMES = ["num_images", "num_objects", "categories", "background", "image_width", "lighting_power"]
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.floats(-10, 3000), st.sampled_from(["noise", "plain", "circle"]),
    st.text(max_size=4), st.sampled_from(["a\x00b", "tab\there", "x" * 1100, "\x9f"]),
    st.lists(st.integers(), max_size=2),
)
_jobs = st.lists(st.dictionaries(st.sampled_from([*_SHAPES_NAMES, "bogus"]), _values, max_size=4), min_size=1,
                 max_size=6)


class TestShapeAtOnce:
    """A batch whose shape is looked at all at once is judged as the job-by-job look judges it."""

    @given(_jobs)
    @settings(max_examples=300, deadline=None)
    def test_the_same_judgement_as_job_by_job(self, jobs: list[dict[str, Any]]) -> None:
        from infinityframe.local import generators
        from infinityframe.local.generators.base import check_batch

        gen = generators.get(SHAPES)
        checked, errors = check_batch(gen, jobs)
        # A last job that is not an object sends the whole batch down the job-by-job path.
        slow, slow_errors = check_batch(gen, [*jobs, "not an object"])
        assert errors == slow_errors[:-1]
        assert {name: column[:-1] for name, column in slow.columns.items()} == checked.columns

