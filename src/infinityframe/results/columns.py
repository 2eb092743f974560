"""Typed columns: JSON values in, numpy arrays per job, one Arrow column per table out.

A job's reader turns each field into a :data:`Column`: a numpy array (numbers, booleans, or
``object`` text for paths and messages) or a :class:`Cat` (codes into a short list of strings,
for the repeated strings that become pandas ``category`` / polars ``Categorical``). The table
builder concatenates the columns of every job once, at the end, with :func:`concat`.

Examples
--------
>>> scalar_column([1, 2, 3]).dtype
dtype('int64')
>>> scalar_column([1, None, 2.5])
array([1. , nan, 2.5])
>>> c = scalar_column(["a", "b", "a"]); c.categories, c.codes.tolist()
(['a', 'b'], [0, 1, 0])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, Union

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = ["Cat", "Column", "cat_from_values", "concat", "repeat", "repeat_cat", "scalar_column", "to_arrow"]

_NONE = type(None)


@dataclass(frozen=True)
class Cat:
    """Repeated strings as ``codes`` (``int32``, -1 = missing) into ``categories``.

    Examples
    --------
    >>> Cat(np.array([0, 0, -1], dtype=np.int32), ["person"]).tolist()
    ['person', 'person', None]
    """

    codes: NDArray[np.int32]
    categories: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, index: NDArray[np.intp]) -> Cat:
        """The values at ``index``, sharing the categories."""
        return Cat(self.codes[index], self.categories)

    def tolist(self) -> list[str | None]:
        """The values as Python strings (``None`` where missing)."""
        return [self.categories[c] if c >= 0 else None for c in self.codes.tolist()]


Column: TypeAlias = Union[NDArray[Any], Cat]  # noqa: UP007 (a runtime alias: py3.10's `|` on GenericAlias)


def cat_from_values(values: Iterable[Any], count: int) -> Cat:
    """A :class:`Cat` of ``count`` values, categories in order of first appearance; ``None`` is missing."""
    mapping: dict[str, int] = {}
    codes = np.fromiter((-1 if v is None else mapping.setdefault(str(v), len(mapping)) for v in values),
                        dtype=np.int32, count=count)
    return Cat(codes, list(mapping))


def repeat_cat(names: Sequence[str], times: int) -> Cat:
    """``names`` repeated ``times`` times, as one categorical column (keypoint names per object)."""
    return Cat(np.tile(np.arange(len(names), dtype=np.int32), times), list(names))


def scalar_column(values: list[Any]) -> Column | None:
    """A typed column from JSON scalars, or ``None`` when the values are lists or objects.

    Integers stay ``int64`` (``float64`` with NaN when some are missing), numbers ``float64``
    (exactly the parsed floats), booleans ``bool``, strings a :class:`Cat`. Booleans with gaps
    become ``float64`` 1/0/NaN, which still averages and plots; anything mixed becomes text.
    """
    kinds = set(map(type, values))
    if kinds <= {int}:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:  # beyond int64: keep the magnitude rather than fail the job
            return np.array(values, dtype=np.float64)
    if kinds <= {int, float}:
        return np.array(values, dtype=np.float64)
    if kinds == {bool}:
        return np.array(values, dtype=bool)
    if kinds & {list, dict}:
        return None
    if kinds == {_NONE} or kinds <= {str, _NONE}:
        # All-missing stays text-typed so that `state` (a job id or null) keeps one type in every batch.
        return cat_from_values(values, len(values))
    if kinds <= {int, float, bool, _NONE}:
        return np.array(values, dtype=np.float64)  # numpy reads None as NaN for float arrays
    return cat_from_values(values, len(values))


def _union_cats(pieces: Sequence[Cat | None], lengths: Sequence[int]) -> pa.DictionaryArray:
    index: dict[str, int] = {}
    chunks: list[NDArray[np.int32]] = []
    for piece, n in zip(pieces, lengths, strict=True):
        if piece is None:
            chunks.append(np.full(n, -1, dtype=np.int32))
            continue
        remap = np.array([index.setdefault(c, len(index)) for c in piece.categories] + [-1], dtype=np.int32)
        # code -1 indexes the trailing -1, so missing stays missing without a branch
        chunks.append(remap[piece.codes])
    codes = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int32)
    missing = codes < 0
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(index), type=pa.string()))


def _as_cat(piece: Column) -> Cat:
    if isinstance(piece, Cat):
        return piece
    if piece.dtype == object:
        return cat_from_values(piece.tolist(), len(piece))
    return cat_from_values((str(v) for v in piece.tolist()), len(piece))


def concat(pieces: Sequence[Column | None], lengths: Sequence[int], *, text: bool = False) -> pa.Array:
    """One Arrow column from each job's piece (``None`` where the job lacks the field).

    ``text`` columns (paths, problems) become plain strings; any piece that is a :class:`Cat`
    makes a dictionary (categorical) column; otherwise numbers of the widest dtype with nulls
    where a job lacked the field.

    Examples
    --------
    >>> concat([np.array([1, 2]), None], [2, 1]).to_pylist()
    [1, 2, None]
    >>> concat([np.array([0.5, np.nan])], [2]).to_pylist()
    [0.5, None]
    """
    present = [p for p in pieces if p is not None and len(p)]
    if text:
        values: list[Any] = []
        for piece, n in zip(pieces, lengths, strict=True):
            if piece is None:
                values.extend([None] * n)
            else:
                values.extend(piece.tolist())
        return pa.array(values, type=pa.string())
    if any(isinstance(p, Cat) or p.dtype == object for p in present):
        return _union_cats([None if p is None else _as_cat(p) for p in pieces], lengths)
    numeric = [p for p in present if isinstance(p, np.ndarray)]
    if not numeric:
        return pa.nulls(sum(lengths), type=pa.float64())
    dtype = np.result_type(*[p.dtype for p in numeric])
    absent = [not isinstance(piece, np.ndarray) for piece in pieces]
    arrays = [piece.astype(dtype, copy=False) if isinstance(piece, np.ndarray) else np.zeros(n, dtype=dtype)
              for piece, n in zip(pieces, lengths, strict=True)]
    data = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    gaps = any(a and n for a, n in zip(absent, lengths, strict=True))
    mask = np.repeat(np.array(absent), lengths) if gaps else None
    return _numeric_array(data, mask)


def _numeric_array(data: NDArray[Any], mask: NDArray[Any] | None) -> pa.Array:
    """Numbers as Arrow, null where ``mask`` is set or the number is NaN."""
    if data.dtype.kind == "f":
        # JSON has no NaN, so every NaN here marks a missing value: make it a null, as in polars
        nan = np.isnan(data)
        if nan.any():
            mask = nan if mask is None else mask | nan
    return pa.array(data, mask=mask) if mask is not None else pa.array(data)


def repeat(column: Column, lengths: NDArray[np.int64]) -> pa.Array:
    """A job-level column (one value per job) as Arrow, each job's value repeated ``lengths`` times.

    Strings repeat as their dictionary codes and numbers as numbers: nothing is converted or
    looked up per row, which matters for parameters repeated on every keypoint row.

    Examples
    --------
    >>> repeat(np.array([1.5, np.nan]), np.array([2, 1])).to_pylist()
    [1.5, 1.5, None]
    >>> repeat(Cat(np.array([1, -1], dtype=np.int32), ["a", "b"]), np.array([1, 2])).to_pylist()
    ['b', None, None]
    """
    if isinstance(column, Cat):
        codes = np.repeat(column.codes, lengths)
        missing = codes < 0
        indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
        return pa.DictionaryArray.from_arrays(indices, pa.array(column.categories, type=pa.string()))
    if column.dtype == object:
        return concat([np.repeat(column, lengths)], [int(lengths.sum())])
    data = np.repeat(column, lengths)
    if column.dtype.kind == "f" and np.isnan(column).any():
        return pa.array(data, mask=np.repeat(np.isnan(column), lengths))
    return pa.array(data)


def to_arrow(column: Column, *, text: bool = False) -> pa.Array:
    """One job-level column as Arrow (same rules as :func:`concat`)."""
    return concat([column], [len(column)], text=text)
