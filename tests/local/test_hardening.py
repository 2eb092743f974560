"""What the service does for its neighbours: private files, no trusted proxy headers, TCP_NODELAY, no token in ps."""

from __future__ import annotations

import http.client
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import infinityframe as inf
from infinityframe.local.private import write_private
from infinityframe.local.server import Service, ServiceConfig

SHAPES = "shapes-v0.1.0"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[inf.Service]:
    with inf.serve(tmp_path / "new" / "data", executor="thread", workers=1, rate_limit=None) as svc:
        yield svc


class TestPrivateFiles:
    def test_a_new_data_dir_and_everything_in_it_are_private(self, service: inf.Service) -> None:
        headers = {"Authorization": f"Token {service.token}"}
        body = {"name": "private", "job_runs": [
            {"name": SHAPES, "param_values": {"num_images": 1, "image_width": 64, "image_height": 64}}]}
        batch_id = requests.post(f"{service.url}/api/batch/", json=body, headers=headers, timeout=30).json()["id"]
        deadline = time.monotonic() + 60
        while not list((service.data_dir / "results").glob("*.zip")):
            assert time.monotonic() < deadline, f"batch {batch_id} never finished"
            time.sleep(0.05)
        data = service.data_dir
        assert mode(data) == 0o700
        assert mode(data / "results") == 0o700 and mode(data / "work") == 0o700
        for name in ("service.db", "service.db-wal", "service.db-shm", "token", "signing.key", "service.lock",
                     "service.json", "service_id"):
            assert mode(data / name) == 0o600, name
        for archive in (data / "results").glob("*.zip"):
            assert mode(archive) == 0o600, archive.name
        assert not list(data.glob(".*.tmp")), "no temporary file left"

    def test_secrets_are_0600_from_their_first_byte(self, tmp_path: Path) -> None:
        old = os.umask(0)  # the old write-then-chmod made a 0666 file for a moment; this never does
        try:
            assert write_private(tmp_path / "token", b"first")
        finally:
            os.umask(old)
        assert mode(tmp_path / "token") == 0o600
        assert not write_private(tmp_path / "token", b"second", replace=False), "an existing key is kept"
        assert (tmp_path / "token").read_bytes() == b"first"
        assert [p.name for p in tmp_path.iterdir()] == ["token"]

    def test_an_existing_data_dir_keeps_its_mode(self, tmp_path: Path) -> None:
        tmp_path.chmod(0o750)  # the user's choice (a shared group folder, say) is not overridden
        with inf.serve(tmp_path, executor="thread", workers=1):
            pass
        assert mode(tmp_path) == 0o750
        assert mode(tmp_path / "token") == 0o600


def server_side_socket(client: socket.socket) -> socket.socket:
    """The service's end of ``client``'s connection, found among this process's descriptors."""
    wanted = client.getsockname()
    for fd in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if candidate.type == socket.SOCK_STREAM and candidate.getpeername() == wanted:
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("the service's end of the connection was not found")


def test_accepted_connections_have_tcp_nodelay(service: inf.Service) -> None:
    # Without it, a keep-alive connection waits on Nagle and delayed ACKs: ~44 ms a request, not ~1 ms.
    host, port = service.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/")
        assert conn.getresponse().read()
        assert conn.sock is not None
        accepted = server_side_socket(conn.sock)
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            accepted.close()
    finally:
        conn.close()


def throttled_with_rotating_forwarded_for(url: str) -> int:
    """How many of 12 bad-token requests, each claiming another client address, were throttled."""
    codes = [requests.get(f"{url}/api/account/", timeout=10,
                          headers={"Authorization": "Token " + "f" * 40, "X-Forwarded-For": f"203.0.113.{i}"}
                          ).status_code for i in range(12)]
    assert set(codes) <= {401, 429}, codes
    return codes.count(429)


def test_proxy_headers_are_not_trusted_unless_configured(tmp_path: Path) -> None:
    with inf.serve(tmp_path / "plain", executor="thread", workers=1, rate_limit=1.0) as plain:
        assert throttled_with_rotating_forwarded_for(plain.url) > 0, "a made-up X-Forwarded-For escaped the throttle"
    behind_proxy = Service(ServiceConfig(tmp_path / "proxied", executor="thread", workers=1, rate_limit=1.0,
                                         forwarded_allow_ips="127.0.0.1")).start()
    try:  # told to trust the proxy on loopback, each forwarded address has a bucket of its own
        assert throttled_with_rotating_forwarded_for(behind_proxy.url) == 0
    finally:
        behind_proxy.stop()


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INFINITY_", "INFINITYFRAME_"))}
    return subprocess.run([sys.executable, "-m", "infinityframe.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=clean, input=stdin)


def test_the_cli_reads_the_token_from_a_file_or_stdin(service: inf.Service, tmp_path: Path) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    token_file = tmp_path / "token.txt"
    token_file.write_text(service.token + "\n")
    by_file = cli("status", missing, "--server", service.url, "--token-file", str(token_file))
    by_stdin = cli("status", missing, "--server", service.url, "--token-file", "-", stdin=service.token + "\n")
    for out in (by_file, by_stdin):  # the token was accepted: the batch is what is missing
        assert out.returncode == 1 and f"no batch {missing}" in out.stderr.lower(), out.stderr
        assert service.token not in out.stdout + out.stderr
    token_file.write_text("\n")
    empty = cli("status", missing, "--server", service.url, "--token-file", str(token_file))
    assert empty.returncode == 2 and "is empty" in empty.stderr
