"""The client against the local service's application in this process: no server, no socket.

What a unit test of code that uses infinityframe can do: a real service (its database, rules and
error bodies), reached through ``ASGIAdapter`` instead of the network.

    python examples/in_process.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import infinityframe as inf
from infinityframe.client import ASGIAdapter, RetryPolicy
from infinityframe.local.server import in_process_app


def main(workdir: Path) -> None:
    with in_process_app(workdir / "data", run_jobs=True) as (app, token):
        sesh = inf.Session(token, "shapes-v0.1.0", server="http://in-process.test",
                           transport=ASGIAdapter(app), retry=RetryPolicy(attempts=3, backoff=0.01))
        jobs = [{"num_images": n, "image_width": 64, "image_height": 64} for n in (1, 2, 3)]
        print("estimate:", sesh.estimate(jobs))
        try:
            sesh.submit([{"num_images": 1000}])
        except inf.ValidationError as err:
            print("refused before sending:", str(err).splitlines()[1].strip())
        batch = sesh.submit(jobs, name="in process")
        status = batch.wait(poll=0.05, progress=False)
        print("states:", sorted(set(status["status"].astype(str))))
        folder = batch.download(workdir / "batch", progress=False)
        print("downloaded:", sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(batch.job_ids))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
