"""Test helpers: a real local service in a subprocess on loopback, with a temporary data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@dataclass
class RunningService:
    """A service started with ``infinityframe serve`` in its own process."""

    url: str
    token: str = field(repr=False)
    data_dir: Path = field()
    proc: subprocess.Popen[str] = field(repr=False)
    args: list[str] = field(default_factory=list)
    log: Path | None = None  # where its stdout and stderr go, merged

    def output(self) -> str:
        """Everything the service has printed so far (stdout and stderr, merged)."""
        return self.log.read_text(errors="replace") if self.log is not None else ""

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw: object) -> requests.Response:
        return requests.get(f"{self.api}/{path}", headers=self.headers(token), timeout=30, **kw)  # type: ignore[arg-type]

    def post(self, path: str, body: object, token: str | None = None, **kw: object) -> requests.Response:
        headers = {**self.headers(token), **kw.pop("headers", {})}  # type: ignore[dict-item]
        return requests.post(f"{self.api}/{path}", json=body, headers=headers, timeout=120, **kw)  # type: ignore[arg-type]

    def add_account(self, name: str, balance: int) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "infinityframe.cli", "accounts", "add", name, "--balance", str(balance),
             "--data-dir", str(self.data_dir)],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_service(data_dir: Path, *extra: str, port: int = 0, new_session: bool = False) -> RunningService:
    """Start ``infinityframe serve`` and wait until it answers.

    Its output goes to a file beside the data dir (:meth:`RunningService.output`), not a pipe:
    a pipe nobody reads after start-up fills, and a chatty service would then freeze on a write.
    ``new_session``: the service leads a process group of its own, as a shell runs it in a terminal.
    """
    args = [sys.executable, "-m", "infinityframe.cli", "serve", "--data-dir", str(data_dir),
            "--port", str(port), *extra]
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, log = tempfile.mkstemp(prefix=f"{data_dir.name}.", suffix=".serve.log", dir=data_dir.parent)
    with os.fdopen(fd, "w") as out:  # the child has its own copy of the file
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True,
                                start_new_session=new_session, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while True:
        exited = proc.poll()  # asked before reading, so all it printed before exiting is read
        for line in Path(log).read_text(errors="replace").split("\n")[:-1]:  # whole lines only
            key, _, value = line.strip().partition(": ")
            if key in ("url", "token"):
                seen[key] = value.strip()
        if "token" in seen:
            break
        if exited is not None:
            raise RuntimeError(f"service exited early ({exited}):\n{Path(log).read_text(errors='replace')}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(timeout=30)
            raise RuntimeError(f"service printed no token within 120 s:\n{Path(log).read_text(errors='replace')}")
        time.sleep(0.02)
    service = RunningService(seen["url"], seen["token"], data_dir, proc, args, Path(log))
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{service.url}/", timeout=2).ok:
                return service
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            service.stop()
            raise RuntimeError("service did not answer within 30 s")
        time.sleep(0.05)


def wait_for_batch(svc: RunningService, batch_id: str, timeout: float = 180,
                   token: str | None = None) -> list[dict[str, object]]:
    """Poll the summary until no job is in progress; returns its job_runs."""
    deadline = time.monotonic() + timeout
    while True:
        runs: list[dict[str, object]] = svc.get(f"batch/{batch_id}/summary/", token).json()["job_runs"]
        if not any(r["in_progress"] for r in runs):
            return runs
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} still running after {timeout} s")
        time.sleep(0.2)


@contextmanager
def extracted_jobs() -> Iterator[list[str]]:
    """The ids of the jobs a download extracts inside the block (to see what a resume fetched again)."""
    from infinityframe.client import download as download_module

    fetched: list[str] = []
    real_extract = download_module.safe_extract

    def spy(archive: Path, job_id: str, dest: Path, **kwargs: Any) -> Path:
        fetched.append(job_id)
        return real_extract(archive, job_id, dest, **kwargs)

    download_module.safe_extract = spy  # type: ignore[assignment]
    try:
        yield fetched
    finally:
        download_module.safe_extract = real_extract  # type: ignore[assignment]
