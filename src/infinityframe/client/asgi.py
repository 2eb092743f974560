"""A requests adapter that answers from an ASGI application in this process: no server, no socket.

``Session(..., transport=ASGIAdapter(app))`` sends every request of the session — API calls and
result downloads alike — to ``app`` (e.g. the local service's ``create_app(...)``), each run to
completion with asyncio. The transport's :class:`~infinityframe.client.RetryPolicy` applies as
over the network (statuses to retry, ``Retry-After``, idempotent POSTs only); timeouts do not,
there is no network to wait on. It is what the client's unit tests run on; end-to-end tests
still use a real service on loopback.

Examples
--------
>>> from infinityframe.client.asgi import ASGIAdapter
>>> from infinityframe.local.server import in_process_app
>>> with in_process_app("asgi-example-data") as (app, token):
...     sesh = inf.Session(token, "shapes-v0.1.0", server="http://local.test", transport=ASGIAdapter(app))
...     sesh.estimate([{"num_images": 2}])
[2]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import io
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from ._retry import for_request

__all__ = ["ASGIAdapter"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


class ASGIAdapter(HTTPAdapter):
    """Carries requests to an ASGI application in this process (see the module's docstring).

    Parameters
    ----------
    app : ASGI application
        E.g. ``infinityframe.local.app.create_app(state)``.
    client : (str, int)
        The peer address the application sees (the local service throttles failed tokens by it).
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1)
        self.app = app
        self.client = client

    def __repr__(self) -> str:
        return f"ASGIAdapter({type(self.app).__name__})"

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Mapping[str, str] | None = None) -> requests.Response:
        method, url = (request.method or "GET").upper(), request.url or ""
        retries = for_request(self.max_retries, method, request.headers)
        while True:
            raw = self._call(request, method, url)
            if not isinstance(retries, Retry) or not retries.is_retry(method, raw.status,
                                                                       bool(raw.headers.get("Retry-After"))):
                break
            try:
                retries = retries.increment(method, url, response=raw)
            except MaxRetryError:  # spent (or no time left to wait): this answer is the last
                break
            retries.sleep(raw)
        raw.retries = retries  # the transport counts the attempts from its history, as over the network
        return self.build_response(request, raw)

    def _call(self, request: requests.PreparedRequest, method: str, url: str) -> HTTPResponse:
        parts = urlsplit(url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):  # a file or an iterator of chunks
            body = body.read() if hasattr(body, "read") else b"".join(bytes(chunk) for chunk in body)
        headers = [(name.lower().encode("latin-1"), str(value).encode("latin-1"))
                   for name, value in request.headers.items()]
        if not any(name == b"host" for name, _ in headers):
            headers.append((b"host", parts.netloc.encode("latin-1")))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        scope: Message = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": parts.scheme, "path": unquote(parts.path), "raw_path": parts.path.encode(),
            "query_string": parts.query.encode("latin-1"), "root_path": "", "headers": headers,
            "client": self.client, "server": (parts.hostname or "", port),
        }
        status, answer, content = _run(self.app, scope, bytes(body))
        return HTTPResponse(body=io.BytesIO(content), headers=HTTPHeaderDict(answer), status=status,
                            reason=http.client.responses.get(status, ""), preload_content=False,
                            decode_content=False, request_method=method, request_url=url)


def _run(app: ASGIApp, scope: Message, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of one request run through ``app`` to completion."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop in this thread
        return asyncio.run(_exchange(app, scope, body))
    # Called from inside a running loop (a notebook's): run the exchange on a loop of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _exchange(app, scope, body)).result()


async def _exchange(app: ASGIApp, scope: Message, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    sent_request = False
    finished = asyncio.Event()
    status: int | None = None
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()  # a streaming response listens for the client leaving: only once it is done
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.extend((bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                           for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception as err:
        if status is None or not finished.is_set():  # no whole answer: as a connection lost mid-way
            raise requests.ConnectionError(f"the application raised {type(err).__name__} before it "
                                           "finished answering") from err
        # it answered (a 500, from its error handler) and then re-raised for its server to log
    if status is None:
        raise requests.ConnectionError("the application returned without answering")
    return status, headers, b"".join(chunks)
