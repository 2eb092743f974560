"""The loop: sample → submit → wait → results → objective → suggest, round after round.

Every round is an ordinary submission with ``mode="cached"``: its batch is named after the
sweep and the round, and its jobs follow from the seed and the rounds before it (the first
round is a Latin hypercube drawn with the seed; each later one is :func:`suggest`'s answer,
seeded, to the results of the earlier rounds, which are the same results on a re-run). So a
sweep script run again submits exactly what it submitted before, each round reattaches to its
batch (through this machine's submission records, else the service's ``Idempotency-Key``), its
results are already downloaded, and the run pays nothing.

With ``preview_first`` (and a generator that renders previews), the rounds explore on
one-frame previews, one sample each; only the best previews (by the goal) are then rendered as
videos (``Batch.promote``: the same scene, every frame), and scored again. That is the
multi-fidelity part: a video costs as many samples as it has frames.

Spend: ``max_samples`` caps the estimate of everything the sweep submits. A round that would
go over it is cut to the jobs that fit (the suggestion's own order: the best first), and the
sweep stops when nothing fits; each submission also carries the cap that is left, so the
service-side check in ``Session.submit`` backs it up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InfinityError
from ..params.priors import Prior
from .suggest import MIN_HISTORY, Goal, check_goal, ranked, suggest

if TYPE_CHECKING:
    from ..client.batch import Batch
    from ..client.session import Session
    from ..results import Results

__all__ = ["Objective", "evaluate", "sweep"]

Objective = str | Callable[["Results"], Any]
KEYS = ["round", "fidelity", "batch_id", "job_id", "source_job_id"]


def evaluate(objective: Objective, res: Results) -> np.ndarray:
    """The objective of each job of ``res``, in the order of ``res.jobs``.

    ``objective`` is a column of ``res.jobs`` (``"mean_percent_in_fov"``) or a function of the
    results returning one number per job: a Series indexed by job id, or values in the order of
    ``res.jobs``.

    Examples
    --------
    >>> evaluate("mean_bbox_h", res).shape
    (2,)
    >>> evaluate(lambda r: r.objects.groupby("job_id", observed=True)["bbox_w"].max(), res).shape
    (2,)
    """
    jobs = res.to_backend("pandas").jobs
    job_ids = jobs["job_id"].astype(str)
    if isinstance(objective, str):
        if objective not in jobs.columns:
            means = [c for c in jobs.columns if str(c).startswith("mean_")]
            raise InfinityError(f"The objective {objective!r} is not a column of res.jobs; per-job columns include "
                                f"{', '.join(means)}. Pass one of them, or a function of the results that returns "
                                "one value per job.")
        values: Any = jobs[objective]
    elif callable(objective):
        values = objective(res)
    else:
        raise InfinityError(f"objective must be a column name of res.jobs or a function of the results, "
                            f"not {type(objective).__name__}.")
    if isinstance(values, pd.Series) and set(job_ids) <= {str(i) for i in values.index}:
        values = values.set_axis([str(i) for i in values.index]).reindex(job_ids.tolist())
    array = np.asarray(values, dtype=float).reshape(-1)
    if len(array) != len(jobs):
        raise InfinityError(f"The objective gave {len(array)} values for {len(jobs)} jobs (batch "
                            f"{', '.join(res.batch_ids)}): return one per job, indexed by job_id or in the order of "
                            "res.jobs.")
    return array


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "sweep"


def _round_rows(res: Results, values: np.ndarray, round_: int, fidelity: str, params: Sequence[str],
                estimates: dict[str, int], order: Sequence[str], sources: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per job of a round, in ``order`` (the batch's, as submitted).

    The results list jobs in the order they were read, which follows their random ids; the
    model's fit and so the next round's jobs depend on the rows' order, so a seeded sweep puts
    them in the order it submitted them.
    """
    jobs = res.to_backend("pandas").jobs
    ids = jobs["job_id"].astype(str).tolist()
    rows = pd.DataFrame({"round": round_, "fidelity": fidelity, "batch_id": jobs["batch_id"].astype(str).tolist(),
                         "job_id": ids, "source_job_id": [(sources or {}).get(i) for i in ids]})
    for name in params:
        if name in jobs.columns:
            column = jobs[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object).where(column.notna(), None)
            rows[name] = column.to_numpy()
    rows["estimated_samples"] = [estimates.get(i, 0) for i in ids]
    rows["objective"] = values
    position = {job: i for i, job in enumerate(order)}
    return rows.iloc[np.argsort([position.get(i, len(position)) for i in ids], kind="stable")].reset_index(drop=True)


def _fits(costs: Sequence[int], left: int) -> int:
    """How many jobs, taken in order, fit in ``left`` samples."""
    total = np.cumsum(np.asarray(costs, dtype=np.int64))
    return int(np.searchsorted(total, left, side="right"))


