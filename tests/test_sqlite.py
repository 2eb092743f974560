"""Many processes opening one new SQLite file at the same instant (submission records, the service's store)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infinityframe import _sqlite

SCRIPT = """
import sys, time
from pathlib import Path
from infinityframe.client.records import SubmissionRecords
db, go, key = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while not go.exists():          # every process is imported and waiting: then all open at once
    time.sleep(0.001)
records = SubmissionRecords(db)
records.put(key, "batch-" + key, origin="s", generator="g", name="", num_jobs=1)
print(records.get(key))
"""


def test_concurrent_first_opens(tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "records.db"), str(go), str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(12)]
    time.sleep(3)  # long enough for every interpreter to start and reach the barrier
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 12, [err[-300:] for _, err in outputs if err]
    assert sorted(out.strip() for out, _ in outputs) == sorted(f"batch-{i}" for i in range(12))


class _Flaky:
    """A connection whose first WAL switches fail as SQLite's deadlock avoidance makes them fail."""

    failures = 3

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "PRAGMA journal_mode=WAL" and _Flaky.failures:
            _Flaky.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_set_up_retries_a_locked_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = sqlite3.connect
    monkeypatch.setattr(_sqlite.sqlite3, "connect", lambda *a, **k: _Flaky(real_connect(*a, **k)))
    _Flaky.failures = 3
    db = _sqlite.connect(tmp_path / "x.db", "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    assert _Flaky.failures == 0
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="incomplete input"):
        _sqlite.connect(tmp_path / "y.db", "CREATE TABLE nonsense (")
