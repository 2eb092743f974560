"""Time for the local service to accept a 10,000-job batch POST (and to estimate it), against a bare echo.

Run: ``python benchmarks/bench_batch_post.py [--jobs 10000] [--rounds 15]``.

Two servers run in processes of their own on loopback, as a user's would, each served by the
same stack (uvicorn with the service's settings and socket, ``local/server.py``):

- the local service (``infinityframe serve``), answering ``POST /api/batch/estimate/`` and
  ``POST /api/batch/`` (validation of every job, estimates, the SQLite transaction that stores
  the batch as one body and reserves its estimate, and the 201 body with every job's id and
  parameters); the body is expanded into job rows after the reply, so the first read of the
  batch's jobs (``GET /api/batch/{id}/summary/``, sent as soon as the reply is in) is timed
  too: it waits for that expansion if it is still running;
- a bare FastAPI echo: ``/echo/small`` reads the JSON body and answers a small object,
  ``/echo/body`` reads it and answers it back (a reply about as big as the request).

Two bodies are sent, each to both servers: one that names every parameter of every job (what
``sesh.submit`` and infinity-core's ``Session`` send: each job completed with the generator's
defaults), and one that names only the float parameters drawn at random (the rest left for the
service to fill in, so its reply, which carries every parameter, is larger than the request).
Each round sends each body to all four routes, in an order that rotates from round to round,
over a fresh connection each, and times from sending to holding the whole response. Before
each request the servers are left at rest for ``--settle`` seconds (a submit leaves work behind
it: the expansion into job rows, the WAL's checkpoint, the cancel's updates) and the client's
own garbage is collected, so that no request pays for the one before it.
The figures are medians over the rounds after one warm-up round; the ratios divide medians of
the same run. Submits carry an ``Idempotency-Key``, as infinityframe's client sends one.

Nothing renders while it runs: the service fails every job before it renders (``--fail-rate 1``,
the testing aid), and each batch is cancelled as soon as it is accepted, the timing done.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests
from fastapi import FastAPI, Request
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _machine import header, publish
from _service import start_service
from infinityframe.local.generators.base import evaluate_constraint


def random_jobs(meta: dict[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` valid jobs with every float parameter drawn uniformly (constraints respected)."""
    rng = np.random.default_rng(seed)
    defaults = {p["name"]: p["default_value"] for p in meta["params"]}
    floats = [p for p in meta["params"] if p["type"] == "float" and "max" in (p["options"] or {})]
    jobs: list[dict[str, Any]] = []
    while len(jobs) < n:
        job = {p["name"]: float(rng.uniform(p["options"]["min"], p["options"]["max"])) for p in floats}
        if all(evaluate_constraint(c["expr"], {**defaults, **job}) for c in meta.get("constraints", [])):
            jobs.append(job)
    return jobs


def echo_app() -> FastAPI:
    """The baseline: FastAPI routes that read a JSON body (orjson, as the service does) and answer."""
    app = FastAPI()

    @app.post("/echo/small")
    async def small(request: Request) -> Response:
        body = orjson.loads(await request.body())
        return Response(orjson.dumps({"received": len(body["job_runs"])}), media_type="application/json")

    @app.post("/echo/body")
    async def echo(request: Request) -> Response:
        return Response(orjson.dumps(orjson.loads(await request.body())), media_type="application/json")

    return app


def serve_echo() -> None:
    """Serve :func:`echo_app` on a free loopback port, as the service is served; print its URL."""
    import uvicorn

    from infinityframe.local.server import _bind, http_config

    sock = _bind("127.0.0.1", 0)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(http_config(echo_app())).run(sockets=[sock])


