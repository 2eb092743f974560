"""The store's state machine and ledger, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from infinityframe.local.store import Created, NewJob, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "service.db")


def new_account(store: Store, balance: int, name: str = "a") -> int:
    store.create_account(name, balance)
    account = store.account_by_name(name)
    assert account is not None
    return account.id


def make_batch(store: Store, account: int, estimates: list[int], preview: bool = False) -> list[str]:
    created = store.create_batch(account, "b", "shapes-v0.1.0", preview,
                                 [NewJob({"i": i}, i, e) for i, e in enumerate(estimates)])
    assert isinstance(created, Created)
    ids = [row["id"] for row in store.jobs_of_batch(created.batch["id"])]
    assert ids == [row["id"] for row in created.jobs]  # the rows it answered are the rows it wrote
    return ids


class TestLedger:
    def test_reserve_then_charge_actual(self, store: Store) -> None:
        account_id = new_account(store, 100)
        jobs = make_batch(store, account_id, [10, 20])
        assert store.balance(account_id) == 70
        claimed = [r["id"] for r in store.claim(5)]
        assert claimed == jobs
        assert store.succeed(jobs[0], 12)
        assert store.fail(jobs[1], "boom")
        assert store.balance(account_id) == 100 - 12
        assert store.ledger_totals(account_id) == {"grant": 100, "reserve": -30, "release": 30, "charge": -12}

    def test_a_job_finishes_and_is_charged_once(self, store: Store) -> None:
        account_id = new_account(store, 100)
        (job,) = make_batch(store, account_id, [5])
        store.claim(1)
        assert store.succeed(job, 5)
        assert not store.succeed(job, 5)
        assert not store.fail(job, "late failure")
        assert not store.requeue(job)
        assert store.balance(account_id) == 95

    def test_concurrent_finishers_charge_once(self, store: Store) -> None:
        account_id = new_account(store, 1000)
        (job,) = make_batch(store, account_id, [5])
        store.claim(1)
        results: list[bool] = []
        threads = [threading.Thread(target=lambda: results.append(store.succeed(job, 5))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 1
        assert store.balance(account_id) == 995

    def test_the_balance_is_the_ledgers_sum_whoever_wrote_to_it(self, store: Store, tmp_path: Path) -> None:
        """The balance and the totals by kind add up only the rows written since they were last
        read: rows another process writes (grants, a batch, its jobs settled) count, and a batch is
        accepted up to the last sample and refused past it."""
        import random
        import subprocess
        import sys

        account_id = new_account(store, 1_000)
        other = Store(tmp_path / "service.db")  # another connection to the same file, as another process has
        rng = random.Random(7)

        def ledger_sum() -> int:
            with sqlite3.connect(tmp_path / "service.db") as db:
                return db.execute("SELECT SUM(amount) FROM ledger WHERE account_id = ?", (account_id,)).fetchone()[0]

        def by_kind() -> dict[str, int]:
            with sqlite3.connect(tmp_path / "service.db") as db:
                return dict(db.execute("SELECT kind, SUM(amount) FROM ledger WHERE account_id = ? GROUP BY kind",
                                       (account_id,)).fetchall())

        for step in range(60):
            writer = store if rng.random() < 0.5 else other
            action = rng.choice(("grant", "batch", "settle", "cancel"))
            if action == "grant":
                writer.grant(account_id, rng.randint(1, 50))
            elif action == "batch":
                writer.create_batch(account_id, "b", "shapes-v0.1.0", False,
                                    [NewJob({"i": i}, i, rng.randint(1, 20)) for i in range(rng.randint(1, 4))])
            elif action == "settle":
                for row in writer.claim(2):
                    assert writer.succeed(row["id"], rng.randint(0, 25)) if rng.random() < 0.5 else \
                        writer.fail(row["id"], "boom")
            else:
                for batch in writer.batches(account_id, None, None)[-1:]:
                    writer.cancel_batch(account_id, batch["id"])
            assert store.balance(account_id) == other.balance(account_id) == ledger_sum(), step
            assert store.ledger_totals(account_id) == other.ledger_totals(account_id) == by_kind(), step
        # a grant from another process, then a batch costing exactly the balance, then one sample more
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from infinityframe.local.store import Store; "
                        f"Store(Path(sys.argv[1])).grant({account_id}, 500)", str(tmp_path / "service.db")],
                       check=True, timeout=60)
        balance = ledger_sum()
        assert store.balance(account_id) == balance
        refused = store.create_batch(account_id, "b", "shapes-v0.1.0", False, [NewJob({}, 0, balance + 1)])
        assert refused == (None, balance)
        assert isinstance(store.create_batch(account_id, "b", "shapes-v0.1.0", False, [NewJob({}, 0, balance)]),
                          Created)
        assert store.balance(account_id) == other.balance(account_id) == ledger_sum() == 0
        other.close()

    def test_refused_when_over_balance(self, store: Store) -> None:
        account_id = new_account(store, 25)
        batch_id, balance = store.create_batch(account_id, "b", "g", False, [NewJob({}, 0, 30)])
        assert batch_id is None and balance == 25
        assert store.batches(account_id, None, None) == []

    def test_append_only(self, store: Store, tmp_path: Path) -> None:
        store.create_account("a", 10)
        db = sqlite3.connect(tmp_path / "service.db")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE ledger SET amount = 1000000")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM ledger")


class TestStateMachine:
    def test_claim_is_fifo_and_exclusive(self, store: Store) -> None:
        account_id = new_account(store, 1000)
        first = make_batch(store, account_id, [1, 1, 1])
        second = make_batch(store, account_id, [1])
        assert [r["id"] for r in store.claim(2)] == first[:2]
        assert [r["id"] for r in store.claim(5)] == [first[2], second[0]]
        assert store.claim(5) == []

    def test_queued_previews_go_ahead_of_queued_videos(self, store: Store) -> None:
        """Previews first, each kind in the order it came; a running video keeps running."""
        account_id = new_account(store, 1000)
        videos = make_batch(store, account_id, [5, 5, 5])
        assert [r["id"] for r in store.claim(1)] == videos[:1]
        previews = make_batch(store, account_id, [1, 1], preview=True)
        later = make_batch(store, account_id, [1], preview=True)
        assert [r["id"] for r in store.claim(3)] == [*previews, later[0]]
        assert [r["id"] for r in store.claim(5)] == videos[1:]
        assert store.claim(5) == []

    def test_recover_requeues_running_only(self, store: Store) -> None:
        account_id = new_account(store, 1000)
        jobs = make_batch(store, account_id, [1, 1, 1])
        store.claim(3)
        store.succeed(jobs[0], 1)
        assert store.recover() == 2
        states = [r["state"] for r in store.jobs_of_batch(store.jobs(account_id, False)[0]["batch_id"])]
        assert states == ["succeeded", "queued", "queued"]
        reclaimed = store.claim(5)
        assert [r["attempts"] for r in reclaimed] == [2, 2]

    def test_cancel_only_queued(self, store: Store) -> None:
        account_id = new_account(store, 1000)
        jobs = make_batch(store, account_id, [4, 4, 4])
        batch_id = store.jobs(account_id, False)[0]["batch_id"]
        store.claim(1)
        assert store.cancel_batch(account_id, batch_id) == 2
        assert store.balance(account_id) == 1000 - 4  # the running job is still reserved
        store.succeed(jobs[0], 3)
        assert store.balance(account_id) == 997

    def test_tokens_are_stored_hashed(self, store: Store, tmp_path: Path) -> None:
        token = store.create_account("a", 1)
        raw = (tmp_path / "service.db").read_bytes()
        assert token.encode() not in raw
        assert store.authenticate(token) is not None
        assert store.authenticate(token[:-1] + "x") is None
