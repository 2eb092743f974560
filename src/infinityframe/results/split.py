"""Leakage-free train/val/test splits of :class:`~infinityframe.results.Results`.

A split is made over *groups* (by default jobs): every row of every table whose ``by`` value
is the same lands in the same split, so frames of one video never end up in both train and test.

Examples
--------
>>> res = inf.read_results("batch/")                      # two jobs
>>> parts = res.split({"train": .5, "test": .5}, by="job_id", seed=0)
>>> parts.objects.groupby("split", observed=True).size().tolist()   # each job's rows in one split
[1, 1]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .core import Results

__all__ = ["ROW_KEYS", "split"]

TABLE_ORDER = ("jobs", "frames", "objects", "keypoints")
#: The columns that identify one row of each table (finer tables extend coarser ones).
ROW_KEYS: dict[str, list[str]] = {
    "jobs": ["batch_id", "job_id"],
    "frames": ["batch_id", "job_id", "frame"],
    "objects": ["batch_id", "job_id", "frame", "object_id"],
    "keypoints": ["batch_id", "job_id", "frame", "object_id", "kind", "keypoint_index"],
}
_TOLERANCE = 1e-9


def split(results: Results, fractions: Mapping[str, float], *, by: str | Sequence[str] = "job_id", seed: int = 0,
          stratify: str | None = None) -> Results:
    """Assign every row of every table to a split, keeping groups of rows together.

    Groups are the distinct values of ``by``. They are sorted, shuffled with
    ``np.random.default_rng(seed)`` and dealt out so that each split holds as close as possible
    to its fraction of the groups (largest-remainder rounding of ``fraction * number of groups``;
    when that would leave a split empty, one group is moved to it from the largest split). With
    ``stratify``, this is done separately within each value of that column (every group must have
    a single value of it), so each value is spread over the splits in the same proportions.

    The result has a ``split`` column (categorical, categories = the keys of ``fractions`` in
    order) in all four tables. A table that lacks the ``by`` columns gets its split through its
    row keys: e.g. with ``by="frame"`` a job's split is its frames' split when they all agree,
    and missing when they do not. An existing ``split`` column is replaced.

    Parameters
    ----------
    results : Results
        The results to split (not modified).
    fractions : mapping of str to float
        Split name to fraction of the groups; positive, summing to 1.
    by : str or sequence of str
        The column(s) whose values form the groups: ``"job_id"`` (default), a parameter such as
        ``"avatar_identity"``, or a list of columns. A key finer than the job (``"frame"``,
        ``"object_id"``) puts frames of one job in several splits; a :class:`UserWarning` says so.
    seed : int
        Seed of the shuffle; the same seed gives the same split.
    stratify : str, optional
        A column (typically a job parameter) within whose values the groups are split.

    Returns
    -------
    Results
        New results, in the input's backend, with a ``split`` column in every table.

    Raises
    ------
    ValueError
        When the fractions are not positive or do not sum to 1, a column is missing, there are
        fewer groups than splits, or a group has several values of ``stratify``.

    Examples
    --------
    >>> parts = split(res, {"train": .5, "test": .5}, by="job_id", seed=0)
    >>> sorted(parts.jobs["split"].astype(str))
    ['test', 'train']
    >>> by_scene = split(res, {"train": .5, "test": .5}, by="scene")   # a scene never straddles two splits
    """
    names = _check_fractions(fractions)
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise ValueError("by must name at least one column")
    pandas_res = results.to_backend("pandas")
    tables: dict[str, pd.DataFrame] = {
        name: (frame.drop(columns="split") if "split" in frame.columns else frame)
        for name, frame in ((n, getattr(pandas_res, n)) for n in TABLE_ORDER)
    }
    needed = [*by_cols, *([stratify] if stratify is not None else [])]
    base = next((name for name in TABLE_ORDER if all(c in tables[name].columns for c in needed)), None)
    if base is None:
        raise ValueError(f"no table has all of the columns {needed}; by and stratify must be columns of one table "
                         "(job parameters are in every table)")
    assignment = _assign(tables[base], by_cols, names, fractions, seed, stratify)
    base_codes = _lookup(tables[base], by_cols, assignment)
    codes = {base: base_codes}
    for name in TABLE_ORDER:
        if name == base:
            continue
        if all(c in tables[name].columns for c in by_cols):
            codes[name] = _lookup(tables[name], by_cols, assignment)
        else:
            coarser = name if TABLE_ORDER.index(name) < TABLE_ORDER.index(base) else base
            codes[name] = _through_keys(tables[name], tables[base], base_codes, ROW_KEYS[coarser])
    if base != "jobs":
        _warn_leakage(tables[base], base_codes, by_cols)
    out = {name: frame.assign(split=pd.Categorical.from_codes(codes[name], categories=names))
           for name, frame in tables.items()}
    # The results' own class builds the answer: split depends on the Results it is given, not on core.
    return type(results)(out, path=results.path, backend="pandas").to_backend(results.backend)


def _check_fractions(fractions: Mapping[str, float]) -> list[str]:
    names = [str(name) for name in fractions]
    if not names:
        raise ValueError("fractions must name at least one split, e.g. {'train': .8, 'val': .1, 'test': .1}")
    if len(set(names)) != len(names):
        raise ValueError(f"split names must be distinct: {names}")
    values = [float(v) for v in fractions.values()]
    bad = {n: v for n, v in zip(names, values, strict=True) if not (math.isfinite(v) and v > 0)}
    if bad:
        raise ValueError(f"fractions must be positive numbers; got {bad}")
    total = math.fsum(values)
    if abs(total - 1.0) > _TOLERANCE:
        raise ValueError(f"fractions must sum to 1; {dict(zip(names, values, strict=True))} sums to {total!r}")
    return names


def _plain(frame: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """The columns ``cols`` with categoricals as plain values, so tables with different categories merge."""
    return pd.DataFrame({c: (frame[c].astype(object) if isinstance(frame[c].dtype, pd.CategoricalDtype)
                             else frame[c]) for c in cols}).reset_index(drop=True)


def _apportion(n: int, fractions: Sequence[float]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Largest-remainder rounding of ``n * fractions`` (ties go to the earlier split)."""
    quotas = np.asarray(fractions, dtype=float) * n
    counts = np.floor(quotas).astype(np.int64)
    remainders = quotas - counts
    order = sorted(range(len(counts)), key=lambda i: (-remainders[i], i))
    for i in order[: n - int(counts.sum())]:
        counts[i] += 1
    result: np.ndarray[Any, np.dtype[np.int64]] = counts
    return result


