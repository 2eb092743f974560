"""infinity-core's integration test (``tests/test_integration.py``) passes against the local service.

Once per generator the service lists (see ``conftest.py``). Its ``config.json`` holds the server,
the token, the generator and the ids of real batches and jobs (a preview and a standard batch of
one job each, submitted here first through infinity-core). The test itself submits default jobs
(``[{}]``) and waits with infinity-core's fixed 10-second polling, so one run takes ~40 s: the
runs for all generators are started at once, as soon as the first test of this folder runs (the
``integration_runs`` fixture of ``conftest.py``), and each parametrised test waits for its own.
"""

from __future__ import annotations

import subprocess

import pytest
from _vendorlib import IntegrationRuns, summary_counts

TIMEOUT = 600  # seconds for one run; the runs overlap, so this is also about the whole module's bound


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 60)
def test_infinity_cores_integration_test_passes(generator: str, integration_runs: IntegrationRuns) -> None:
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
