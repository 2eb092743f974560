"""Submit a 10,000-job batch to the embedded service and read it back at once.

The service answers the POST from one transaction that stores the batch as a single body; the
jobs' own rows are written after the reply (``docs/local-service.md``, "How a batch is
stored"). Nothing waits for that: the first read of the batch finds every job. The batch is
cancelled at the end, so nothing renders.

The same body sent straight to the REST API with one odd job in it (a tab inside a string) is
refused as a whole, the failure named by row and parameter: a batch whose jobs do not all look
alike leaves the service's fast paths for the job-by-job checks, which word it.

Run: ``python examples/large_batch.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

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

        runs = [{"name": sesh.generator, "is_preview": False, "param_values": params}
                for params in jobs.to_dict("records")]
        runs[9_000]["param_values"] = {**runs[9_000]["param_values"], "scene": "BEDROOM\t2"}
        refused = requests.post(f"{service.url}/api/batch/", json={"name": "one odd job", "job_runs": runs},
                                headers={"Authorization": f"Token {service.token}"}, timeout=120)
        print(refused.status_code, refused.json()["errors"][0]["message"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-large-")))