def sweep(session: Session, objective: Objective, *, rounds: int, per_round: int, max_samples: int,
          preview_first: bool = True, name: str | None = None, goal: Goal = "maximize", seed: int = 0,
          first_round: int | None = None, videos: int | None = None, path: str | Path | None = None,
          stop: Callable[[pd.DataFrame], bool] | None = None, constraints: Sequence[Any] = (),
          cost_weight: float = 0.5, progress: bool = True, report: bool = True, prior: Prior = "recommended",
          **fixed: Any) -> pd.DataFrame:
    """Run a sweep that learns: each round renders the jobs a model of the objective suggests.

    Parameters
    ----------
    session : Session
        The generator to sweep.
    objective : str or callable
        A per-job column of the results (``"mean_percent_in_fov"``) or a function of a
        round's :class:`~infinityframe.Results` giving one number per job (see :func:`evaluate`).
    rounds : int
        Rounds at most (the first is a Latin hypercube, the rest are suggested).
    per_round : int
        Jobs per suggested round.
    max_samples : int
        The most the whole sweep may spend, by the service's estimates (previews and videos).
    preview_first : bool
        Explore on one-frame previews, then render only the best ``videos`` as videos.
    name : str, optional
        Names the batches (``"<name> · round 2"``) and the folder; ``"sweep"`` by default.
    goal : "maximize", "minimize", "explore", ("boundary", v) or ("between", low, high)
        What the rounds look for (see :func:`~infinityframe.learn.suggest.suggest`).
    seed : int
        Makes the sweep reproducible, and so a re-run free.
    first_round : int, optional
        Jobs in the first round; ``per_round`` (at least 3) by default. Until three jobs have a
        finite objective, each round is a seeded Latin hypercube of its own.
    videos : int, optional
        With ``preview_first``: previews rendered as videos at the end (``per_round`` by
        default; 0 for none; none for ``goal="explore"``). With a ``("between", low, high)``
        goal, a video that falls outside the region is replaced by the next best preview in it,
        while there is one and the cap allows: ``videos`` is how many videos should land there.
    path : str or Path, optional
        Where rounds are downloaded and the report written; ``infinity-sweeps/<name>``.
    stop : callable, optional
        ``stop(history) -> bool``, asked after each round: True ends the exploration early.
    constraints, **fixed
        As for ``sesh.sample``: every job of every round honours them.
    cost_weight : float
        How strongly cheaper jobs are preferred at equal value (see ``suggest``). With
        ``preview_first`` and videos to make, a preview is priced as the video it may become.
    progress : bool
        Show a bar over the rounds.
    report : bool
        Write ``report.html`` (objective by round, the effects, the chosen frames) into ``path``.
    prior : {"recommended", "uniform"}
        The space explored, as for ``sesh.sample``: the generator's recommended distributions
        (the camera on the person, for stickfit), or every parameter over its whole range (to
        find where things go wrong, look beyond the recommendations).

    Returns
    -------
    pandas.DataFrame
        One row per job: ``round, fidelity`` ("preview" or "video"), ``batch_id, job_id,
        source_job_id`` (a video's preview), the parameters, ``estimated_samples`` and
        ``objective``. ``attrs["sweep"]`` holds the samples spent, the batches, the report's path
        and whether every round was reattached (``paid_nothing``).

    Examples
    --------
    >>> found = inf.sweep(sesh, "mean_bbox_h", rounds=2, per_round=2, max_samples=40, videos=1,
    ...                   name="tall boxes", progress=False, report=False, **SMALL)
    >>> found.groupby("fidelity").size().to_dict()
    {'preview': 5, 'video': 1}
    """
    for label, value in (("rounds", rounds), ("per_round", per_round), ("max_samples", max_samples)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise InfinityError(f"{label} must be a positive whole number, not {value!r}.")
    checked_goal = check_goal(goal)
    name = name or "sweep"
    folder = Path(path) if path is not None else Path("infinity-sweeps") / _slug(name)
    previews = bool(preview_first and session.supports_preview)
    video_count = videos if videos is not None else (0 if checked_goal[0] == "explore" else per_round)
    # A preview that may become a video is priced as that video: at equal promise, the
    # previews chosen are the ones whose videos cost less.
    priced_as_preview = previews and video_count == 0
    fidelity = "preview" if previews else "video"
    params = session.spec.names
    history = pd.DataFrame()
    spent = 0
    batches: list[Batch] = []
    from ..client.progress import tqdm_class

    bar = tqdm_class()(total=rounds, desc=f"sweep {name!r}", unit="round", disable=not progress, leave=True)
    try:
        for round_ in range(rounds):
            finite = int(np.isfinite(history["objective"].to_numpy(dtype=float)).sum()) if len(history) else 0
            if finite < MIN_HISTORY:  # nothing to learn from yet: a seeded design of its own
                jobs = session.sample(first_round or max(per_round, MIN_HISTORY) if round_ == 0 else per_round,
                                      seed=seed * 10_007 + round_, method="lhs", constraints=constraints, prior=prior,
                                      **fixed)
            else:
                jobs = suggest(session, per_round, history, "objective", goal, seed=seed * 10_007 + round_,
                               preview=priced_as_preview, constraints=constraints, cost_weight=cost_weight, prior=prior,
                               **fixed)
            jobs = jobs[[c for c in jobs.columns if c in params]]
            costs = session.estimate(jobs, preview=previews)
            keep = _fits(costs, max_samples - spent)
            if keep == 0:
                break
            jobs, costs = jobs.iloc[:keep], costs[:keep]
            batch = session.submit(jobs, preview=previews, name=f"{name} · round {round_}",
                                   max_samples=max_samples - spent)
            spent += sum(costs)
            batches.append(batch)
            res = _finished(batch, folder / f"round-{round_}-{batch.id[:8]}")
            estimates = dict(zip(batch.job_ids, costs, strict=True))
            rows = _round_rows(res, evaluate(objective, res), round_, fidelity, params, estimates, batch.job_ids)
            history = pd.concat([history, rows], ignore_index=True) if len(history) else rows
            bar.update(1)
            bar.set_postfix_str(f"{len(history)} jobs · {spent} samples")
            if stop is not None and stop(history):
                break
    finally:
        bar.close()
    if previews and len(history):
        rows, cost, made = _videos(session, history, objective, checked_goal, video_count, max_samples - spent, name,
                                   folder, params)
        spent += cost
        batches.extend(made)
        if len(rows):
            history = pd.concat([history, rows], ignore_index=True)
    history.attrs["infinity"] = session.frame_attrs()
    history.attrs["sweep"] = {"name": name, "samples": int(spent), "batches": [b.id for b in batches],
                              "paid_nothing": bool(batches) and all(b.reattached for b in batches),
                              "report": None}
    if report and len(history):
        from .report import write_sweep_report

        history.attrs["sweep"]["report"] = str(write_sweep_report(history, folder, session, checked_goal))
    return history


def _finished(batch: Batch, folder: Path) -> Results:
    batch.wait(progress=False)
    return batch.results(folder)


def _videos(session: Session, history: pd.DataFrame, objective: Objective, goal: tuple[str, tuple[float, ...]],
            count: int, left: int, name: str, folder: Path, params: Sequence[str]) -> tuple[pd.DataFrame, int,
                                                                                             list[Batch]]:
    """The best ``count`` previews rendered as videos (as many as ``left`` samples allow), scored.

    With a ``("between", low, high)`` goal, a video scored outside the region (its mean over
    every frame, not its preview's first frame) is replaced: the next best previews that are in
    the region are rendered too, as many as are missing, until ``count`` videos are in it or no
    such preview (or no sample) is left.
    """
    kind, values = goal
    pending = ranked(history, goal)
    parts: list[pd.DataFrame] = []
    made: list[Batch] = []
    spent, want, final_round = 0, count, int(history["round"].max()) + 1
    while want > 0 and len(pending):
        chosen, pending = pending.head(want), pending.iloc[want:]
        rows, cost, batches = _promote(session, chosen, objective, left - spent, name, folder, params, final_round,
                                       top_up=bool(made))
        if not batches:  # not one video fits in what the cap leaves
            break
        parts.append(rows)
        made.extend(batches)
        spent += cost
        if kind != "between":
            break
        videos = pd.concat(parts, ignore_index=True)["objective"]
        want = count - int(videos.between(values[0], values[1], inclusive="neither").sum())
        pending = pending[pending["objective"].between(values[0], values[1], inclusive="neither")]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()), spent, made


