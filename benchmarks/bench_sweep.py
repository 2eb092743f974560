"""Samples paid to find 20 stickfit jobs in a target region: ``inf.sweep`` against uniform random
and Latin hypercube sampling of the same space, and previews-first against videos only.

Run: ``python benchmarks/bench_sweep.py [--seeds 5] [--found 20] [--first-seed 0]``.

The space is stickfit's whole parameter space with small, short jobs (``num_reps=1``,
``frame_rate=6``, 128 px images); every other parameter is free over its whole range
(``prior="uniform"``: the generator's recommended distributions keep the camera on the person,
so the person is never partly out of the frame under them; every draw here, baselines and
sweeps alike, says ``prior="uniform"``). The target region is a person
partly out of the frame: ``25 < percent_in_fov < 50`` (a job with nobody in view counts as 0).
Everything is rendered by the embedded service on this machine and paid for in its samples, as
a user's sweep would be.

* **Previews** (one sample each): uniform random draws (``sesh.sample``, extended 40 at a time:
  its rows do not change as it grows), Latin hypercubes of 40 after one another, and
  ``inf.sweep(goal=("between", 25, 50))`` with a first round of 10 and rounds of 5, stopped
  when 20 previews are in the region. The baselines are charged up to their 20th hit exactly;
  the sweep for whole rounds.
* **Videos** of two reps at 12 frames a second (about 50 frames, so 50 samples, each): uniform
  random videos (drawn and counted as the uniform previews are, 40 at a time, charged up to
  the 20th video in the region); ``inf.sweep(preview_first=False)`` (every job a video) until
  20 videos are in the region; and ``preview_first=True``: previews until 24 are in the
  region, then those 24 rendered as videos; the figure is all samples paid (previews and
  videos) and how many of the videos are in the region (a video's share of the person in view
  is its mean over frames, so a preview's first frame can mislead).

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
PRIOR = "uniform"  # the whole space: under the recommended prior nobody is ever partly out of the frame
FIRST, PER_ROUND = 10, 5  # the sweeps' first design and rounds


def in_view(res: inf.Results) -> pd.Series:
    jobs = res.jobs
    values = jobs["mean_percent_in_fov"] if "mean_percent_in_fov" in jobs.columns else jobs["num_frames"] * 0.0
    return pd.Series(values.fillna(0.0).to_numpy(), index=jobs["job_id"].astype(str))


def hits(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return (array > LOW) & (array < HIGH)


def rendered(sesh: inf.Session, jobs: pd.DataFrame, name: str, folder: Path,
             preview: bool = True) -> tuple[np.ndarray, list[int]]:
    """Each job's share in view and its samples paid, in the frame's order."""
    costs = sesh.estimate(jobs, preview=preview)
    batch = jobs.infinity.submit(sesh, preview=preview, name=name)
    batch.wait(progress=False)
    res = batch.results(folder / batch.id)
    by_id = in_view(res)
    return by_id.reindex(batch.job_ids).to_numpy(), list(costs)


def until_found(draw: Callable[[int], pd.DataFrame], sesh: inf.Session, label: str, folder: Path,
                found: int, preview: bool = True) -> int:
    """Samples paid until the ``found``-th hit, drawing ``CHUNK`` more jobs at a time."""
    values: list[float] = []
    paid: list[int] = []
    k = 0
    while hits(values).sum() < found and len(values) < LIMIT:
        shares, costs = rendered(sesh, draw(k), f"{label} {k}", folder, preview)
        values.extend(shares.tolist())
        paid.extend(costs)
        k += 1
    where = np.flatnonzero(hits(values))
    return int(np.sum(paid[: where[found - 1] + 1])) if len(where) >= found else LIMIT * max(paid) + 1


def previews(sesh: inf.Session, seed: int, found: int, folder: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    out["uniform"] = until_found(lambda k: sesh.sample(CHUNK * (k + 1), seed=seed, prior=PRIOR,
                                                       **SMALL).iloc[CHUNK * k:],
                                 sesh, f"uniform {seed}", folder / "uniform", found)
    out["lhs"] = until_found(lambda k: sesh.sample(CHUNK, seed=seed * 1000 + k, method="lhs", prior=PRIOR,
                                                   **SMALL),
                             sesh, f"lhs {seed}", folder / "lhs", found)
    history = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=LIMIT // PER_ROUND,
                        per_round=PER_ROUND, first_round=FIRST, max_samples=LIMIT, videos=0, seed=seed,
                        name=f"sweep {seed}", path=folder / f"sweep-{seed}", progress=False, report=False,
                        prior=PRIOR,
                        stop=lambda h: hits(h["objective"]).sum() >= found, **SMALL)
    out["sweep"] = int(history["estimated_samples"].sum()) if hits(history["objective"]).sum() >= found else LIMIT + 1
    return out


def videos(sesh: inf.Session, seed: int, found: int, folder: Path) -> dict[str, tuple[int, ...]]:
    """Per mode: samples paid, videos in the region, and (videos only) the videos rendered or
    (previews first) the samples of its videos alone and how many it rendered."""
    uniform = until_found(lambda k: sesh.sample(CHUNK * (k + 1), seed=seed, prior=PRIOR, **VIDEO).iloc[CHUNK * k:],
                          sesh, f"uniform videos {seed}", folder / "uniform-videos", found, preview=False)
    only = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=LIMIT // PER_ROUND, per_round=PER_ROUND,
                     first_round=FIRST, max_samples=40_000, preview_first=False, seed=seed,
                     name=f"videos only {seed}", path=folder / f"videos-only-{seed}", progress=False, report=False,
                     prior=PRIOR, stop=lambda h: hits(h["objective"]).sum() >= found, **VIDEO)
    margin = found + found // 5
    first = inf.sweep(sesh, in_view, goal=("between", LOW, HIGH), rounds=LIMIT // PER_ROUND, per_round=PER_ROUND,
                      first_round=FIRST, max_samples=40_000, preview_first=True, videos=found, seed=seed,
                      name=f"previews first {seed}", path=folder / f"previews-first-{seed}", progress=False,
                      report=False, prior=PRIOR, stop=lambda h: hits(h["objective"]).sum() >= margin, **VIDEO)
    made = first[first.fidelity == "video"]
    return {"uniform videos": (uniform, found, 0),
            "videos only": (int(only["estimated_samples"].sum()), int(hits(only["objective"]).sum()), len(only)),
            "previews first": (int(first["estimated_samples"].sum()), int(hits(made["objective"]).sum()),
                               int(made["estimated_samples"].sum()), len(made))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--found", type=int, default=20, help="jobs in the region to find")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed (seeds the defaults were not chosen on: --first-seed 5)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    os.environ["INFINITYFRAME_CACHE_DIR"] = str(root / "cache")  # nothing reattaches to an earlier run
    t0 = time.perf_counter()
    with inf.serve(root / "service", balance=10_000_000) as service:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        preview_runs, video_runs = [], []
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        for seed in seeds:
            preview_runs.append(previews(sesh, seed, args.found, root / "previews"))
            print("previews", seed, preview_runs[-1], flush=True)
            video_runs.append(videos(sesh, seed, args.found, root / "videos"))
            print("videos", seed, video_runs[-1], flush=True)
    minutes = (time.perf_counter() - t0) / 60

    def med(values: list[int]) -> float:
        return float(statistics.median(values))

    lines = [header(f"Samples paid to find {args.found} jobs in a target region"),
             f"stickfit-v0.1.0, every parameter free over its whole range (`prior={PRIOR!r}`) but "
             f"{', '.join(f'{k}={v}' for k, v in SMALL.items())}; "
             f"target region: {LOW:g} < percent_in_fov < {HIGH:g} (the person partly out of the frame). "
             f"Median over {args.seeds} seeds ({seeds[0]}–{seeds[-1]}); {minutes:.1f} min in all. "
             "`python benchmarks/bench_sweep.py`.\n",
             "## Previews (one sample each)\n",
             "| method | samples paid (median) | per seed | vs inf.sweep |", "|---|---:|---|---:|"]
    sweep_median = med([r["sweep"] for r in preview_runs])
    for label, key in (("uniform random (`sesh.sample`)", "uniform"), ("Latin hypercube, 40 at a time", "lhs"),
                       ("`inf.sweep(goal=('between', 25, 50))`", "sweep")):
        values = [r[key] for r in preview_runs]
        lines.append(f"| {label} | {med(values):g} | {', '.join(map(str, values))} | "
                     f"{med(values) / sweep_median:.1f}× |")
    lines += ["", f"Baselines are charged up to their {args.found}th hit exactly, the sweep for whole rounds "
              f"(a first of {FIRST}, then {PER_ROUND} at a time; a value above {LIMIT} means not found within "
              f"{LIMIT} previews).", "",
              "## Videos: previews first against videos only\n",
              f"Videos of {', '.join(f'{k}={v}' for k, v in VIDEO.items())} (about 50 frames each).\n",
              "| mode | samples paid (median) | per seed | videos in the region (median) | vs previews first |",
              "|---|---:|---|---:|---:|"]
    first_median = med([r["previews first"][0] for r in video_runs])
    labels = {"uniform videos": "uniform random videos (`sesh.sample`), 40 at a time",
              "videos only": "`inf.sweep(preview_first=False)`", "previews first": "`inf.sweep(preview_first=True)`"}
    for mode, label in labels.items():
        paid = [r[mode][0] for r in video_runs]
        found = [r[mode][1] for r in video_runs]
        lines.append(f"| {label} | {med(paid):g} | {', '.join(map(str, paid))} | {med(found):g} | "
                     f"{med(paid) / first_median:.1f}× |")
    margin = args.found + args.found // 5
    explored = med([r["videos only"][2] for r in video_runs])
    per_video = med([r["previews first"][2] / r["previews first"][3] for r in video_runs])
    rendered_videos = med([r["previews first"][3] for r in video_runs])
    floor = args.found * per_video
    only_median = med([r["videos only"][0] for r in video_runs])
    lines += ["", f"Uniform random videos: drawn and counted as the uniform previews, charged up to the "
              f"{args.found}th video in the region. Videos only: every explored job is a video, until "
              f"{args.found} are in the region. Previews first: previews until {margin} are in the region "
              f"(each priced, as it is chosen, as the video it may become), then the best {args.found} rendered "
              "as videos; a video's share in view is its mean over frames, so it can leave the region, and "
              "`inf.sweep` then renders the next preview in the region in its place (a median of "
              f"{rendered_videos:g} videos rendered).", "",
              f"The bound: previews first must render at least {args.found} videos. At the median "
              f"{per_video:.0f} samples a video of its own, that is {floor:.0f} samples even if its previews were "
              f"free and every video landed in the region, while the videos-only sweep explored a median of "
              f"{explored:g} videos ({only_median:g} samples). So against the videos-only sweep previews first "
              f"can save at most {only_median / floor:.1f}× here; the ratio in the table is what it saved. "
              "Against uniform random videos, which pay for every video that misses, the saving is the table's "
              "first row."]
    publish(lines, "sweep.md" if args.first_seed == 0 else f"sweep_seeds_{seeds[0]}-{seeds[-1]}.md")


if __name__ == "__main__":
    main()
