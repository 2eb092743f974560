"""The in-process service: inf.serve() as a context manager, restarts, secrets."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import requests

import infinityframe as inf


class TestServe:
    def test_context_manager_serves_then_stops(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1) as service:
            assert service.url.startswith("http://127.0.0.1:")
            r = requests.get(f"{service.url}/api/jobs/", headers={"Authorization": f"Token {service.token}"},
                             timeout=10)
            assert r.status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{service.url}/api/jobs/", timeout=2)

    def test_token_survives_a_restart(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1) as first:
            token = first.token
        with inf.serve(tmp_path, workers=1) as second:
            assert second.token == token
            assert second.url != "" and len(token) == 40

    def test_lost_token_file_issues_a_new_token(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1) as first:
            old = first.token
        (tmp_path / "token").unlink()
        with inf.serve(tmp_path, workers=1) as second:
            assert second.token != old
            headers = {"Authorization": f"Token {old}"}
            assert requests.get(f"{second.url}/api/jobs/", headers=headers, timeout=10).status_code == 401

    def test_secrets_are_private_files(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1):
            pass
        for name in ("token", "signing.key"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600

    def test_token_not_in_repr_or_logs(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        with inf.serve(tmp_path, workers=1) as service:
            requests.get(f"{service.url}/api/jobs/", headers={"Authorization": f"Token {service.token}"},
                         timeout=10)
            assert service.token not in repr(service)
            assert service.token not in str(service)
        assert service.token not in caplog.text

    def test_binds_loopback_by_default(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1) as service:
            assert service._sock.getsockname()[0] == "127.0.0.1"

    def test_second_account(self, tmp_path: Path) -> None:
        with inf.serve(tmp_path, workers=1) as service:
            other = service.create_account("other", 5)
            r = requests.get(f"{service.url}/api/account/", headers={"Authorization": f"Token {other}"}, timeout=10)
            assert r.json()["balance"] == 5 and r.json()["name"] == "other"
