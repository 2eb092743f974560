"""infinity-core's method names on Session, as thin aliases over the frame verbs.

A notebook written for infinity-core runs unchanged after changing its import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..params.rules import evaluate_constraint, validate_jobs

if TYPE_CHECKING:
    import pandas as pd

    from ..params.spec import GeneratorSpec
    from .batch import Batch

__all__ = ["InfinityCoreNames"]

JobParams = dict[str, Any]


class InfinityCoreNames:
    """Mixed into :class:`~infinityframe.Session`."""

    generator: str
    _metadata: dict[str, Any]

    if TYPE_CHECKING:
        @property
        def spec(self) -> GeneratorSpec: ...
        def estimate(self, jobs: Any, *, preview: bool = False) -> list[int]: ...
        def batch(self, batch_id: str) -> Batch: ...
        def batches(self, days: float = 30) -> pd.DataFrame: ...
        def usage(self, days: float = 30) -> pd.DataFrame: ...

    def random_job(self, *, rng: np.random.Generator | int | None = None) -> JobParams:
        """infinity-core: one job drawn uniformly (choices, or ``[min, max]``), else defaults.

        Unlike infinity-core's, the draw is repeated until the generator's joint constraints
        hold, so the job is valid.
        """
        rng = np.random.default_rng(rng)
        # Every value is drawn inside its range or choices: only the joint constraints can fail.
        binding = [c["expr"] for c in self._metadata.get("constraints") or [] if not c.get("advisory")]
        for _ in range(1000):
            job: JobParams = {}
            for p in self._metadata["params"]:
                options = p.get("options") or {}
                if options.get("choices"):
                    job[p["name"]] = options["choices"][int(rng.integers(len(options["choices"])))]
                elif p["type"] == "int" and "min" in options and "max" in options:
                    job[p["name"]] = int(rng.integers(options["min"], options["max"], endpoint=True))
                elif p["type"] == "float" and "min" in options and "max" in options:
                    job[p["name"]] = float(rng.uniform(options["min"], options["max"]))
                else:
                    job[p["name"]] = p.get("default_value")
            if all(evaluate_constraint(expr, job) for expr in binding):
                return job
        raise ValidationError(f"Could not draw a job satisfying {self.generator}'s constraints in 1000 tries.")

    def randomize_unspecified_params(self, params: JobParams, *,
                                     rng: np.random.Generator | int | None = None) -> JobParams:
        """infinity-core: a random job overlaid with ``params``."""
        return {**self.random_job(rng=rng), **params}

    def validate_job_params(self, job_params: list[JobParams]) -> list[str | None]:
        """infinity-core: one error text per job (``None`` when valid)."""
        checked = validate_jobs(self.spec, job_params)  # the list as one table, as a frame is checked
        return ["; ".join(p["message"] for p in problems) or None for _, problems in checked]

    def estimate_samples(self, job_params: list[JobParams], is_preview: bool = False,
                         batch_name: str | None = None) -> list[int]:
        """infinity-core: :meth:`estimate` (``batch_name`` changes no estimate; it is accepted as there)."""
        return self.estimate(job_params, preview=is_preview)

    def batch_from_api(self, batch_id: str) -> Batch:
        """infinity-core: :meth:`batch`."""
        return self.batch(batch_id)

    def get_batches_last_n_days(self, n_days: int) -> list[dict[str, Any]]:
        """infinity-core: :meth:`batches` as a list of dicts, newest first."""
        frame = self.batches(n_days)
        return [{**row, "created": row["created"].to_pydatetime()} for row in frame.to_dict(orient="records")]

    def get_usage_stats_last_n_days(self, n_days: int) -> dict[str, Any]:
        """infinity-core: the raw usage counts."""
        frame = self.usage(n_days)
        return {"counts_by_generator": frame.to_dict(orient="records"),
                "start_time": frame.attrs["infinity"]["start_time"],
                "end_time": frame.attrs["infinity"]["end_time"]}
