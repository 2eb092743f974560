"""Time for the local service to accept a 10,000-job batch POST (and to estimate it).

Run: ``python benchmarks/bench_batch_post.py [--jobs 10000] [--repeat 3]``. The service runs
in a separate process on loopback, as a user's would; the figure is the wall time from sending
the request to holding the 201 response (validation of every job, estimates, the SQLite
transaction, the reservation and the response body with every job's id and parameters).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generator", default="stickfit-v0.1.0")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        svc = start_service(Path(tmp), "--workers", "1", "--rate-limit", "0", "--balance", str(10**12))
        try:
            jobs = [{"name": args.generator, "is_preview": False, "param_values": p}
                    for p in random_jobs(svc.get(f"jobs/{args.generator}/").json(), args.jobs)]
            raw = orjson.dumps({"name": "bench", "job_runs": jobs})
            headers = {**svc.headers(), "Content-Type": "application/json"}
            timings: dict[str, list[float]] = {"estimate": [], "submit": []}
            for _ in range(args.repeat):
                for kind, path in (("estimate", "batch/estimate/"), ("submit", "batch/")):
                    t0 = time.perf_counter()
                    r = requests.post(f"{svc.api}/{path}", data=raw, headers=headers, timeout=600)
                    timings[kind].append(time.perf_counter() - t0)
                    r.raise_for_status()
                    if kind == "submit":
                        assert len(r.json()["job_runs"]) == args.jobs
                        requests.post(f"{svc.api}/batch/{r.json()['id']}/cancel/", headers=headers, timeout=600)
        finally:
            svc.stop()

    lines = [header(f"Accepting a {args.jobs:,}-job batch POST ({args.generator})"),
             f"Request body: {len(raw) / 1e6:.1f} MB. Median of {args.repeat} runs (min–max).\n",
             "| request | median (s) | min (s) | max (s) | jobs/s |", "|---|---|---|---|---|"]
    for kind, values in timings.items():
        med = statistics.median(values)
        lines.append(f"| {kind} | {med:.2f} | {min(values):.2f} | {max(values):.2f} | {args.jobs / med:,.0f} |")
    publish(lines, "batch_post.md")


if __name__ == "__main__":
    main()
