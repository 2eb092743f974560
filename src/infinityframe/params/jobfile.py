"""Jobs from a file: a CSV read with the generator's types, or a parquet file as it is.

A CSV has no types, so each cell of a parameter's column is read as that parameter's type
(:func:`.cells.read_text`). What a cell means:

- an empty cell (or a parameter without a column) takes the parameter's default;
- ``nan`` in any case is a missing value written out, not a default: in a parameter whose
  default is null (``state``) it is that null; anywhere else the job is invalid, so a sheet
  that lost a value is never rendered with the default in its place;
- a cell that cannot be read as its type stays as its text, for validation to refuse.

Nothing here judges a job: validation does, for the whole file at once, and
:meth:`JobFile.located` puts each failure (worded as ``df.infinity.errors()`` words it) after
the CSV line it is on. Only what stops the file being read at all (missing, not CSV or
parquet, not text, empty, a row longer than the header) raises :class:`JobFileError`.

>>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
>>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3), ParamSpec("on", "bool", False)))
>>> path = Path(getfixture("tmp_path")) / "jobs.csv"
>>> _ = path.write_text("n,on\\n2,yes\\n,\\n9,maybe\\n")
>>> found = read_job_file(path, spec)
>>> found.jobs["n"].tolist(), found.lines
([2, 1, 9], (2, 3, 4))
>>> from infinityframe.params.schema import failure_cases
>>> for line in found.located(failure_cases(found.jobs, spec)):
...     print(line)  # doctest: +ELLIPSIS
line 4: row 2, n: must be between 1 and 3 (inclusive), got 9
line 4: row 2, on: must be True or False (...), got 'maybe' (a cell of text reads 1, t, true, y or yes as True ...)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InfinityError, ValidationError
from .cells import read_text
from .report import cell_note, written_nan
from .sampling import with_defaults
from .spec import GeneratorSpec

__all__ = ["SUFFIXES", "JobFile", "JobFileError", "read_job_file", "read_jobs"]

SUFFIXES = (".csv", ".parquet", ".pq")


class JobFileError(InfinityError):
    """The file cannot be read as jobs at all: missing, neither CSV nor parquet, not text, empty."""


@dataclass(frozen=True)
class JobFile:
    """The jobs a file holds and where each came from.

    Attributes
    ----------
    path : Path
    jobs : pandas.DataFrame
        One row per job (a ``RangeIndex``), every parameter present; a CSV's cells typed, its
        unreadable cells kept as text, its ``nan`` cells NaN (see the module docstring).
    lines : tuple of int or None
        The CSV line each row starts on (the header is line 1); ``None`` for parquet.
    texts : dict
        ``(row, column) → text`` of the CSV cells that were not read as their type: the
        unreadable ones and those spelling ``nan``.
    notes : dict
        ``(row, column) → note`` shown after such a cell's message (:func:`.report.cell_note`).
    """

    path: Path
    jobs: pd.DataFrame
    lines: tuple[int, ...] | None = None
    texts: dict[tuple[int, str], str] = field(default_factory=dict)
    notes: dict[tuple[int, str], str] = field(default_factory=dict)

    def where(self, row: Any) -> str:
        """``"line 7"`` for a CSV row, ``""`` for parquet or a whole-column problem (row -1)."""
        if self.lines is None or not isinstance(row, (int, np.integer)) or not 0 <= int(row) < len(self.lines):
            return ""
        return f"line {self.lines[int(row)]}"

    def located(self, failures: pd.DataFrame) -> list[str]:
        """Each failure's message after the CSV line it is on, with its cell's note if it has one."""
        shown = []
        for row, column, message in zip(failures["row"], failures["column"], failures["message"], strict=True):
            where = self.where(row)
            note = self.notes.get((int(row), str(column)), "") if where else ""
            shown.append(f"{where + ': ' if where else ''}{message}{f' ({note})' if note else ''}")
        return shown


def _records(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the rows and the line each row starts on; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise JobFileError(f"{path.name} is not UTF-8 text (byte {err.start}): save the CSV as UTF-8.") from None
    except OSError as err:
        raise JobFileError(f"cannot read {path}: {err.strerror or err}") from None
    if not text.strip():
        raise JobFileError(f"{path.name} is empty: a jobs CSV starts with a header line naming the parameters, "
                           "then holds one line per job.")
    reader = csv.reader(text.splitlines(keepends=True), skipinitialspace=True, strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            if record and (len(record) > 1 or record[0].strip()):  # pandas skips blank lines too
                records.append(record)
                starts.append(start)
    except csv.Error as err:
        raise JobFileError(f"{path.name} line {reader.line_num} is not valid CSV: {err}.") from None
    header, rows, lines = records[0], records[1:], starts[1:]
    too_long = [f"line {line} has {len(row)} cells" for row, line in zip(rows, lines, strict=True)
                if len(row) > len(header)]
    if too_long:
        shown = "; ".join(too_long[:10]) + (f"; … and {len(too_long) - 10} more" if len(too_long) > 10 else "")
        raise JobFileError(f"{path.name}: the header (line {starts[0]}) names {len(header)} columns, but {shown}.")
    return [cell.strip() for cell in header], rows, lines


def read_job_file(path: Path, spec: GeneratorSpec) -> JobFile:
    """The jobs of a CSV or parquet file, ready for validation (see the module docstring).

    Raises
    ------
    JobFileError
        The file is missing, neither ``.csv`` nor ``.parquet``, not UTF-8, empty, has no jobs,
        or has a row with more cells than its header.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise JobFileError(f"{path.name}: jobs must be a .csv or .parquet file, not "
                           f"{suffix or 'a file without suffix'}.")
    if not path.is_file():
        raise JobFileError(f"no such file: {path}")
    if suffix != ".csv":
        try:
            jobs = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise JobFileError(f"{path.name} is not a readable parquet file: {err}") from None
        if jobs.empty:
            raise JobFileError(f"{path.name} holds no jobs.")
        return JobFile(path, jobs.reset_index(drop=True))
    header, rows, lines = _records(path)
    if not rows:
        raise JobFileError(f"{path.name} has a header but no jobs: add one line per job below it.")
    width = len(header)
    # A leading unnamed column is the index that DataFrame.to_csv() writes.
    first = 1 if header and header[0] == "" else 0
    columns: list[Any] = []
    texts: dict[tuple[int, str], str] = {}
    notes: dict[tuple[int, str], str] = {}
    nan_cells: list[tuple[int, int]] = []
    for position in range(first, width):
        label = header[position]
        cells = [row[position] if position < len(row) else "" for row in rows]
        if label not in spec:
            columns.append(pd.Series(cells, dtype=object))
            continue
        param = spec[label]
        values: list[Any] = []
        for i, cell in enumerate(cells):
            text = cell if param.type == "str" else cell.strip()
            if cell.strip() == "":
                values.append(None)
            elif written_nan(cell):
                values.append(None)  # null here; NaN after the defaults, where null is not allowed
                if not param.nullable:
                    nan_cells.append((i, len(columns)))
                    texts[(i, label)] = cell
                    notes[(i, label)] = cell_note(param, cell)
            else:
                try:
                    values.append(read_text(text, param.type))
                except ValueError:
                    values.append(text)  # validation words what is wrong with it, as errors() does
                    texts[(i, label)] = cell
                    if note := cell_note(param, cell):
                        notes[(i, label)] = note
        columns.append(pd.Series(values, dtype=object))
    labels = header[first:]
    frame = pd.concat(columns, axis=1, ignore_index=True) if columns else pd.DataFrame(index=range(len(rows)))
    frame.columns = pd.Index(labels, dtype=object)
    unique = frame.columns.is_unique
    jobs = with_defaults(frame, spec) if unique else frame
    if nan_cells:
        jobs = jobs.astype({labels[pos]: object for _, pos in nan_cells}) if unique else jobs
        for row, pos in nan_cells:
            jobs.iloc[row, pos] = np.nan
    return JobFile(path, jobs, tuple(lines), texts, notes)


def read_jobs(path: Path, spec: GeneratorSpec) -> pd.DataFrame:
    """A job frame from a CSV or parquet file; every CSV cell not read as its type is an error.

    A CSV's cells are read with the generator's parameter types (see the module docstring);
    empty cells and missing parameters take their defaults. Other columns stay text.

    Raises
    ------
    JobFileError
        The file cannot be read as jobs (see :func:`read_job_file`).
    ValidationError
        Cells that are not their parameter's type or spell ``nan``: every one, each after its
        CSV line, worded as ``df.infinity.errors()`` words it (in ``.failure_cases`` too).
    """
    from .schema import failure_cases

    found = read_job_file(path, spec)
    if not found.texts:
        return found.jobs
    failures = failure_cases(found.jobs, spec)
    keys = list(zip(failures["row"].astype(int), failures["column"].astype(str), strict=True))
    bad = failures[[key in found.texts for key in keys]].reset_index(drop=True)
    shown = found.located(bad)
    raise ValidationError(f"{found.path.name}: {len(shown)} cell(s) not read as their parameter's type:\n"
                          + "\n".join(shown), failure_cases=bad)
