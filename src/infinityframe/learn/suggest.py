"""Where to render next: a Gaussian process fitted on what was paid for, and a batch acquisition.

Candidates come from the session's own sampler (``sesh.sample``), so each honours the fixed
values, the distributions' bounds, the generator's constraints (advisory ones included) and the
user's; each is checked again with the validation engine before it is offered, and only valid
ones can be chosen. A Gaussian process (a Matérn kernel with one length scale per
input, so parameters that do not matter stop mattering; :mod:`.gp`) is fitted on the history, and the batch
is picked greedily from the candidates with the "kriging believer" rule: after each pick, the
model is told its prediction there as if it were observed, which shrinks its uncertainty
nearby, so the next pick goes elsewhere. The acquisition depends on the goal:

* ``"maximize"`` / ``"minimize"``: expected improvement over the best job seen;
* ``"explore"``: the model's uncertainty (fill in where it knows least);
* ``("boundary", v)``: the "straddle" score ``1.96·sd − |mean − v|``, high where the
  outcome is uncertain and near ``v`` (the edge between "works" and "doesn't");
* ``("between", low, high)``: the model's probability that the outcome lands in the range
  (to collect jobs in a target region: the person partly out of view, a box of some size).

Cost: unless previews (one sample each) are asked for, every candidate is estimated by the
service, and its score divided by ``(estimated_samples / median) ** cost_weight``: at equal
value, the cheaper job wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InfinityError, ValidationError
from ..params.priors import Prior
from .candidates import variants
from .space import Space, param_columns

if TYPE_CHECKING:
    from ..client.session import Session
    from .gp import GaussianProcess

__all__ = ["MIN_HISTORY", "Goal", "acquisition", "check_goal", "ranked", "suggest"]

Goal = str | tuple[Any, ...]
_POOL_PER_JOB = 64
_MIN_POOL = 512
MIN_HISTORY = 3
_MAX_INPUTS = 4
_SHORTLIST = 6
_EVIDENCE = 2.0
_BEST = 16  # the best jobs seen that variants are made of
_SPACING = 0.03  # root-mean-square distance in unit inputs under which two picks are near-copies


def check_goal(goal: Any) -> tuple[str, tuple[float, ...]]:
    """``goal`` as ``(kind, values)``; raises a clear error for anything else.

    Examples
    --------
    >>> check_goal(("between", 25, 50))
    ('between', (25.0, 50.0))
    """
    if isinstance(goal, str) and goal in ("maximize", "minimize", "explore"):
        return goal, ()
    if isinstance(goal, tuple) and goal and goal[0] in ("boundary", "between"):
        arity = 2 if goal[0] == "boundary" else 3
        try:
            values = tuple(float(v) for v in goal[1:])
        except (TypeError, ValueError):
            values = ()
        if len(goal) == arity and len(values) == arity - 1 and all(np.isfinite(values)) and values == tuple(
                sorted(values)):
            return goal[0], values
    raise InfinityError(f"goal must be 'maximize', 'minimize', 'explore', ('boundary', value) or "
                        f"('between', low, high) with low <= high, not {goal!r}.")


def acquisition(kind: str, values: tuple[float, ...], mean: np.ndarray, sd: np.ndarray,
                observed: np.ndarray) -> np.ndarray:
    """The score of each candidate for a goal (higher is better), from the model's mean and sd.

    Examples
    --------
    >>> acquisition("boundary", (50.0,), np.array([50.0, 80.0]), np.array([1.0, 1.0]), np.array([]))
    array([  1.96, -28.04])
    >>> acquisition("between", (0.0, 1.0), np.array([0.5, 3.0]), np.array([0.1, 0.1]), np.array([])).round(3)
    array([1., 0.])
    """
    # The standard normal's cdf and pdf as scipy.stats.norm computes them (scipy.special.ndtr),
    # without importing scipy.stats: most of a second of a script's first suggestion.
    from scipy.special import ndtr

    sd = np.maximum(sd, 1e-12)
    if kind == "explore":
        return sd
    if kind == "boundary":
        return 1.96 * sd - np.abs(mean - values[0])
    if kind == "between":  # the chance the outcome lands in the range
        return np.asarray(ndtr((values[1] - mean) / sd) - ndtr((values[0] - mean) / sd))
    sign = 1.0 if kind == "maximize" else -1.0
    best = float(np.max(sign * observed)) if observed.size else float(np.max(sign * mean))
    gain = sign * mean - best
    z = gain / sd
    return np.asarray(gain * ndtr(z) + sd * np.exp(-z * z / 2) / np.sqrt(2 * np.pi))


def ranked(history: pd.DataFrame, goal: tuple[str, tuple[float, ...]]) -> pd.DataFrame:
    """The rows of ``history`` best for the goal first, by their ``objective`` (none for "explore")."""
    kind, values = goal
    y = history["objective"]
    if kind == "maximize":
        key = -y
    elif kind == "minimize":
        key = y
    elif kind == "boundary":
        key = (y - values[0]).abs()
    elif kind == "between":
        middle, half = (values[0] + values[1]) / 2, (values[1] - values[0]) / 2
        key = ((y - middle).abs() - half).clip(lower=0) * 1e6 + (y - middle).abs()
    else:
        return history.iloc[0:0]
    return history.assign(_key=key.to_numpy()).dropna(subset=["_key"]).sort_values(
        "_key", kind="stable").drop(columns="_key")


def _history_frame(history: Any) -> pd.DataFrame:
    if isinstance(history, pd.DataFrame):
        return history
    if type(history).__module__.startswith("polars"):
        collected = history.collect() if hasattr(history, "collect") else history
        return pd.DataFrame(collected.to_pandas())
    raise InfinityError(f"history must be a pandas or polars DataFrame of parameters and the target, "
                        f"not {type(history).__name__}.")


def _observed(history: pd.DataFrame, target: str | pd.Series) -> tuple[pd.DataFrame, np.ndarray, str]:
    if isinstance(target, pd.Series):
        if len(target) != len(history):
            raise InfinityError(f"The target Series has {len(target)} values for {len(history)} rows of history.")
        name = str(target.name or "target")
        values = pd.to_numeric(pd.Series(np.asarray(target)), errors="coerce").to_numpy(dtype=float)
    else:
        if target not in history.columns:
            raise InfinityError(f"The history has no column {target!r}; its columns are "
                                f"{', '.join(map(str, history.columns[:25]))}.")
        name = str(target)
        column = history[target]
        values = (column.to_numpy(dtype=float) if pd.api.types.is_bool_dtype(column)
                  else pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
    keep = np.isfinite(values)
    if keep.sum() < MIN_HISTORY:
        raise InfinityError(f"Only {int(keep.sum())} row(s) of history have a finite {name!r}: fit needs at least "
                            f"{MIN_HISTORY}. Sample a first round (sesh.sample) and measure it.")
    return history.loc[keep].reset_index(drop=True), values[keep], name


def _canonical(frame: pd.DataFrame, y: np.ndarray, names: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The history's rows in an order of their own (by parameters, then target), not the caller's.

    A model's fit, and so the jobs suggested, depends a little on the order of its rows; results
    list jobs in an order that follows their random ids. Sorted, the same history gives the same
    jobs however its rows come.
    """
    key = frame[list(names)].astype(str).assign(_target=y)
    order = key.sort_values([*names, "_target"], kind="stable").index.to_numpy()
    return frame.iloc[order].reset_index(drop=True), y[order]


