"""Which parameters drive an outcome: variance-based sensitivity with bootstrap intervals.

The unit of replication is the job: a job's frames share its parameters and its scene, so they
are not independent draws, and a per-frame or per-object outcome is first averaged per job.
A surrogate (scikit-learn's random forest, on every parameter that varies, categorical ones by
their level codes) is fitted to the jobs, then read one of two ways:

* ``"sobol"``: Sobol' first-order and total indices (SALib) of the surrogate over the space the
  jobs span (numbers uniform over the range seen, levels equally likely). The total index is
  the share of the outcome's variance that goes away when the parameter is known, its
  interactions included.
* ``"permutation"``: scikit-learn's permutation importance on the jobs the surrogate did not
  see: the drop in R² when a parameter's values are shuffled among them.

Either way the effect and its interval come from a bootstrap over jobs: the surrogate is
refitted on each resample of the jobs, the effect is their mean, ``low``/``high`` the 2.5 and
97.5 percentiles. ``"auto"`` takes Sobol' indices when the jobs fill the space well enough to
integrate the surrogate over it (at least ten jobs per varying parameter), else permutation
importance. scikit-learn and SALib are imported on the first call only.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> jobs = pd.DataFrame({"a": rng.uniform(0, 1, 120), "b": rng.uniform(0, 1, 120),
...                      "noise": rng.uniform(0, 1, 120)})
>>> jobs["y"] = 3 * jobs.a + np.sin(6 * jobs.b) + rng.normal(0, 0.1, 120)
>>> ranked = effects(jobs, "y", n_boot=10)
>>> ranked["parameter"].tolist(), ranked["method"].iloc[0]
(['a', 'b', 'noise'], 'sobol')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InfinityError
from ..params.spec import GeneratorSpec
from .space import Space, param_columns

__all__ = ["COLUMNS", "effects"]

Method = Literal["auto", "sobol", "permutation"]
COLUMNS = ["parameter", "effect", "low", "high", "method", "n", "first_order", "first_low", "first_high"]
_MIN_JOBS = 8
_JOBS_PER_PARAM_FOR_SOBOL = 10


def _surrogate(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=40, min_samples_leaf=2, max_features=0.5, random_state=seed,
                                 n_jobs=1)


def _target_values(frame: pd.DataFrame, target: str | pd.Series) -> tuple[pd.Series, str]:
    if isinstance(target, pd.Series):
        if len(target) != len(frame):
            raise InfinityError(f"The target Series has {len(target)} values for {len(frame)} jobs: give one value "
                                "per job, in the jobs' order or indexed by job_id.")
        name = str(target.name) if target.name is not None else "target"
        return pd.Series(np.asarray(target), index=frame.index, name=name), name
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:25]))
        raise InfinityError(f"No column {target!r} to explain; the frame has {shown}.")
    return frame[target], str(target)


def _as_numbers(values: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        return np.asarray(values.to_numpy(dtype=float))
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() < values.notna().sum():
        bad = values[numbers.isna() & values.notna()].iloc[0]
        raise InfinityError(f"The target {name!r} must be numeric or boolean; it holds {bad!r}. Pass a numeric "
                            "column (or a Series of numbers, one per job).")
    return np.asarray(numbers.to_numpy(dtype=float))


def effects(frame: pd.DataFrame, target: str | pd.Series, params: Sequence[str] | None = None, *,
            method: Method = "auto", n_boot: int = 30, seed: int = 0,
            spec: GeneratorSpec | None = None) -> pd.DataFrame:
    """How much each parameter drives ``target``, one row per parameter, the strongest first.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per job: its parameters and the outcome.
    target : str or pandas.Series
        The outcome: a numeric or boolean column of ``frame``, or one value per job.
    params : sequence of str, optional
        The parameters to rank; every parameter column of ``frame`` by default (those of
        ``spec`` when given, else every column but the target). Columns that never vary are left out.
    method : {"auto", "sobol", "permutation"}
        See the module docstring.
    n_boot : int
        Bootstrap resamples of the jobs.
    seed : int
        Makes the surrogate, the resamples and the Sobol' design reproducible.
    spec : GeneratorSpec, optional
        The generator's parameters (to tell them from other columns).

    Returns
    -------
    pandas.DataFrame
        ``parameter, effect, low, high, method, n`` (``n``: the jobs used) and, for Sobol',
        ``first_order, first_low, first_high`` (NaN for permutation importance). ``attrs["r2"]``
        is the surrogate's out-of-bag R² on all the jobs: near zero, the parameters given do not
        explain the outcome, and the ranking means little.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> jobs = pd.DataFrame({"a": rng.uniform(0, 1, 40), "b": rng.choice(["x", "y"], 40)})
    >>> ranked = effects(jobs, jobs.a ** 2, method="permutation", n_boot=5)
    >>> ranked[["parameter", "method", "n"]].values.tolist()
    [['a', 'permutation', 40], ['b', 'permutation', 40]]
    """
    if method not in ("auto", "sobol", "permutation"):
        raise InfinityError(f"method must be 'auto', 'sobol' or 'permutation', not {method!r}.")
    if n_boot < 2:
        raise InfinityError(f"n_boot must be at least 2 (bootstrap resamples of the jobs), not {n_boot}.")
    values, name = _target_values(frame, target)
    y_all = _as_numbers(values, name)
    keep = np.isfinite(y_all)
    names = list(params) if params is not None else param_columns(
        frame, spec, exclude=[name] if isinstance(target, str) else [])
    data = frame.loc[keep]
    y = y_all[keep]
    if len(data) < _MIN_JOBS:
        raise InfinityError(f"Only {len(data)} job(s) have a value of {name!r}: effects need at least {_MIN_JOBS} "
                            "(each job is one replicate; frames of a job are not independent).")
    space = Space.learn(data, names, spec)
    if not space.axes:
        raise InfinityError(f"None of the parameters {names[:10]} varies across the {len(data)} jobs: there is "
                            "no effect to measure. Sample them over a range first.")
    x = space.encode(data, onehot=False)
    chosen = method
    if chosen == "auto":
        chosen = "sobol" if len(data) >= _JOBS_PER_PARAM_FOR_SOBOL * len(space.axes) else "permutation"
    rng = np.random.default_rng(seed)
    table = _sobol(space, x, y, n_boot, rng) if chosen == "sobol" else _permutation(space, x, y, n_boot, rng)
    table["method"] = chosen
    table["n"] = len(data)
    table = table[COLUMNS].sort_values("effect", ascending=False, kind="stable", ignore_index=True)
    full = _surrogate(seed)
    full.set_params(oob_score=True)
    full.fit(x, y)
    table.attrs["r2"] = float(full.oob_score_)
    table.attrs["target"] = name
    return table


def _resamples(n: int, n_boot: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bootstrap resamples of ``n`` jobs with the jobs each leaves out (at least three)."""
    out: list[tuple[np.ndarray, np.ndarray]] = []
    while len(out) < n_boot:
        drawn = rng.integers(0, n, n)
        left_out = np.setdiff1d(np.arange(n), drawn)
        if len(left_out) >= 3 and np.unique(drawn).size >= 3:
            out.append((drawn, left_out))
    return out


