"""infinity-core's integration test (``tests/test_integration.py``) passes against the local service.

Once per generator the service lists (see ``conftest.py``). Its ``config.json`` holds the server,
the token, the generator and the ids of real batches and jobs (a preview and a standard batch of
one job each, submitted here first through infinity-core). The test itself submits default jobs
(``[{}]``) and waits with infinity-core's fixed 10-second polling, so one run takes ~40 s: the
runs for all generators are started at once, and each parametrised test waits for its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _vendorlib import CORE, copy_writable, summary_counts, vendor_env

from _service import RunningService

Runs = dict[str, tuple[subprocess.Popen[str], Path]]  # per generator: its run and its log
TIMEOUT = 600  # seconds for one run; the runs overlap, so this is also about the whole module's bound


def _real_ids(service: RunningService, generator: str) -> dict[str, str]:
    """A preview and a standard batch of one default job each, submitted through infinity-core."""
    from infinity_core.batch import submit_batch
    from infinity_core.data_structures import JobType

    ids = {}
    for kind, job_type in (("preview", JobType.PREVIEW), ("standard", JobType.STANDARD)):
        batch = submit_batch(token=service.token, generator=generator, job_type=job_type, job_params=[{}],
                             name=f"ids for infinity-core's integration test ({kind})", server=service.url)
        ids[f"test_{kind}_batch_id"] = batch.batch_id
        ids[f"test_{kind}_job_id"] = batch.job_ids[0]
    return ids


@pytest.fixture(scope="module")
def integration_runs(vendor_service: RunningService, served_generators: list[str],
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    runs: Runs = {}
    for generator in served_generators:
        copy = copy_writable(CORE, tmp_path_factory.mktemp("integration") / "infinity-core")
        config = {"generator_name": generator, "server": vendor_service.url, "token": vendor_service.token,
                  **_real_ids(vendor_service, generator)}
        (copy / "tests" / "config.json").write_text(json.dumps(config, indent=2))
        log = copy.parent / "pytest.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                                     "tests/test_integration.py"], cwd=copy, env=vendor_env(copy),
                                    stdout=out, stderr=subprocess.STDOUT, text=True)
        runs[generator] = (proc, log)
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 60)
def test_infinity_cores_integration_test_passes(generator: str, integration_runs: Runs) -> None:
    proc, log = integration_runs[generator]
    try:
        code = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"infinity-core's integration test on {generator} ran past {TIMEOUT} s:\n"
                    f"{log.read_text()[-6000:]}")
    output = log.read_text()
    counts = summary_counts(output)
    assert code == 0, f"infinity-core's integration test failed on {generator}:\n{output[-8000:]}"
    # All 19 of its tests ran (none skipped for want of an id in config.json).
    assert counts.get("passed") == 19 and not {"failed", "error", "skipped"} & counts.keys(), output[-8000:]
