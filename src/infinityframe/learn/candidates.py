"""The jobs a suggestion chooses from: dense draws from the sampler, and variants of the best jobs.

A target region can be thin (a person half out of the frame is a narrow band of camera angles),
so draws from the prior alone put few candidates where the model expects the goal. Variants
of the best jobs seen fill that gap: each starts from a fresh draw and takes the best job's
parameters moved a little (a normal step of :data:`STEP` of the range drawn, in each numeric
parameter; a categorical one keeps the best job's level, or, one time in four, the draw's).
Every parameter is moved, not only those the model kept as inputs: with a few dozen jobs, the
model can miss one that matters, and a variant should stay near what worked.

A variant can only be offered where a draw could have landed, so each value is checked
against what the sampler produced in the same pool: a numeric value is clipped to the range
of the draws (inside the bounds of the prior, the fixed distributions and the generator); a
value with few distinct draws (a choice, a category, a bool) must be one of them. The
variants must also meet every joint constraint that every draw met (the generator's advisory
ones, those of its recommended distributions, the user's): the sampler's own rules, read off
its output. The caller then checks them against the generator's rules as it checks the draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..params.spec import GeneratorSpec, compile_constraints

__all__ = ["STEP", "variants"]

STEP = 0.05  # a variant's step, as a share of the range drawn
_DISCRETE = 24  # a column with at most this many distinct draws takes only values drawn


def _support(pool: pd.DataFrame, name: str) -> tuple[str, Any]:
    """``("range", (low, high))`` for a numeric column with many values, else ``("set", values)``."""
    column = pool[name]
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    distinct = column.astype(object).drop_duplicates()
    if numeric and len(distinct) > _DISCRETE:
        return "range", (float(column.min()), float(column.max()))
    return "set", set(distinct.tolist())


def _sampler_rules(spec: GeneratorSpec, pool: pd.DataFrame, constraints: Sequence[Any]) -> list[Any]:
    """The joint constraints that every draw of ``pool`` meets (the sampler's rules, as applied)."""
    rules = []
    for rule in compile_constraints(spec, [*spec.advisory, *spec.recommended, *constraints]):
        if not set(rule.columns) <= set(pool.columns):
            continue
        try:
            met = np.asarray(rule.check(pool), dtype=bool)
        except (TypeError, ValueError, KeyError):  # a rule the pool's columns cannot answer
            continue
        if met.all():
            rules.append(rule)
    return rules


def variants(pool: pd.DataFrame, best: pd.DataFrame, names: Sequence[str], spec: GeneratorSpec, count: int,
             rng: np.random.Generator, constraints: Sequence[Any] = ()) -> pd.DataFrame:
    """Up to ``count`` jobs near the rows of ``best``, each as possible a draw as ``pool``'s rows.

    Examples
    --------
    >>> pool = sesh.sample(200, seed=0, **SMALL)
    >>> near = variants(pool, pool.head(2), ["camera_distance", "exercise"], sesh.spec, 20, np.random.default_rng(0))
    >>> len(near) <= 20, bool(near.camera_distance.between(pool.camera_distance.min(),
    ...                                                    pool.camera_distance.max()).all())
    (True, True)
    >>> set(near.exercise) <= set(pool.exercise)
    True
    """
    if count < 1 or best.empty or pool.empty or not names:
        return pool.iloc[0:0]
    rows = rng.integers(len(pool), size=count)
    origins = rng.integers(len(best), size=count)
    out = pool.iloc[rows].reset_index(drop=True)
    for name in names:
        if name not in best.columns or name not in pool.columns:
            continue
        kind, support = _support(pool, name)
        start = best[name].to_numpy()[origins]
        if kind == "range":
            low, high = support
            numbers = pd.to_numeric(pd.Series(start), errors="coerce").to_numpy(dtype=float)
            moved = np.clip(numbers + rng.normal(0.0, STEP * (high - low), count), low, high)
            column = out[name]
            if pd.api.types.is_integer_dtype(column):
                moved = np.clip(np.round(moved), np.ceil(low), np.floor(high))
            keep_draw = ~np.isfinite(moved)
            values = np.where(keep_draw, column.to_numpy(dtype=float), moved)
            out[name] = values.astype(column.dtype)
        else:
            take = rng.random(count) < 0.75
            allowed = np.array([value in support for value in start.tolist()], dtype=bool)
            chosen = take & allowed
            if chosen.any():
                column = out[name].astype(object).to_numpy(copy=True)
                column[chosen] = start[chosen]
                out[name] = pd.Series(column, dtype=pool[name].dtype)
    ok = np.ones(len(out), dtype=bool)
    for rule in _sampler_rules(spec, pool, constraints):
        ok &= np.asarray(rule.check(out), dtype=bool)
    return out.loc[ok].reset_index(drop=True)