def _fit(x: np.ndarray, y: np.ndarray, seed: int, restarts: int = 2) -> GaussianProcess:
    from .gp import fit

    return fit(x, y, seed, restarts)


def _relevant(space: Space, frame: pd.DataFrame, y: np.ndarray, seed: int) -> Space:
    """The few inputs that explain the outcome, when there are too many for the history.

    A Gaussian process learns one length scale per input, and two dozen of them cannot be
    learnt from a few dozen jobs. So inputs are chosen by the model's own evidence (forward
    selection on the log marginal likelihood): the input whose one-input model explains the
    jobs best, then, from the best few, the input that adds most, while it adds at least
    :data:`_EVIDENCE` nats (at most :data:`_MAX_INPUTS` inputs). It finds effects of any shape,
    not only trends. The others vary freely among the candidates.
    """
    if len(space.axes) <= _MAX_INPUTS or len(y) < 2 * MIN_HISTORY or np.ptp(y) == 0:
        return space

    def evidence(chosen: Sequence[int]) -> float:
        inputs = Space(tuple(space.axes[i] for i in chosen)).encode(frame, onehot=True)
        return _fit(inputs, y, seed, restarts=0).log_marginal_likelihood

    alone = np.array([evidence([i]) for i in range(len(space.axes))])
    shortlist = np.argsort(-alone, kind="stable")[:_SHORTLIST].tolist()
    chosen, best = [shortlist[0]], float(alone[shortlist[0]])
    while len(chosen) < _MAX_INPUTS:
        tried = {i: evidence([*chosen, i]) for i in shortlist if i not in chosen}
        pick = max(tried, key=lambda i: tried[i])
        if tried[pick] < best + _EVIDENCE:
            break
        chosen.append(pick)
        best = tried[pick]
    return Space(tuple(space.axes[i] for i in sorted(chosen)))


