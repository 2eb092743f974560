"""Choosing where the local service renders: names, the thread executor, and Dask's absence."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests

import infinityframe as inf
from infinityframe.cli import main
from infinityframe.errors import InfinityError
from infinityframe.local import executors
from infinityframe.local.executors import ExecutorError, check, parse


@pytest.mark.parametrize(("given", "expected"), [
    ("process", "process"), (" Thread ", "thread"), ("dask://127.0.0.1:8786", "dask://127.0.0.1:8786"),
    ("DASK://scheduler.internal:8786", "dask://scheduler.internal:8786"),
])
def test_parse_names(given: str, expected: str) -> None:
    assert parse(given) == expected


@pytest.mark.parametrize("bad", ["processes", "dask://", "dask://host", "dask://host:port", "tcp://1.2.3.4:8786",
                                 "dask://host:8786/path"])
def test_parse_refuses_with_the_choices(bad: str) -> None:
    with pytest.raises(ExecutorError, match="dask://") as info:
        parse(bad)
    assert isinstance(info.value, InfinityError)


@pytest.fixture
def no_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError


def test_dask_without_distributed_says_what_to_install(no_dask: None, tmp_path: Path) -> None:
    assert check("thread") == "thread"
    with pytest.raises(ExecutorError, match=r"pip install 'infinityframe\[dask\]'"):
        check("dask://127.0.0.1:8786")
    with pytest.raises(ExecutorError, match="not installed"):
        inf.serve(tmp_path, executor="dask://127.0.0.1:8786")
    assert not (tmp_path / "service.db").exists(), "nothing is created for a service that cannot run"


def test_cli_serve_refuses_dask_without_distributed(no_dask: None, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "0", "--executor", "dask://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert "infinityframe[dask]" in err and "Traceback" not in err


def test_cli_serve_refuses_an_unknown_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "0", "--executor", "gpu"]) == 2
    assert "unknown executor 'gpu'" in capsys.readouterr().err


def test_unreachable_scheduler_fails_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    import socket

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ExecutorError, match=f"could not reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        inf.serve(tmp_path, executor=f"dask://127.0.0.1:{port}")
    assert not (tmp_path / "service.json").exists(), "a service that never ran is not announced"


def test_thread_executor_runs_a_batch(tmp_path: Path) -> None:
    with inf.serve(tmp_path, executor="thread", workers=2, rate_limit=None) as service:
        assert service.executor == "thread" and "executor='thread'" in repr(service)
        headers = {"Authorization": f"Token {service.token}"}
        body = {"name": "threads", "job_runs": [
            {"name": "shapes-v0.1.0", "param_values": {"num_images": 2, "image_width": 64, "image_height": 64,
                                                       "lighting_power": float(i)}} for i in range(5)]}
        batch = requests.post(f"{service.url}/api/batch/", json=body, headers=headers, timeout=30).json()
        deadline = time.monotonic() + 60
        while True:
            runs = requests.get(f"{service.url}/api/batch/{batch['id']}/", headers=headers, timeout=30).json()
            states = [r["state"] for r in runs["job_runs"]]
            if all(s in ("succeeded", "failed") for s in states) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert states == ["succeeded"] * 5
        assert sorted(p.stem for p in (tmp_path / "results").glob("*.zip")) == sorted(
            r["id"] for r in runs["job_runs"])
        account = requests.get(f"{service.url}/api/account/", headers=headers, timeout=30).json()
        assert account["charged"] == 10 and account["balance"] == account["granted"] - 10
        assert account["reserved"] == 0


def test_session_local_passes_the_executor_on(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="unknown executor 'gpu'"):
        inf.Session.local("shapes-v0.1.0", data_dir=tmp_path, executor="gpu")