def _promote(session: Session, chosen: pd.DataFrame, objective: Objective, left: int, name: str, folder: Path,
             params: Sequence[str], final_round: int, top_up: bool) -> tuple[pd.DataFrame, int, list[Batch]]:
    """``chosen`` previews rendered as videos, one batch per preview batch, and scored."""
    sources = {str(b): session.batch(str(b)) for b in dict.fromkeys(chosen["batch_id"])}
    pairs = zip(chosen["batch_id"], chosen["job_id"], strict=True)
    jobs = [{**sources[str(b)].params[j], "state": j} for b, j in pairs]
    costs = session.estimate(jobs, preview=False)
    keep = _fits(costs, left)
    chosen, costs = chosen.iloc[:keep], costs[:keep]
    if chosen.empty:
        return pd.DataFrame(), 0, []
    made: list[Batch] = []
    parts: list[pd.DataFrame] = []
    by_id = dict(zip(chosen["job_id"], costs, strict=True))
    label = "more videos" if top_up else "videos"
    for batch_id, group in chosen.groupby("batch_id", sort=False):
        preview_batch = sources[str(batch_id)]
        videos = preview_batch.promote(group["job_id"].tolist(), name=f"{name} · {label} of {preview_batch.name}",
                                       max_samples=left)
        made.append(videos)
        res = _finished(videos, folder / f"videos-{videos.id[:8]}")
        parents = {vid: str(params_of["state"]) for vid, params_of in videos.params.items()}
        estimates = {vid: by_id.get(src, 0) for vid, src in parents.items()}
        parts.append(_round_rows(res, evaluate(objective, res), final_round, "video", params, estimates,
                                 videos.job_ids, parents))
    return pd.concat(parts, ignore_index=True), int(sum(costs)), made
