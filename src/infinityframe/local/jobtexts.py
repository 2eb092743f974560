"""A batch's jobs' parameters as the JSON text the service stores, encoded by column.

The service keeps each job's parameters (completed and converted) as JSON text: what ``GET``
answers, what a job's render seed is hashed from, byte for byte what ``orjson.dumps`` of the
job's dictionary gives. A batch POST needs them only by column: each column is encoded once
(:attr:`EncodedJobs.body`, what the accepting transaction stores and the request hash digests);
the text of every job is made from the columns when it is needed (:meth:`EncodedJobs.job_texts`:
the 201 reply, the expansion into job rows), by polars' JSON writer when every column is plain
(one type of number, bool or string, and nulls) and by one template otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import orjson

from .generators.base import JobError, encoded_params

__all__ = ["EncodedJobs", "encoded_columns", "split_lines"]

_FLAT = frozenset((int, float, bool, type(None)))


class EncodedJobs:
    """A batch's jobs' parameters by column, each column encoded once as JSON.

    Build it with :meth:`of` (which refuses a value JSON cannot hold) or :meth:`from_body`.

    Examples
    --------
    >>> jobs = EncodedJobs.of({"n": [1, 2.5], "s": ["a,b", None]}, 2)
    >>> jobs.body
    b'{"n":[1,2.5],"s":["a,b",null]}'
    >>> jobs.job_texts()
    [b'{"n":1,"s":"a,b"}', b'{"n":2.5,"s":null}']
    >>> EncodedJobs.from_body(jobs.body, 2).job_texts() == jobs.job_texts()
    True
    """

    def __init__(self, columns: Mapping[str, Sequence[Any]], texts: Sequence[bytes] | None, jobs: int,
                 arrays: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        self.columns, self.jobs, self.arrays = dict(columns), jobs, arrays
        self._texts = None if texts is None else list(texts)

    @property
    def texts(self) -> list[bytes]:
        """Each column as the JSON array orjson writes (encoded when first asked, if not given)."""
        if self._texts is None:
            self._texts = [orjson.dumps(column) for column in self.columns.values()]
        return self._texts

    @classmethod
    def of(cls, columns: Mapping[str, Sequence[Any]], jobs: int,
           arrays: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> EncodedJobs:
        """``jobs`` jobs given by column (each column that long); raises ``orjson.JSONEncodeError``
        for a value JSON cannot hold (an integer past 64 bits).

        ``arrays`` may hold the same columns as numpy (values, and where a value is present: the
        others are null), as the checks convert them: polars reads those without a copy.
        """
        return cls(columns, [orjson.dumps(column) for column in columns.values()], jobs, arrays)

    @classmethod
    def from_body(cls, body: bytes, jobs: int) -> EncodedJobs:
        """The jobs a :attr:`body` holds (``jobs`` of them), each column encoded again only if asked."""
        return cls(orjson.loads(body), None, jobs)

    @cached_property
    def body(self) -> bytes:
        """Every column as one JSON object, the parameters in their order: ``{"name": [cells…], …}``."""
        return b"".join(self.body_parts())

    def body_parts(self) -> list[bytes]:
        """:attr:`body` in the pieces it is joined from (each column's text one of them): what is
        digested or stored with a prefix needs no copy of the whole joined first."""
        parts: list[bytes] = []
        for name, text in zip(self.columns, self.texts, strict=True):
            parts += (b"," if parts else b"{", orjson.dumps(name), b":", text)
        return [*parts, b"}"] if parts else [b"{}"]

    def job_texts(self) -> list[bytes]:
        """Each job's parameters as the JSON text the service stores (JSON text holds no raw newline)."""
        if not self.columns or not self.jobs:
            return [b"{}"] * self.jobs
        lines = self.lines
        return _formatted(self.columns, self.texts) if lines is None else split_lines(lines)

    @cached_property
    def frame(self) -> Any:
        """The jobs as a polars DataFrame whose JSON writer writes each as orjson does, or ``None``
        when a column is not plain (mixed or nested values, a float that is not finite) or polars
        would write the first job otherwise than orjson: then only :meth:`job_texts` has them."""
        if not self.columns or not self.jobs:
            return None
        frame = _frame(self.columns, self.arrays)
        if frame is None or _json_lines(frame.head(1))[0].encode() != orjson.dumps(
                {name: column[0] for name, column in self.columns.items()}):
            return None
        return frame

    @cached_property
    def lines(self) -> Any:
        """Each job's text as a polars String Series (polars' JSON writer), or ``None`` (:attr:`frame`)."""
        return None if self.frame is None else _json_lines(self.frame)

    def lines_between(self, start: int, stop: int) -> Any:
        """:attr:`lines` of jobs ``start`` to ``stop`` (not included), or ``None`` (:attr:`frame`)."""
        return None if self.frame is None else _json_lines(self.frame.slice(start, stop - start))


def _plain_dtype(column: Sequence[Any]) -> Any:
    """The polars dtype that writes ``column`` as orjson does, or ``None`` (mixed or nested values,
    a float that is not finite)."""
    import polars as pl

    types = set(map(type, column))
    types.discard(type(None))
    if not types:
        return pl.Null
    if len(types) > 1:
        return None
    kind = types.pop()
    if kind is float:
        return pl.Float64 if all(map(math.isfinite, filter(None, column))) else None
    return {int: pl.Int64, bool: pl.Boolean, str: pl.String}.get(kind)


def _series(name: str, column: Sequence[Any], array: tuple[np.ndarray, np.ndarray] | None) -> Any:
    """``column`` as a polars Series written as orjson writes it, or ``None``."""
    import polars as pl

    if array is not None and array[0].dtype.kind in "fib":  # numbers and bools, read from numpy
        values, present = array
        if values.dtype.kind == "f" and not np.isfinite(values[present]).all():
            return None
        series = pl.Series(name, values)
        if present.all():
            return series
        if not present.any():
            return pl.Series(name, [None] * len(values), dtype=pl.Null)
        return series.scatter(np.flatnonzero(~present), None)
    dtype = _plain_dtype(column)
    if dtype is None:
        return None
    try:
        return pl.Series(name, column, dtype=dtype, strict=True)
    except (OverflowError, TypeError, ValueError, pl.exceptions.PolarsError):  # an int past 64 bits
        return None


def _frame(columns: Mapping[str, Sequence[Any]], arrays: Mapping[str, tuple[np.ndarray, np.ndarray]] | None) -> Any:
    """The columns as a polars DataFrame written as orjson writes them, or ``None``."""
    import polars as pl

    series = []
    for name, column in columns.items():
        one = _series(name, column, None if arrays is None else arrays.get(name))
        if one is None:
            return None
        series.append(one)
    return pl.DataFrame(series)


def _json_lines(frame: Any) -> Any:
    """Each row of ``frame`` as JSON text (a String Series)."""
    return frame.select(frame.to_struct("params").struct.json_encode()).to_series()


def split_lines(lines: Any) -> list[bytes]:
    """A String Series of one-line texts as a list of bytes (joined and split in C)."""
    import polars as pl

    text: bytes = lines.str.join("\n").cast(pl.Binary).item()  # bytes from polars' buffer: no str to encode
    return text.split(b"\n")


def _written_by_polars(columns: Mapping[str, Sequence[Any]], jobs: int,
                       arrays: Mapping[str, tuple[np.ndarray, np.ndarray]] | None) -> list[bytes] | None:
    """Each job's text written by polars (:attr:`EncodedJobs.lines`); ``None`` when polars cannot."""
    lines = EncodedJobs(columns, None, jobs, arrays).lines
    return None if lines is None else split_lines(lines)


def _cells(column: Sequence[Any], text: bytes) -> list[bytes]:
    """Each cell of a column as orjson writes it, from the column's JSON array ``text``."""
    types = set(map(type, column))
    if types <= _FLAT:  # numbers, bools, nulls: no comma inside any of them
        cells = text[1:-1].split(b",")
        if len(cells) == len(column):
            return cells
    if types == {str}:  # a column of choices: each distinct value encoded once
        encoded = {value: orjson.dumps(value) for value in set(column)}
        return [encoded[value] for value in column]
    return [orjson.dumps(cell) for cell in column]


def _formatted(columns: Mapping[str, Sequence[Any]], texts: Sequence[bytes]) -> list[bytes]:
    """Each job's text formatted from one template with its cells."""
    cells = [_cells(column, text) for column, text in zip(columns.values(), texts, strict=True)]
    template = b"{" + b",".join(orjson.dumps(name).replace(b"%", b"%%") + b":%s" for name in columns) + b"}"
    return [template % row for row in zip(*cells, strict=True)]


def encoded_columns(columns: Mapping[str, Sequence[Any]], jobs: int) -> tuple[list[bytes], list[JobError]]:
    """:func:`~infinityframe.local.generators.base.encoded_params` of ``jobs`` jobs given by
    column (each column that long), the same texts byte for byte, without a dictionary per job
    (:class:`EncodedJobs`).

    >>> encoded_columns({"n": [1, 2.5], "s": ["a,b", None]}, 2)[0]
    [b'{"n":1,"s":"a,b"}', b'{"n":2.5,"s":null}']
    """
    try:
        return EncodedJobs.of(columns, jobs).job_texts(), []
    except orjson.JSONEncodeError:  # a value JSON cannot hold: the job-by-job path names it
        names = list(columns)
        return encoded_params([dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)])
