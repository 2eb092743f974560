"""A hostile Infinity server on loopback, for tests of a client that trusts no server.

:class:`HostileServer` is a stdlib ``http.server`` in a thread that speaks just enough of the
REST contract (``../shared/reference/infinity-api.md``) for a real ``inf.Session(token,
generator, server=url)``, ``sesh.batch(id)``, ``batch.status()``, ``.wait()`` and
``.download()``:

- ``GET /api/jobs/<generator>/``: generator metadata with no parameters;
- ``GET /api/batch/<batch_id>/``: the batch, whose ``id`` is ``reported_id`` (what a lying server says);
- ``GET /api/batch/<batch_id>/summary/``: every job finished, with the ``id`` and ``result_url``
  each :class:`Job` declares;
- ``GET /results/<n>.zip``: job ``n``'s archive bytes.

Any path can be taken over with :meth:`HostileServer.route`, using the misbehaviours below
(:func:`trickle`, :func:`redirect`, :func:`send`). The server records every request it saw
(:attr:`HostileServer.seen`). :func:`snapshot` records a directory tree, to show that nothing
outside the download folder changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["GENERATOR", "SIGNATURE", "TOKEN", "HostileServer", "Job", "deflated", "gzip_bomb", "job_zip",
           "redirect", "send", "send_json", "snapshot", "trickle"]

GENERATOR = "shapes-v0.1.0"
TOKEN = "5ec12e7a0b1c2d3e4f5061728394a5b6c7d8e9f0"
SIGNATURE = "s1gnature0f4resulturl"  # in every result URL's query: must never show in a message
MAX_TRICKLE = 30.0  # seconds a trickle goes on at most, so a client that never gives up cannot hang a test

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Job:
    """A job as the summary lists it. ``result_url=None`` means ``<server>/results/<n>.zip?…``."""

    id: Any
    archive: bytes = b""
    result_url: Any = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


# -- bodies -----------------------------------------------------------------------------------------


def job_zip(job_id: str, files: Mapping[str, bytes | str] | None = None) -> bytes:
    """A job's archive in the service's layout: every member under ``<job_id>/``."""
    files = files if files is not None else {"job.json": "{}", "labels.json": '{"images": []}'}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{job_id}/{name}", data)
    return buf.getvalue()


@lru_cache(maxsize=4)
def gzip_bomb(decoded_mib: int) -> bytes:
    """A gzip stream of valid JSON that inflates to ``decoded_mib`` MiB (about 1000:1)."""
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pieces = [out.compress(b'{"job_runs": [], "pad": "')]
    block = b" " * (1 << 20)
    pieces += [out.compress(block) for _ in range(decoded_mib)]
    pieces += [out.compress(b'"}'), out.flush()]
    return b"".join(pieces)


def deflated(data: bytes, *, raw: bool = False) -> bytes:
    """``data`` as a ``Content-Encoding: deflate`` body: zlib-wrapped, or raw deflate as some servers send."""
    out = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return out.compress(data) + out.flush()


# -- misbehaviours ------------------------------------------------------------------------------------


def send(h: BaseHTTPRequestHandler, body: bytes, status: int = 200, headers: Mapping[str, str] | None = None,
         *, chunked: bool = False) -> None:
    """A whole reply; with ``chunked``, no Content-Length (the client cannot know the size up front)."""
    h.send_response(status)
    for key, value in (headers or {"Content-Type": "application/json"}).items():
        h.send_header(key, value)
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
    else:
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if not chunked:
        h.wfile.write(body)
        return
    for start in range(0, len(body), 1 << 16):
        piece = body[start:start + (1 << 16)]
        h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    h.wfile.write(b"0\r\n\r\n")


def send_json(h: BaseHTTPRequestHandler, obj: Any, status: int = 200) -> None:
    send(h, json.dumps(obj).encode(), status)


def trickle(interval: float, *, in_headers: bool = False) -> Handler:
    """A slow-loris reply: one byte every ``interval`` s (each well inside any read timeout), for ever.

    By default the status line and headers come at once (``Content-Length: 10 MB``) and the body
    trickles; with ``in_headers`` the headers never end.
    """

    def handler(h: BaseHTTPRequestHandler) -> None:
        server: _Server = h.server  # type: ignore[assignment]
        if in_headers:
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        else:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        h.wfile.flush()
        ends = time.monotonic() + MAX_TRICKLE
        try:
            while time.monotonic() < ends and not server.stopping.wait(interval):
                h.wfile.write(b"X" if in_headers else b" ")
                h.wfile.flush()
        except OSError:  # the client gave up: what the test wants
            server.gave_up.append(h.path)
        h.close_connection = True

    return handler


def redirect(location: str | Callable[[BaseHTTPRequestHandler], str], status: int = 302) -> Handler:
    """Answer with a redirect to ``location`` (a fixed URL, or one made from the request)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        target = location(h) if callable(location) else location
        h.send_response(status)
        h.send_header("Location", target)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handler