def _seed_int(seed: Any) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    if seed is None:
        return int(np.random.default_rng().integers(2**31))
    return int(seed) % 2**31


def _valid_candidates(session: Session, pool: pd.DataFrame, constraints: Sequence[Any]) -> pd.DataFrame:
    from ..params.schema import failure_cases

    failures = failure_cases(pool, session.spec, constraints)
    if failures.empty:
        return pool
    bad = set(failures["row"].tolist())
    return pool.loc[[i not in bad for i in pool.index]].reset_index(drop=True)


def _pick(n: int, space: Space, frame: pd.DataFrame, y: np.ndarray, candidates: pd.DataFrame, costs: np.ndarray,
          kind: str, values: tuple[float, ...], cost_weight: float, seed: int) -> tuple[list[int], list[float],
                                                                                      list[float]]:
    """The batch: greedily the best score per unit of cost, the model believing each pick.

    A pick also rules out the candidates within :data:`_SPACING` of it (in the model's unit
    inputs) while others are left, so one batch does not spend itself on near-copies.
    """
    x_seen = space.encode(frame, onehot=True)
    x_pool = space.encode(candidates, onehot=True)
    weights = (np.maximum(costs, 1.0) / max(float(np.median(costs)), 1.0)) ** cost_weight
    model = _fit(x_seen, y, seed)
    chosen: list[int] = []
    predicted: list[float] = []
    spread: list[float] = []
    xs, ys, current = x_seen, y, model
    available = np.ones(len(candidates), dtype=bool)
    crowded = np.zeros(len(candidates), dtype=bool)
    for _ in range(int(n)):
        mean, sd = current.predict(x_pool)
        score = acquisition(kind, values, mean, sd, y)
        score = (score - score.min() + 1e-9) / weights  # non-negative, then per unit of cost
        score[~available] = -np.inf
        if (available & ~crowded).any():
            score[crowded] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        predicted.append(float(mean[pick]))
        spread.append(float(sd[pick]))
        available[pick] = False
        if x_pool.shape[1]:
            distance = np.sqrt(((x_pool - x_pool[pick]) ** 2).mean(axis=1))
            crowded |= distance < _SPACING
        xs = np.vstack([xs, x_pool[pick : pick + 1]])
        ys = np.append(ys, mean[pick])
        current = model.conditioned(xs, ys)  # the kriging believer: the same scales, the pick believed
    return chosen, predicted, spread


