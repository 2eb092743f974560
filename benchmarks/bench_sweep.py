"""Samples paid to find 20 stickfit jobs in a target region: ``inf.sweep`` against uniform random
and Latin hypercube sampling of the same space, and previews-first against videos only.

Run: ``python benchmarks/bench_sweep.py [--seeds 5] [--found 20]``.

The space is stickfit's whole parameter space with small, short jobs (``num_reps=1``,
``frame_rate=6``, 128 px images); every other parameter is free. The target region is a person
partly out of the frame: ``25 < percent_in_fov < 50`` (a job with nobody in view counts as 0).
Everything is rendered by the embedded service on this machine and paid for in its samples, as
a user's sweep would be.

* **Previews** (one sample each): uniform random draws (``sesh.sample``, extended 40 at a time:
  its rows do not change as it grows), Latin hypercubes of 40 after one another, and
  ``inf.sweep(goal=("between", 25, 50))`` with a first round of 10 and rounds of 10, stopped
  when 20 previews are in the region. The baselines are charged up to their 20th hit exactly;
  the sweep for whole rounds.
* **Videos** of two reps at 12 frames a second (about 50 frames, so 50 samples, each):
  ``inf.sweep(preview_first=False)`` (every job a video) until 20 videos are in the region,
  against ``preview_first=True``: previews until 24 are in the region, then those 24 rendered
  as videos; the figure is all samples paid (previews and videos) and how many of the videos
  are in the region (a video's share of the person in view is its mean over frames, so a
  preview's first frame can mislead).

Medians over ``--seeds`` seeds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infinityframe as inf
from _machine import header, publish

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}
VIDEO = {"num_reps": 2, "frame_rate": 12, "image_width": 128, "image_height": 128}  # about 50 frames a video
LOW, HIGH = 25.0, 50.0
CHUNK = 40
LIMIT = 800  # previews a baseline may draw before it is called a miss


def in_view(res: inf.Results) -> pd.Series:
    jobs = res.jobs
    values = jobs["mean_percent_in_fov"] if "mean_percent_in_fov" in jobs.columns else jobs["num_frames"] * 0.0
    return pd.Series(values.fillna(0.0).to_numpy(), index=jobs["job_id"].astype(str))


def hits(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return (array > LOW) & (array < HIGH)


def rendered(sesh: inf.Session, jobs: pd.DataFrame, name: str, folder: Path) -> np.ndarray:
    """Each job's share in view, in the frame's order (rendered as previews)."""
    batch = jobs.infinity.submit(sesh, preview=True, name=name)
    batch.wait(progress=False)
    res = batch.results(folder / batch.id)
    by_id = in_view(res)
    return by_id.reindex(batch.job_ids).to_numpy()


def until_found(draw: Callable[[int], pd.DataFrame], sesh: inf.Session, label: str, folder: Path,
                found: int) -> int:
    """Previews paid until the ``found``-th hit, drawing ``CHUNK`` more at a time."""
    values: list[float] = []
    k = 0
    while hits(values).sum() < found and len(values) < LIMIT:
        values.extend(rendered(sesh, draw(k), f"{label} {k}", folder).tolist())
        k += 1
    where = np.flatnonzero(hits(values))
    return int(where[found - 1]) + 1 if len(where) >= found else LIMIT + 1


def previews(sesh: inf.Session, seed: int, found: int, folder: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    out["uniform"] = until_found(lambda k: sesh.sample(CHUNK * (k + 1), seed=seed, **SMALL).iloc[CHUNK * k:],
                                 sesh, f"uniform {seed}", folder / "uniform", found)
    out["lhs"] = until_found(lambda k: sesh.sample(CHUNK, seed=seed * 1000 + k, method="lhs", **SMALL),
                             sesh, f"lhs {seed}", folder / "lhs", found)
    history = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=LIMIT // 10, per_round=10,
                        first_round=10, max_samples=LIMIT, videos=0, seed=seed, name=f"sweep {seed}",
                        path=folder / f"sweep-{seed}", progress=False, report=False,
                        stop=lambda h: hits(h["objective"]).sum() >= found, **SMALL)
    out["sweep"] = int(history["estimated_samples"].sum()) if hits(history["objective"]).sum() >= found else LIMIT + 1
    return out


def videos(sesh: inf.Session, seed: int, found: int, folder: Path) -> dict[str, tuple[int, int]]:
    only = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=40, per_round=10, first_round=10,
                     max_samples=20_000, preview_first=False, seed=seed, name=f"videos only {seed}",
                     path=folder / f"videos-only-{seed}", progress=False, report=False,
                     stop=lambda h: hits(h["objective"]).sum() >= found, **VIDEO)
    margin = found + found // 5
    first = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=LIMIT // 10, per_round=10,
                      first_round=10, max_samples=20_000, preview_first=True, videos=margin, seed=seed,
                      name=f"previews first {seed}", path=folder / f"previews-first-{seed}", progress=False,
                      report=False, stop=lambda h: hits(h["objective"]).sum() >= margin, **VIDEO)
    made = first[first.fidelity == "video"]
    return {"videos only": (int(only["estimated_samples"].sum()), int(hits(only["objective"]).sum())),
            "previews first": (int(first["estimated_samples"].sum()), int(hits(made["objective"]).sum()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--found", type=int, default=20, help="jobs in the region to find")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    os.environ["INFINITYFRAME_CACHE_DIR"] = str(root / "cache")  # nothing reattaches to an earlier run
    t0 = time.perf_counter()
    with inf.serve(root / "service", balance=10_000_000) as service:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        preview_runs, video_runs = [], []
        for seed in range(args.seeds):
            preview_runs.append(previews(sesh, seed, args.found, root / "previews"))
            print("previews", seed, preview_runs[-1], flush=True)
            video_runs.append(videos(sesh, seed, args.found, root / "videos"))
            print("videos", seed, video_runs[-1], flush=True)
    minutes = (time.perf_counter() - t0) / 60

    def med(values: list[int]) -> float:
        return float(statistics.median(values))

    lines = [header(f"Samples paid to find {args.found} jobs in a target region"),
             f"stickfit-v0.1.0, every parameter free but {', '.join(f'{k}={v}' for k, v in SMALL.items())}; "
             f"target region: {LOW:g} < percent_in_fov < {HIGH:g} (the person partly out of the frame). "
             f"Median over {args.seeds} seeds; {minutes:.1f} min in all. `python benchmarks/bench_sweep.py`.\n",
             "## Previews (one sample each)\n",
             "| method | samples paid (median) | per seed | vs inf.sweep |", "|---|---:|---|---:|"]
    sweep_median = med([r["sweep"] for r in preview_runs])
    for label, key in (("uniform random (`sesh.sample`)", "uniform"), ("Latin hypercube, 40 at a time", "lhs"),
                       ("`inf.sweep(goal=('between', 25, 50))`", "sweep")):
        values = [r[key] for r in preview_runs]
        lines.append(f"| {label} | {med(values):g} | {', '.join(map(str, values))} | "
                     f"{med(values) / sweep_median:.1f}× |")
    lines += ["", f"Baselines are charged up to their {args.found}th hit exactly, the sweep for whole rounds "
              f"of 10 (a value above {LIMIT} means not found within {LIMIT} previews).", "",
              "## Videos: previews first against videos only\n",
              f"Videos of {', '.join(f'{k}={v}' for k, v in VIDEO.items())} (about 50 frames each).\n",
              "| mode | samples paid (median) | per seed | videos in the region (median) | vs previews first |",
              "|---|---:|---|---:|---:|"]
    first_median = med([r["previews first"][0] for r in video_runs])
    for mode in ("videos only", "previews first"):
        paid = [r[mode][0] for r in video_runs]
        found = [r[mode][1] for r in video_runs]
        lines.append(f"| `inf.sweep(preview_first={mode == 'previews first'})` | {med(paid):g} | "
                     f"{', '.join(map(str, paid))} | {med(found):g} | {med(paid) / first_median:.1f}× |")
    lines += ["", f"Videos only: every explored job is a video, until {args.found} are in the region. Previews "
              f"first: previews until {args.found + args.found // 5} are in the region, then those rendered as "
              "videos; a video's share in view is its mean over frames, so some leave the region."]
    publish(lines, "sweep.md")


if __name__ == "__main__":
    main()
