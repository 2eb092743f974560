"""The workflows' rerun helpers (``visionfit.utils.sampling``) against the local service.

``expand_overrides_across_each_{preview,video}_state`` fetch each seed job's ``param_values``
(``GET /api/job_previews/{id}/`` or ``/api/job_runs/{id}/``) and lay the overrides over them with
``state`` set to the seed; ``submit_rerun_batch_with_overrides_{previews,videos}`` find out which
kind the seed is, do the same and submit. Seeds are drawn with ``sample_input``, as a notebook does.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from _service import RunningService

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128,
         "inter_rep_delay_avg": 0.5, "inter_rep_delay_var": 0.1}


def _seeds(service: RunningService, generator: str) -> tuple[Any, Any, Any]:
    """A session, and a finished preview batch and video batch of two sample_input jobs each."""
    from infinity_core.session import Session
    from visionfit.utils.sampling import sample_input

    sesh = Session(token=service.token, generator=generator, server=service.url)
    random.seed(f"reruns {generator}")
    previews = sesh.submit([sample_input(sesh, **SMALL) for _ in range(2)], is_preview=True, batch_name="seeds")
    videos = sesh.submit([sample_input(sesh, **SMALL) for _ in range(2)], is_preview=False, batch_name="seeds")
    for batch in (previews, videos):
        assert len(batch.await_completion(polling_interval=1, timeout=180)) == 2
    return sesh, previews, videos


def test_rerun_helpers_of_the_workflows(vendor_service: RunningService, visionfit: str) -> None:
    from infinity_core.data_structures import JobType
    from visionfit.utils import sampling

    sesh, previews, videos = _seeds(vendor_service, visionfit)
    overrides = [{"camera_height": 1.0}, {"camera_height": 2.0, "lighting_power": 500.0}]

    for expand, seeds in ((sampling.expand_overrides_across_each_preview_state, previews),
                          (sampling.expand_overrides_across_each_video_state, videos)):
        expanded = expand(sesh, base_state_ids=seeds.job_ids, override_params=overrides)
        assert len(expanded) == len(seeds.job_ids) * len(overrides)
        for i, params in enumerate(expanded):
            seed_id = seeds.job_ids[i // len(overrides)]
            assert params == {**seeds.jobs[seed_id], **overrides[i % len(overrides)], "state": seed_id}
        # What they build is what the service takes back.
        assert sesh.validate_job_params(expanded) == [None] * len(expanded)
        assert all(n >= 1 for n in sesh.estimate_samples(expanded, is_preview=True))

    # A preview rerun of a preview seed, and video reruns of a video seed and of a preview seed
    # (the helper asks the service which kind each seed is).
    for submit, seed_id, job_type in ((sampling.submit_rerun_batch_with_overrides_previews, previews.job_ids[0],
                                       JobType.PREVIEW),
                                      (sampling.submit_rerun_batch_with_overrides_videos, videos.job_ids[0],
                                       JobType.STANDARD),
                                      (sampling.submit_rerun_batch_with_overrides_videos, previews.job_ids[1],
                                       JobType.STANDARD)):
        rerun = submit(sesh, base_state_id=seed_id, override_params=overrides, batch_name=f"rerun of {seed_id}")
        assert rerun.num_jobs == len(overrides)
        assert rerun.job_type is job_type
        seed_params = (previews.jobs | videos.jobs)[seed_id]
        assert sorted(rerun.job_params, key=lambda p: (p["camera_height"], p["lighting_power"])) == [
            {**seed_params, **o, "state": seed_id} for o in overrides]
        done = rerun.await_completion(polling_interval=1, timeout=180)
        assert len(done) == len(overrides), rerun.get_completed_jobs()


def test_rerun_helpers_refuse_what_they_should(vendor_service: RunningService, visionfit: str) -> None:
    from infinity_core.session import Session
    from visionfit.utils import sampling

    sesh = Session(token=vendor_service.token, generator=visionfit, server=vendor_service.url)
    with pytest.raises(ValueError, match="is not a valid previous job ID"):
        sampling.submit_rerun_batch_with_overrides_previews(sesh, "00000000-0000-0000-0000-000000000000", [{}])
    with pytest.raises(ValueError, match="Not all override parameters are supported"):
        sampling.expand_overrides_across_each_preview_state(sesh, [], [{"no_such_parameter": 1}])
    with pytest.raises(sampling.ApiError, match="Failed to retrieve information"):
        sampling.expand_overrides_across_each_video_state(sesh, ["00000000-0000-0000-0000-000000000000"], [{}])
