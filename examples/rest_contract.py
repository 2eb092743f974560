"""The local service's REST contract with nothing but ``requests``.

Starts the embedded service, lists its generators, estimates and submits a small batch of
``shapes-v0.1.0`` jobs, polls the summary and downloads each job's zip through its signed
URL, exactly as any Infinity client would against the cloud.

Run: ``python examples/rest_contract.py [OUT_DIR]``
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests

import infinityframe as inf


def main(out: Path) -> None:
    with inf.serve(out / "service") as service:
        http = requests.Session()
        http.headers["Authorization"] = f"Token {service.token}"
        api = f"{service.url}/api"

        print("generators:", [g["name"] for g in http.get(f"{api}/jobs/").json()])
        params = {p["name"]: p for p in http.get(f"{api}/jobs/shapes-v0.1.0/").json()["params"]}
        print("num_objects:", params["num_objects"]["options"])

        body = {"name": "rest example", "job_runs": [
            {"name": "shapes-v0.1.0", "is_preview": False, "param_values": {"num_objects": n, "num_images": 2}}
            for n in (2, 4, 8)
        ]}
        print("estimate:", http.post(f"{api}/batch/estimate/", json=body).json())
        batch = http.post(f"{api}/batch/", json=body, headers={"Idempotency-Key": "rest-example-1"}).json()
        print("batch:", batch["id"], "created", batch["created"])

        summary = http.get(f"{api}/batch/{batch['id']}/summary/").json()
        while any(job["in_progress"] for job in summary["job_runs"]):
            time.sleep(0.2)
            summary = http.get(f"{api}/batch/{batch['id']}/summary/").json()

        folder = out / "batch"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "batch_id.txt").write_text(batch["id"])
        for job in summary["job_runs"]:
            archive = requests.get(job["result_url"], timeout=60)  # a signed URL: no token needed
            zipfile.ZipFile(io.BytesIO(archive.content)).extractall(folder)
        print("downloaded:", sorted(p.name for p in folder.iterdir()))
        print("account:", http.get(f"{api}/account/").json())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-rest-")))
