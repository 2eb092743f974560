"""Latency of small requests on a keep-alive connection: the service's socket as it is, and as it was.

Run: ``python benchmarks/bench_keepalive.py [--requests 200] [--repeats 3]``. Two embedded
services start side by side in this process on fresh data dirs: one as shipped (the listening
socket made ``IPPROTO_TCP``, so asyncio sets ``TCP_NODELAY`` on every accepted connection) and
the baseline, the same service with the socket made as before (protocol 0: Nagle's algorithm
and delayed ACKs stay on). For each, in turn and ``--repeats`` times: the first request a
fresh ``requests.Session`` sends (a new connection, what a script's first call pays), then the
median of ``--requests`` sequential requests on that connection (what a notebook's polling
pays), for ``GET /api/account/`` and a 20-job batch's ``GET /api/batch/<id>/summary/``; and a
script's first two requests in a fresh interpreter. Results go to ``benchmarks/results/keepalive.md``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infinityframe as inf
from _machine import header, publish
from infinityframe.local import server as server_module


def _bind_as_before(host: str, port: int) -> socket.socket:
    """The listening socket as the service made it before: protocol 0, so no TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextmanager
def service(bind: Callable[[str, int], socket.socket]) -> Iterator[inf.Service]:
    shipped = server_module._bind
    server_module._bind = bind
    try:
        with tempfile.TemporaryDirectory() as data_dir, inf.serve(data_dir, rate_limit=None,
                                                                  executor="thread") as svc:
            yield svc
    finally:
        server_module._bind = shipped


def measure(svc: inf.Service, path: str, n: int) -> tuple[float, float]:
    """Seconds of the first request on a new connection, and the median of the next ``n``."""
    with requests.Session() as http:
        http.headers["Authorization"] = f"Token {svc.token}"
        url = f"{svc.url}{path}"
        started = time.perf_counter()
        http.get(url, timeout=30).raise_for_status()
        first = time.perf_counter() - started
        times = []
        for _ in range(n):
            started = time.perf_counter()
            http.get(url, timeout=30).raise_for_status()
            times.append(time.perf_counter() - started)
    return first, statistics.median(times)


_FRESH = """
import sys, time, requests
http = requests.Session()
http.headers["Authorization"] = "Token " + sys.argv[2]
started = time.perf_counter()
http.get(sys.argv[1], timeout=30).raise_for_status()
first = time.perf_counter() - started
started = time.perf_counter()
http.get(sys.argv[1], timeout=30).raise_for_status()
print(first, time.perf_counter() - started)
"""


def fresh_process(svc: inf.Service, path: str) -> tuple[float, float]:
    """A script's first and second request in a fresh interpreter (imports not counted)."""
    out = subprocess.run([sys.executable, "-c", _FRESH, f"{svc.url}{path}", svc.token], capture_output=True,
                         text=True, check=True, timeout=60)
    first, second = map(float, out.stdout.split())
    return first, second


def summary_path(svc: inf.Service) -> str:
    sesh = inf.Session(svc.token, "shapes-v0.1.0", server=svc.url)
    batch = sesh.submit([{"num_images": 1, "image_width": 64, "image_height": 64, "min_size": 0.1 + i / 100}
                         for i in range(20)], name="keep-alive bench")
    batch.wait(progress=False, poll=0.1)
    return f"/api/batch/{batch.id}/summary/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with service(server_module._bind) as ours, service(_bind_as_before) as before:
        paths = {"account": ("/api/account/", "/api/account/"),
                 "summary (20 jobs)": (summary_path(ours), summary_path(before))}
        scripts: dict[str, list[tuple[float, float]]] = {"ours": [], "before": []}
        for _ in range(args.repeats):
            for label, (ours_path, before_path) in paths.items():
                figures.setdefault((label, "ours"), []).append(measure(ours, ours_path, args.requests))
                figures.setdefault((label, "before"), []).append(measure(before, before_path, args.requests))
            scripts["ours"].append(fresh_process(ours, "/api/account/"))
            scripts["before"].append(fresh_process(before, "/api/account/"))

    lines = [header("Small requests on a keep-alive connection: TCP_NODELAY"), "",
             f"{args.requests} sequential requests per run after the first, {args.repeats} runs alternating; "
             "medians over runs (ms).", "",
             "| request | first, ours | first, before | warm, ours | warm, before | warm: before ÷ ours |",
             "|---|---|---|---|---|---|"]
    for label in paths:
        ours_first = statistics.median(f for f, _ in figures[(label, "ours")]) * 1e3
        before_first = statistics.median(f for f, _ in figures[(label, "before")]) * 1e3
        ours_warm = statistics.median(w for _, w in figures[(label, "ours")]) * 1e3
        before_warm = statistics.median(w for _, w in figures[(label, "before")]) * 1e3
        lines.append(f"| {label} | {ours_first:.1f} | {before_first:.1f} | {ours_warm:.2f} | {before_warm:.2f} | "
                     f"{before_warm / ours_warm:.1f}× |")
    first = {k: statistics.median(f for f, _ in v) * 1e3 for k, v in scripts.items()}
    second = {k: statistics.median(w for _, w in v) * 1e3 for k, v in scripts.items()}
    lines += ["", "A script in a fresh interpreter (imports not counted), `GET /api/account/`, medians of "
              f"{args.repeats} processes (ms):", "",
              "| | first, ours | first, before | second, ours | second, before | second: before ÷ ours |",
              "|---|---|---|---|---|---|",
              f"| fresh process | {first['ours']:.1f} | {first['before']:.1f} | {second['ours']:.2f} | "
              f"{second['before']:.2f} | {second['before'] / second['ours']:.1f}× |"]
    lines += ["", "The first request opens the connection, so Nagle's algorithm has nothing to wait for yet; "
              "from the second on, the baseline waits for the client's delayed ACK on every answer."]
    publish(lines, "keepalive.md")


if __name__ == "__main__":
    main()
