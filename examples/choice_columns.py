"""Text parameters with choices as categories: what the samplers give, what validation trusts,
what the service receives.

Run: ``python examples/choice_columns.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import infinityframe as inf


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")

    # scene, exercise, gender and wall_art_type come as a Categorical of the generator's choices,
    # in its declared order; polars gets an Enum of them.
    jobs = sesh.sample(100_000, seed=0)
    print(jobs["scene"].dtype, list(jobs["scene"].cat.categories))
    print(sesh.sample(3, seed=0, backend="polars").schema["scene"])

    # Validation reads the dtype: every category allowed, so no row is looked at for membership.
    as_text = jobs.astype({"scene": str, "exercise": str, "gender": str, "wall_art_type": str})
    for label, frame in (("Categorical", jobs), ("str", as_text)):
        started = time.perf_counter()
        frame.infinity.validate(sesh)
        print(f"validate 100,000 jobs, text choices as {label}: {1e3 * (time.perf_counter() - started):.1f} ms")

    # A value that is no choice cannot be set in a Categorical by accident; made a category on
    # purpose (or in a str column), it is reported as it always was.
    small = jobs.head(4)
    broken = small.assign(scene=small["scene"].cat.add_categories(["MOON_BASE"]))
    broken.loc[2, "scene"] = "MOON_BASE"
    print(broken.infinity.errors(sesh)[["row", "column", "check", "value"]].to_string(index=False))
    print(small.astype({"scene": str}).assign(scene=["GYM_1", "GYM_1", "MOON_BASE", "GYM_1"])
          .infinity.errors(sesh)[["row", "column", "check", "value"]].to_string(index=False))

    # The service gets plain strings, and the dtype is no part of a job's identity: the same jobs
    # as text are already submitted.
    batch = small.infinity.submit(sesh, preview=True, name="choices")
    again = small.astype({"scene": str}).infinity.dry_run(sesh, preview=True, name="choices")
    print("submitted as text too:", bool(again["already_submitted"].all()))
    enum = sesh.sample(4, seed=0, backend="polars")  # the same first rows, text choices as an Enum
    print("as polars (Enum), the same batch:",
          enum.infinity.submit(sesh, preview=True, name="choices").id == batch.id)
    print(batch.jobs["scene"].tolist())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-choices-")))