def start_echo() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve-echo"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.post(f"{url}/echo/small", data=b'{"job_runs": []}', timeout=5).raise_for_status()
            return proc, url
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--generator", default="stickfit-v0.1.0")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds at rest before each request")
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo()
        return

    kinds = ("echo (small reply)", "echo (body back)", "estimate", "submit")
    first_read = "summary right after the submit"
    bodies = ("every parameter", "drawn parameters only")
    timings: dict[tuple[str, str], list[float]] = {(body, kind): [] for body in bodies
                                                   for kind in (*kinds, first_read)}
    cold: dict[tuple[str, str], float] = {}  # round 0: each request's first call on servers just started
    with tempfile.TemporaryDirectory() as tmp:
        svc = start_service(Path(tmp) / "data", "--workers", "1", "--rate-limit", "0", "--balance", str(10**12),
                            "--fail-rate", "1")
        echo, echo_url = start_echo()
        try:
            meta = svc.get(f"jobs/{args.generator}/").json()
            defaults = {p["name"]: p["default_value"] for p in meta["params"]}
            drawn = random_jobs(meta, args.jobs)
            raws = {body: orjson.dumps({"name": "bench", "job_runs": [
                        {"name": args.generator, "is_preview": False, "param_values": p} for p in params]})
                    for body, params in zip(bodies, ([{**defaults, **p} for p in drawn], drawn), strict=True)}
            headers = {**svc.headers(), "Content-Type": "application/json"}
            urls = dict(zip(kinds, (f"{echo_url}/echo/small", f"{echo_url}/echo/body",
                                    f"{svc.api}/batch/estimate/", f"{svc.api}/batch/"), strict=True))
            for round_ in range(args.rounds + 1):  # round 0 warms both servers up
                sends = [(body, kind) for body in bodies for kind in kinds]
                for body, kind in sends[round_ % len(sends):] + sends[:round_ % len(sends)]:
                    sent = {**headers, "Idempotency-Key": str(uuid.uuid4())} if kind == "submit" else headers
                    r = summary = None
                    gc.collect()
                    time.sleep(args.settle)
                    t0 = time.perf_counter()
                    r = requests.post(urls[kind], data=raws[body], headers=sent, timeout=600)
                    elapsed = time.perf_counter() - t0
                    r.raise_for_status()
                    if round_:
                        timings[body, kind].append(elapsed)
                    else:
                        cold[body, kind] = elapsed
                    if kind == "submit":
                        batch_id = r.json()["id"]
                        t0 = time.perf_counter()
                        summary = requests.get(f"{svc.api}/batch/{batch_id}/summary/", headers=headers, timeout=600)
                        if round_:
                            timings[body, first_read].append(time.perf_counter() - t0)
                        else:
                            cold[body, first_read] = time.perf_counter() - t0
                        assert len(summary.json()["job_runs"]) == len(r.json()["job_runs"]) == args.jobs
                        requests.post(f"{svc.api}/batch/{batch_id}/cancel/", headers=headers, timeout=600)
                    elif kind == "estimate":
                        assert len(r.json()) == args.jobs
        finally:
            echo.terminate()
            echo.wait(timeout=30)
            svc.stop()

    med = {key: statistics.median(values) for key, values in timings.items()}
    sizes = ", ".join(f"{body} {len(raws[body]) / 1e6:.1f} MB" for body in bodies)
    lines = [header(f"Accepting a {args.jobs:,}-job batch POST ({args.generator})"),
             f"Request bodies: {sizes} (the reply to a submit carries every parameter of every job "
             f"either way). Medians of {args.rounds} alternating rounds over loopback (min–max), after one "
             f"warm-up round, each request sent after {args.settle:g} s at rest; each ratio divides two "
             "medians of this run, for the same body. The first call is "
             "the warm-up round's, on servers just started, divided by the echo's first call; the "
             "warm-up round sends the every-parameter body first, so only its requests are first calls.\n",
             "| body | request | median (s) | min (s) | max (s) | jobs/s | × echo (small reply) | × echo (body back) "
             "| first call (s) | first call × echo (body back) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (body, kind), values in timings.items():
        small, back = (body, kinds[0]), (body, kinds[1])
        lines.append(f"| {body} | {kind} | {med[body, kind]:.3f} | {min(values):.3f} | {max(values):.3f} | "
                     f"{args.jobs / med[body, kind]:,.0f} | {med[body, kind] / med[small]:.2f} | "
                     f"{med[body, kind] / med[back]:.2f} | "
                     + (f"{cold[body, kind]:.3f} | {cold[body, kind] / cold[back]:.2f} |" if body == bodies[0]
                        else "– | – |"))
    publish(lines, "batch_post.md")


if __name__ == "__main__":
    main()
