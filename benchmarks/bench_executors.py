"""Frames per second of the local service with each executor: process pool, threads, Dask with 1, 2, 4 workers.

Run: ``python benchmarks/bench_executors.py [--jobs 24] [--repeats 3]``. Every configuration
gets a fresh data dir and service (and Dask its own LocalCluster of one-thread worker
processes on loopback, the scheduler in this process beside the service), all started and
warmed up first, so worker start-up and imports are not counted. Then the same batch of
stickfit jobs runs on each in turn, round robin, ``--repeats`` times; the figure is the best
run's frames rendered ÷ seconds from the POST to the last job's end, as a client sees it
(zips written, ledger charged). Results go to ``benchmarks/results/executors.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infinityframe as inf
from _machine import header, publish

GENERATOR = "stickfit-v0.1.0"
PARAMS = {"num_reps": 2, "frame_rate": 24, "image_width": 256, "image_height": 256}


def batch(jobs: int) -> dict[str, Any]:
    # Different camera distances: the same work per job, different pictures.
    return {"name": "bench", "job_runs": [
        {"name": GENERATOR, "param_values": {**PARAMS, "camera_distance": 2.5 + 2.0 * i / max(1, jobs - 1)}}
        for i in range(jobs)]}


def run_batch(service: inf.Service, jobs: int) -> tuple[int, float]:
    """Frames rendered and seconds from POST to the last job's end."""
    headers = {"Authorization": f"Token {service.token}"}
    started = time.perf_counter()
    answer = requests.post(f"{service.url}/api/batch/", json=batch(jobs), headers=headers, timeout=120)
    answer.raise_for_status()
    batch_id = answer.json()["id"]
    while True:
        runs = requests.get(f"{service.url}/api/batch/{batch_id}/summary/", headers=headers, timeout=30).json()
        if not any(r["in_progress"] for r in runs["job_runs"]):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    states = {r["state"] for r in runs["job_runs"]}
    if states != {"succeeded"}:
        raise RuntimeError(f"batch {batch_id} ended with states {states}")
    return sum(int(r["samples"]) for r in runs["job_runs"]), seconds


def warm() -> None:
    """Import the renderer on a Dask worker, as the process pool's warm-up job does."""
    import cv2

    from infinityframe.local import generators

    generators.available()
    cv2.setNumThreads(1)


def start(stack: contextlib.ExitStack, executor: str, workers: int) -> inf.Service:
    """A fresh service (and, for Dask, a fresh LocalCluster) whose workers have all started."""
    if executor == "dask":
        from distributed import Client, LocalCluster

        cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                                   worker_dashboard_address="127.0.0.1:0"))
        with Client(cluster, set_as_default=False) as client:
            client.wait_for_workers(workers)
            client.run(warm)
        executor = str(cluster.scheduler_address).replace("tcp://", "dask://")
    data_dir = stack.enter_context(tempfile.TemporaryDirectory())
    service = stack.enter_context(inf.serve(data_dir, executor=executor, rate_limit=None,
                                            workers=None if executor.startswith("dask") else workers))
    run_batch(service, 2 * workers)  # warm-up: pool processes started, every code path run once
    return service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=24, help="stickfit jobs per timed batch (default 24)")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per configuration (default 3)")
    parser.add_argument("--pool", type=int, default=os.cpu_count() or 1,
                        help="process and thread pool width (default: one per core, the service's default)")
    args = parser.parse_args()

    configs = [("process pool", "process", args.pool), ("thread pool", "thread", args.pool),
               *((f"Dask, {n} worker{'s' * (n > 1)}", "dask", n) for n in (1, 2, 4))]
    best: dict[str, tuple[float, int, float]] = {label: (0.0, 0, 0.0) for label, _, _ in configs}
    with contextlib.ExitStack() as stack:
        services = {label: start(stack, executor, n) for label, executor, n in configs}
        # Round robin, so that whatever else the machine does weighs on every configuration alike.
        for repeat in range(args.repeats):
            for label, _, _ in configs:
                frames, seconds = run_batch(services[label], args.jobs)
                best[label] = max(best[label], (frames / seconds, frames, seconds))
                print(f"run {repeat + 1}: {label:<16} {frames / seconds:7.1f} frames/s", flush=True)

    base = best[configs[0][0]][0]
    lines = [header(f"Local service throughput by executor ({GENERATOR})"),
             f"{args.jobs} jobs a batch ({PARAMS['image_width']}×{PARAMS['image_height']}, "
             f"{PARAMS['frame_rate']} fps, {PARAMS['num_reps']} reps); best of {args.repeats} batches per "
             "executor, run round robin after a warm-up; frames/s from the POST to the last job's end, as "
             "the client sees it (zips written, ledger charged). Dask workers are processes of one thread "
             "each in a LocalCluster on loopback, its scheduler in the service's process. "
             f"**This machine has {os.cpu_count()} cores** (shared with other work while this ran): past "
             f"{os.cpu_count()} workers, Dask workers only share them.\n",
             "| executor | workers | frames/s | × process pool | frames | seconds |",
             "|---|---|---|---|---|---|"]
    for label, _, workers in configs:
        rate, frames, seconds = best[label]
        lines.append(f"| {label} | {workers} | {rate:,.1f} | {rate / base:.2f}× | {frames} | {seconds:.2f} |")
    publish(lines, "executors.md")


if __name__ == "__main__":
    main()