def _summary(space: Space, draws: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"parameter": space.names, "effect": draws.mean(axis=0),
                         "low": np.percentile(draws, 2.5, axis=0), "high": np.percentile(draws, 97.5, axis=0)})


def _permutation(space: Space, x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator) -> pd.DataFrame:
    from sklearn.inspection import permutation_importance

    draws = []
    for b, (drawn, left_out) in enumerate(_resamples(len(y), n_boot, rng)):
        model = _surrogate(b).fit(x[drawn], y[drawn])
        found = permutation_importance(model, x[left_out], y[left_out], n_repeats=3, random_state=b, scoring="r2")
        draws.append(found.importances_mean)
    table = _summary(space, np.asarray(draws))
    table[["first_order", "first_low", "first_high"]] = np.nan
    return table


def _sobol(space: Space, x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator) -> pd.DataFrame:
    from SALib.analyze import sobol as sobol_analysis
    from SALib.sample import sobol as sobol_sample

    # Numbers vary over [0, 1] (their range, scaled); a categorical axis over [0, levels), floored to a code.
    bounds = [[0.0, 1.0] if axis.kind == "number" else [0.0, float(len(axis.levels))] for axis in space.axes]
    problem = {"num_vars": len(space.axes), "names": space.names, "bounds": bounds}
    design = sobol_sample.sample(problem, 256, calc_second_order=False, seed=int(rng.integers(2**31)))
    for j, axis in enumerate(space.axes):
        if axis.kind == "category":
            design[:, j] = np.minimum(np.floor(design[:, j]), len(axis.levels) - 1)
    totals, firsts = [], []
    for b, (drawn, _) in enumerate(_resamples(len(y), n_boot, rng)):
        predicted = _surrogate(b).fit(x[drawn], y[drawn]).predict(design)
        if np.ptp(predicted) == 0:  # a resample whose forest is flat: every parameter explains nothing
            totals.append(np.zeros(len(space.axes)))
            firsts.append(np.zeros(len(space.axes)))
            continue
        found = sobol_analysis.analyze(problem, predicted, calc_second_order=False, num_resamples=2,
                                       print_to_console=False, seed=b)
        totals.append(np.clip(found["ST"], 0.0, None))
        firsts.append(np.clip(found["S1"], 0.0, None))
    table = _summary(space, np.asarray(totals))
    first = np.asarray(firsts)
    table["first_order"] = first.mean(axis=0)
    table["first_low"] = np.percentile(first, 2.5, axis=0)
    table["first_high"] = np.percentile(first, 97.5, axis=0)
    return table
