"""1,000 jobs drawn by Infinity's own samplers are all accepted, in one batch each.

* infinity-core's ``Session.random_job()`` (uniform over every ``min``/``max`` and ``choices``),
  once per generator the service lists;
* infinity-workflows' ``visionfit.utils.sampling.sample_input(sesh)`` (its hand-made VisionFit
  distributions), once per VisionFit generator.

Each batch goes through ``Session.estimate_samples`` and ``Session.submit`` as a notebook would
send it, as video jobs; nothing waits for rendering: the batch is cancelled at once, on a service
of this module's own that is stopped when the module ends. A refused job is reported with its
index and the service's message.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _vendorlib import cancel_batch

from _service import RunningService, start_service

NUM_JOBS = 1000

# Before joint constraints became advisory, about half of these jobs were refused (stickfit and
# VisionFit: inter_rep_delay_var <= inter_rep_delay_avg; shapes: min_size <= max_size), a rule
# neither sampler knows of. Now any refusal fails, listing the jobs and the service's messages.


@pytest.fixture(scope="module")
def bulk_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = start_service(tmp_path_factory.mktemp("bulk") / "service", "--workers", "1", "--rate-limit", "0",
                        "--balance", "1000000000")
    yield svc
    svc.stop()


def _refusals(service: RunningService, generator: str, jobs: list[dict[str, Any]],
              preview: bool) -> list[dict[str, Any]]:
    """The service's per-job errors for this batch, asked of its estimate endpoint through infinity-core."""
    import infinity_core.api as api

    r = api.estimate_batch_samples(token=service.token, generator=generator, name="refusals", job_params=jobs,
                                   is_preview=preview, server=service.url)
    if r.ok:
        return []
    body = r.json()
    return list(body.get("errors") or [{"job": None, "param": None, "message": body.get("detail", r.text)}])


def _all_accepted(service: RunningService, generator: str, draw: Callable[[Any], dict[str, Any]], label: str) -> None:
    from infinity_core.batch import BatchEstimationError, BatchSubmissionError
    from infinity_core.session import ParameterValidationError, Session

    sesh = Session(token=service.token, generator=generator, server=service.url)
    jobs = [draw(sesh) for _ in range(NUM_JOBS)]
    refused: dict[str, list[dict[str, Any]]] = {}

    client_errors = [(i, e) for i, e in enumerate(sesh.validate_job_params(jobs)) if e is not None]
    if client_errors:
        refused["infinity-core's validate_job_params"] = [{"job": i, "param": None, "message": e.strip()}
                                                          for i, e in client_errors]
    try:
        estimates = sesh.estimate_samples(jobs, is_preview=False, batch_name=f"{NUM_JOBS} {label}")
        assert len(estimates) == NUM_JOBS and all(isinstance(n, int) and n >= 1 for n in estimates)
    except (BatchEstimationError, ParameterValidationError):
        refused["estimate"] = _refusals(service, generator, jobs, preview=False)
    try:
        batch = sesh.submit(jobs, is_preview=False, batch_name=f"{NUM_JOBS} {label}")
    except (BatchSubmissionError, ParameterValidationError):
        refused["submit"] = _refusals(service, generator, jobs, preview=False)
    else:
        cancel_batch(service.url, service.token, batch.batch_id)  # accepted is all we ask: render nothing
        assert batch.num_jobs == NUM_JOBS

    if not refused:
        return
    jobs_refused = {e["job"] for errors in refused.values() for e in errors}
    report = "\n".join(f"{where}: job {e['job']} ({e['param']}): {e['message']}"
                       for where, errors in refused.items() for e in errors[:25])
    message = (f"{len(jobs_refused)} of {NUM_JOBS} jobs from {label} refused on {generator} "
               f"(first 25 per step):\n{report}")
    pytest.fail(message)


def test_a_thousand_random_jobs_of_infinity_core_are_accepted(bulk_service: RunningService, generator: str) -> None:
    random.seed(f"random_job {generator}")  # random_job draws from the global random module
    _all_accepted(bulk_service, generator, lambda sesh: sesh.random_job(), "infinity-core random_job() jobs")


def test_a_thousand_sample_input_jobs_of_the_workflows_are_accepted(bulk_service: RunningService,
                                                                     visionfit: str) -> None:
    from visionfit.utils.sampling import sample_input

    random.seed(f"sample_input {visionfit}")
    _all_accepted(bulk_service, visionfit, sample_input, "visionfit sample_input() jobs")