# -- the server ---------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer
    stopping: threading.Event
    gave_up: list[str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.seen.append(Seen("GET", self.path, dict(self.headers.items())))
        path = self.path.split("?", 1)[0]
        handler = owner.routes.get(path) or owner.routes.get(path.rsplit("/", 1)[0] + "/*")
        (handler or owner.default)(self)


@dataclass
class HostileServer:
    """A loopback server that answers a real Session, and misbehaves where a test tells it to.

    Examples
    --------
    >>> with HostileServer([Job(str(uuid.uuid4()), job_zip(...))]) as server:   # doctest: +SKIP
    ...     server.route("/results/0.zip", trickle(0.2))
    ...     inf.Session(TOKEN, GENERATOR, server=server.url).batch(server.batch_id).download(folder)
    """

    jobs: list[Job]
    batch_id: str = "5291a594-f9b4-4b67-a7e7-e32e4c92b7aa"
    reported_id: Any = None  # what GET /api/batch/<id>/ says the batch's id is; batch_id by default
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._server.stopping = threading.Event()
        self._server.gave_up = []
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def gave_up(self) -> list[str]:
        """Paths of trickled replies the client hung up on."""
        return self._server.gave_up

    def result_url(self, n: int) -> str:
        return f"{self.url}/results/{n}.zip?expires=9999999999&signature={SIGNATURE}"

    def route(self, path: str, handler: Handler) -> None:
        """Answer ``path`` (exact, or ``/prefix/*`` for one more segment) with ``handler``."""
        self.routes[path] = handler

    def hits(self, prefix: str) -> int:
        return sum(s.path.startswith(prefix) for s in self.seen)

    def default(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        runs = [{"id": job.id, "name": GENERATOR} for job in self.jobs]
        if path == f"/api/jobs/{GENERATOR}/":
            send_json(h, {"name": GENERATOR, "version": "0.1.0", "params": [], "options": {"preview": True}})
        elif path == f"/api/batch/{self.batch_id}/":
            reported = self.batch_id if self.reported_id is None else self.reported_id
            send_json(h, {"id": reported, "name": "hostile", "created": "2024-01-10T11:50:00.015196+00:00",
                          "job_runs": [{**run, "is_preview": False, "param_values": {}} for run in runs]})
        elif path == f"/api/batch/{self.batch_id}/summary/":
            send_json(h, {"job_runs": [
                {**run, "in_progress": False, "state": "succeeded", "samples": 1,
                 "result_url": self.result_url(n) if job.result_url is None else job.result_url}
                for n, (run, job) in enumerate(zip(runs, self.jobs, strict=True))]})
        elif path.startswith("/results/") and path.endswith(".zip") and path[9:-4].isdigit() \
                and int(path[9:-4]) < len(self.jobs):
            send(h, self.jobs[int(path[9:-4])].archive, headers={"Content-Type": "application/zip"})
        else:
            send_json(h, {"detail": "Not found."}, 404)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# -- what changed on disk -------------------------------------------------------------------------------


def snapshot(root: Path, *, skip: Path | None = None) -> dict[str, tuple[str, int, str]]:
    """Every path under ``root`` (links not followed, ``skip`` and what is under it left out):
    its kind, size and content digest."""
    found: dict[str, tuple[str, int, str]] = {}

    def walk(folder: Path) -> Iterator[Path]:
        for path in sorted(folder.iterdir()):
            if skip is not None and (path == skip or path.is_relative_to(skip)):
                continue
            yield path
            if path.is_dir() and not path.is_symlink():
                yield from walk(path)

    for path in walk(root):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = ("link", 0, str(path.readlink()))
        elif path.is_dir():
            found[key] = ("dir", 0, "")
        else:
            data = path.read_bytes()
            found[key] = ("file", len(data), hashlib.sha256(data).hexdigest())
    return found