def suggest(session: Session, n: int, history: Any, target: str | pd.Series, goal: Goal = "maximize", *,
            seed: Any = None, preview: bool = False, constraints: Sequence[Any] = (), cost_weight: float = 0.5,
            pool: int | None = None, prior: Prior = "recommended", **fixed: Any) -> pd.DataFrame:
    """``n`` new jobs chosen by a model of ``target`` fitted on ``history``; see the module docstring.

    Parameters
    ----------
    session : Session
        The generator's session: its sampler makes the candidates, its service prices them.
    n : int
        Jobs to suggest.
    history : DataFrame
        What was measured: parameter columns plus ``target`` (rows without a finite target are
        ignored). Parameters missing from it are drawn, not modelled.
    target : str or Series
        The outcome column of ``history`` (numeric or boolean), or one value per row.
    goal : "maximize", "minimize", "explore", ("boundary", value) or ("between", low, high)
        What the next jobs are for.
    seed : int or numpy.random.Generator, optional
        Makes the suggestion reproducible (the same history gives the same jobs).
    preview : bool
        Price the candidates as previews (one sample each: cost plays no part).
    constraints : sequence
        Joint constraints beyond the generator's own, as for ``sesh.sample``.
    cost_weight : float
        How strongly cheap jobs are preferred (0: cost is ignored).
    pool : int, optional
        Candidates drawn; 64 per job asked for (at least 512) by default. As many variants
        of the best jobs seen are added for every goal but "explore".
    prior : {"recommended", "uniform"}
        What the candidates are drawn from, as for ``sesh.sample``: the generator's
        recommended distributions, or every parameter over its whole range.
    **fixed
        Fixed values or distributions, as for ``sesh.sample``: every suggestion honours them.

    Returns
    -------
    pandas.DataFrame
        One row per job, every parameter, plus ``estimated_samples``: ready for
        ``validate``/``estimate``/``submit``. ``attrs["suggest"]`` holds the model's
        ``predicted`` outcome and ``uncertainty`` (sd) for each row, and the goal.

    Examples
    --------
    >>> history = sesh.sample(12, seed=0, **SMALL)
    >>> history["score"] = -(history.camera_distance - 4) ** 2          # best at 4 m
    >>> nxt = sesh.suggest(3, history, "score", goal="maximize", seed=0, preview=True, **SMALL)
    >>> len(nxt), bool(nxt.infinity.errors().empty), set(nxt.num_reps)
    (3, True, {1})
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InfinityError(f"n must be a positive number of jobs, not {n!r}.")
    kind, values = check_goal(goal)
    if cost_weight < 0:
        raise InfinityError(f"cost_weight must be 0 or more, not {cost_weight}.")
    frame, y, name = _observed(_history_frame(history), target)
    spec = session.spec
    names = param_columns(frame, spec, exclude=[name])
    if not names:
        raise InfinityError(f"The history has none of {session.generator}'s parameters as columns: give it the "
                            "jobs' parameters beside the target (res.jobs has both).")
    frame, y = _canonical(frame, y, names)
    rng_seed = _seed_int(seed)
    size = pool if pool is not None else max(_MIN_POOL, _POOL_PER_JOB * int(n))
    drawn = session.sample(size, seed=rng_seed, constraints=constraints, prior=prior, **fixed)
    candidates = _valid_candidates(session, drawn, constraints)
    if len(candidates) < n:
        raise ValidationError(f"Only {len(candidates)} valid candidates for {n} job(s): loosen the fixed values "
                              "or constraints, or pass a larger pool=.")
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS first: a limit reaches only what is loaded)
    from threadpoolctl import threadpool_limits

    # Matrices of a few dozen jobs: one BLAS thread is several times faster than threads that
    # fight over the cores (and leaves them to the service rendering the jobs).
    with threadpool_limits(1):
        space = Space.learn(pd.concat([frame[names], candidates[names]], ignore_index=True), names, spec)
        space = _relevant(space, frame, y, rng_seed)
        if kind != "explore":
            best = ranked(frame.assign(objective=y), (kind, values)).head(_BEST)
            near = variants(drawn, best, names, spec, size, np.random.default_rng(rng_seed), constraints)
            candidates = pd.concat([candidates, _valid_candidates(session, near, constraints)], ignore_index=True)
        costs = np.ones(len(candidates))
        if not preview:
            costs = np.asarray(session.estimate(candidates, preview=False), dtype=float)
        chosen, predicted, spread = _pick(n, space, frame, y, candidates, costs, kind, values, cost_weight, rng_seed)
    out = candidates.iloc[chosen].reset_index(drop=True)
    out["estimated_samples"] = costs[chosen].astype(np.int64)
    out.attrs["infinity"] = session.frame_attrs()
    out.attrs["suggest"] = {"goal": goal, "target": name, "predicted": predicted, "uncertainty": spread}
    return out