def _assign(base: pd.DataFrame, by_cols: list[str], names: list[str], fractions: Mapping[str, float], seed: int,
            stratify: str | None) -> pd.DataFrame:
    """One row per group (the ``by`` columns) with its split code in ``_code``."""
    cols = [*by_cols, *([stratify] if stratify is not None and stratify not in by_cols else [])]
    groups = _plain(base, cols).drop_duplicates()
    if stratify is not None and stratify not in by_cols:
        per_group = groups.groupby(by_cols, dropna=False, sort=False)[stratify].nunique(dropna=False)
        if (per_group > 1).any():
            raise ValueError(f"stratify={stratify!r} must have one value per group of by={by_cols}; "
                             f"{int((per_group > 1).sum())} group(s) have several")
    groups = groups.sort_values(cols, na_position="last", kind="stable").reset_index(drop=True)
    n = len(groups)
    if n < len(names):
        raise ValueError(f"cannot split {n} group(s) of by={by_cols} into {len(names)} splits {names}: "
                         "need at least one group per split")
    rng = np.random.default_rng(seed)
    shares = [float(fractions[name]) for name in names]
    code = np.full(n, -1, dtype=np.int64)
    strata = [np.arange(n)] if stratify is None else [
        np.asarray(members) for _, members in sorted(groups.groupby(stratify, dropna=False, sort=False).indices.items(),
                                                     key=lambda item: (pd.isna(item[0]), str(item[0])))
    ]
    for members in strata:
        shuffled = members[rng.permutation(len(members))]
        code[shuffled] = np.repeat(np.arange(len(names)), _apportion(len(members), shares))
    counts = np.bincount(code, minlength=len(names))
    for empty in np.flatnonzero(counts == 0):
        donor = int(np.argmax(counts))
        moved = np.flatnonzero(code == donor)[-1]
        code[moved] = empty
        counts[donor] -= 1
        counts[empty] += 1
    return groups[by_cols].assign(_code=code).drop_duplicates(subset=by_cols)


def _lookup(frame: pd.DataFrame, by_cols: list[str], assignment: pd.DataFrame) -> np.ndarray[Any, Any]:
    merged = _plain(frame, by_cols).merge(assignment, on=by_cols, how="left", sort=False)
    codes: np.ndarray[Any, Any] = merged["_code"].fillna(-1).to_numpy(dtype=np.int64)
    return codes


def _through_keys(frame: pd.DataFrame, base: pd.DataFrame, base_codes: np.ndarray[Any, Any],
                  keys: list[str]) -> np.ndarray[Any, Any]:
    """Codes for ``frame`` from the base table's codes, joined on ``keys`` (−1 where they disagree)."""
    linked = _plain(base, keys).assign(_code=base_codes)
    agreed = linked.groupby(keys, dropna=False, sort=False)["_code"].agg(["min", "max"]).reset_index()
    agreed["_code"] = np.where(agreed["min"] == agreed["max"], agreed["min"], -1)
    merged = _plain(frame, keys).merge(agreed[[*keys, "_code"]], on=keys, how="left", sort=False)
    codes: np.ndarray[Any, Any] = merged["_code"].fillna(-1).to_numpy(dtype=np.int64)
    return codes


def _warn_leakage(base: pd.DataFrame, base_codes: np.ndarray[Any, Any], by_cols: list[str]) -> None:
    jobs = _plain(base, ROW_KEYS["jobs"]).assign(_code=base_codes)
    spread = jobs.groupby(ROW_KEYS["jobs"], dropna=False, sort=False)["_code"].nunique()
    leaking, total = int((spread > 1).sum()), len(spread)
    warnings.warn(f"by={by_cols} is finer than the job: frames of one job can land in several splits "
                  f"(leakage between splits); {leaking} of {total} job(s) are in more than one split. "
                  "Split by 'job_id' or a job parameter to keep each job in one split.", UserWarning, stacklevel=3)
