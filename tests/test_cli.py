"""The ``infinityframe`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _service import start_service


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infinityframe.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_generators_lists_builtins() -> None:
    out = run("generators")
    assert out.returncode == 0
    assert "stickfit-v0.1.0" in out.stdout and "shapes-v0.1.0" in out.stdout
    meta = json.loads(run("generators", "--json").stdout)
    assert {m["name"] for m in meta} >= {"stickfit-v0.1.0", "shapes-v0.1.0"}


def test_serve_prints_url_and_token(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1")
    try:
        assert svc.url.startswith("http://127.0.0.1:")
        assert len(svc.token) == 40 and int(svc.token, 16) >= 0
        assert svc.get("jobs/").status_code == 200
        assert (tmp_path / "token").read_text() == svc.token
    finally:
        svc.stop()


def test_accounts_add_prints_a_working_token(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1")
    try:
        token = run("accounts", "add", "bob", "--balance", "7", "--data-dir", str(tmp_path)).stdout.strip()
        assert svc.get("account/", token=token).json()["balance"] == 7
    finally:
        svc.stop()


def test_unknown_command_fails() -> None:
    assert run("nonsense").returncode != 0
