"""Recommended distributions against the whole ranges: render previews under each prior and
count the jobs that show the person.

Run: ``python examples/recommended_prior.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import infinityframe as inf


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")
    shown = sesh.parameters[["name", "min", "max", "recommended"]]
    print(shown[shown["recommended"].notna()].to_string(index=False))

    for prior in ("recommended", "uniform"):
        # Small previews: one frame each, 128 px (the height follows the width under the recommended prior).
        jobs = sesh.sample(16, seed=3, prior=prior, image_width=128, image_height=128)
        previews = jobs.infinity.submit(preview=True, name=f"prior {prior}")
        previews.wait(progress=False)
        res = previews.results(out / prior)
        in_view = res.objects.groupby("job_id")["percent_in_fov"].mean()
        print(f"{prior:>11}: {int((in_view >= 50).sum())} of {len(in_view)} previews show the person "
              f"at least half in view (mean {in_view.mean():.0f}%)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-prior-")))
