"""How well a job frame covers its generator's parameter space.

Read the table row by row: ``range_covered`` near 1 means the sweep reaches both ends of a
parameter's range (or uses every choice); ``missing_choices`` lists the categories it never
uses; ``discrepancy`` (one value shared by all numeric parameters) says how evenly the rows
fill the numeric box together — lower is more uniform. Compare it with
``attrs["discrepancy_random"]``, what independent uniform draws of the same size would score on
average: a Latin hypercube or Sobol design scores well below it, a clumped frame above.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from .spec import GeneratorSpec, ParamSpec

__all__ = ["coverage"]

# The centred L2 discrepancy costs O(n² d); beyond this many rows a seeded subsample estimates it.
MAX_DISCREPANCY_ROWS = 4096


def _kind(param: ParamSpec, n_unique: int) -> str:
    if n_unique <= 1 or not param.samplable:
        return "fixed"
    if param.choices:
        return "categorical"
    if param.type == "bool":
        return "boolean"
    return "integer" if param.type == "int" else "continuous"


def _allowed(param: ParamSpec) -> tuple[Any, ...] | None:
    if param.choices:
        return param.choices
    return (False, True) if param.type == "bool" else None


def _unit(values: pd.Series, param: ParamSpec) -> np.ndarray:
    """Values scaled to [0, 1] by the parameter's range; integers to the centres of their cells."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    lo, hi = float(param.min), float(param.max)  # type: ignore[arg-type]
    if param.type == "int":
        # k of the m integers sits at (k + 0.5)/m, so an evenly spread integer sweep scores like
        # an evenly spread continuous one.
        scaled = (x - lo + 0.5) / (hi - lo + 1)
    else:
        scaled = (x - lo) / (hi - lo) if hi > lo else np.full_like(x, 0.5)
    return np.asarray(np.clip(scaled, 0.0, 1.0), dtype=np.float64)


def coverage(df: pd.DataFrame, spec: GeneratorSpec) -> pd.DataFrame:
    """One row per parameter present in ``df``: how much of its allowed space the frame uses.

    Columns
    -------
    parameter, type
        The parameter and its type.
    kind
        ``"continuous"``, ``"integer"`` (ranged numbers), ``"categorical"`` (choices),
        ``"boolean"``, or ``"fixed"`` (one value in the frame, or a parameter that is never
        sampled, such as ``state``).
    n_unique
        Distinct non-null values.
    range_covered
        Ranged numbers: (largest − smallest value) / (max − min allowed), in [0, 1]. Choices
        and booleans: the share of allowed values that appear. NaN when the parameter has
        neither.
    missing_choices
        Allowed values that never appear (choices and booleans); ``None`` otherwise.
    discrepancy
        The centred L2 discrepancy (``scipy.stats.qmc.discrepancy(method="CD")``) of the
        continuous and integer parameters together, scaled to the unit cube by their allowed
        ranges; the same value on each of those rows, NaN elsewhere. Lower is more uniform.
        It shrinks with the number of rows, so compare frames of the same size, or compare it
        with ``attrs["discrepancy_random"]`` (a joint constraint such as ``a <= b`` leaves part
        of the box empty, so even a perfect constrained sample scores above it). Frames above
        4096 rows are scored on a seeded 4096-row subsample.

    The returned frame's ``attrs`` hold ``discrepancy``, ``discrepancy_random`` (the expected
    value for as many independent uniform rows), ``discrepancy_columns`` and
    ``discrepancy_rows``.

    Examples
    --------
    >>> from infinityframe.local.generators import get
    >>> spec = GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())
    >>> table = coverage(pd.DataFrame({"num_objects": [1, 10], "background": ["PLAIN", "PLAIN"]}), spec)
    >>> table[["parameter", "kind", "range_covered"]].values.tolist()
    [['num_objects', 'integer', 0.47368421052631576], ['background', 'fixed', 0.3333333333333333]]
    >>> table.missing_choices[1]
    ['GRADIENT', 'NOISE']
    """
    rows: list[dict[str, Any]] = []
    numeric: list[str] = []
    for name in df.columns:
        if name not in spec:
            continue
        param, values = spec[name], df[name]
        present = values.dropna()
        n_unique = int(present.nunique())
        kind = _kind(param, n_unique)
        covered, missing = math.nan, None
        allowed = _allowed(param)
        if allowed is not None:
            seen = set(present.tolist())
            missing = [v for v in allowed if v not in seen]
            covered = (len(allowed) - len(missing)) / len(allowed)
        elif param.ranged:
            span = float(param.max) - float(param.min)  # type: ignore[arg-type]
            x = pd.to_numeric(present, errors="coerce").dropna()
            if len(x):
                covered = 1.0 if span <= 0 else min(max((float(x.max()) - float(x.min())) / span, 0.0), 1.0)
            else:
                covered = 0.0
            if kind in ("continuous", "integer"):
                numeric.append(name)
        rows.append({"parameter": name, "type": param.type, "kind": kind, "n_unique": n_unique,
                     "range_covered": covered, "missing_choices": missing, "discrepancy": math.nan})
    table = pd.DataFrame(rows, columns=["parameter", "type", "kind", "n_unique", "range_covered",
                                        "missing_choices", "discrepancy"])
    value, expected, used = _discrepancy(df, spec, numeric)
    if numeric:
        table.loc[table.parameter.isin(numeric), "discrepancy"] = value
    table.attrs.update(discrepancy=value, discrepancy_random=expected, discrepancy_columns=numeric,
                       discrepancy_rows=used)
    return table


def _discrepancy(df: pd.DataFrame, spec: GeneratorSpec, names: list[str]) -> tuple[float, float, int]:
    if not names:
        return math.nan, math.nan, 0
    points = np.column_stack([_unit(df[name], spec[name]) for name in names])
    points = points[~np.isnan(points).any(axis=1)]
    if len(points) > MAX_DISCREPANCY_ROWS:
        keep = np.random.default_rng(0).choice(len(points), MAX_DISCREPANCY_ROWS, replace=False)
        points = points[np.sort(keep)]
    m, d = points.shape
    if m == 0:
        return math.nan, math.nan, 0
    # E[CD²] for m independent uniform points in d dimensions: ((5/4)^d − (13/12)^d) / m.
    expected = ((5 / 4) ** d - (13 / 12) ** d) / m
    return float(qmc.discrepancy(points, method="CD")), expected, m
