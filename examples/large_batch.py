"""Submit a 10,000-job batch to the embedded service and read it back at once.

The service answers the POST from one transaction that stores the batch as a single body; the
jobs' own rows are written after the reply (``docs/local-service.md``, "How a batch is
stored"). Nothing waits for that: the first read of the batch finds every job. The batch is
cancelled at the end, so nothing renders.

Run: ``python examples/large_batch.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import infinityframe as inf


def main(out: Path) -> None:
    with inf.serve(out / "service", workers=1, balance=10**9) as service:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        jobs = sesh.sample(10_000, seed=7)
        print("jobs:", len(jobs), "parameters each:", len(jobs.columns))

        started = time.perf_counter()
        batch = sesh.submit(jobs, name="large batch")
        print(f"accepted {len(batch.job_ids):,} jobs in {time.perf_counter() - started:.2f} s (client checks included)")

        started = time.perf_counter()
        summary = sesh.api.batch_summary(batch.id)
        states = {run["state"] for run in summary["job_runs"]}
        print(f"read back {len(summary['job_runs']):,} jobs in {time.perf_counter() - started:.2f} s, states {states}")
        assert [run["id"] for run in summary["job_runs"]] == batch.job_ids

        print("cancelled:", batch.cancel())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-large-")))
