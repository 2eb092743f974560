"""A self-contained HTML report: headings, text, tables and figures in one file.

Figures are embedded as base64 ``data:`` URIs and the styles are inline, so the file needs
nothing else: it can be mailed, attached to a ticket or opened offline. Its Content Security
Policy forbids loading anything from elsewhere.

Examples
--------
>>> from infinityframe.report import Section, write_report
>>> write_report("report.html", "Lighting sweep", [                               # doctest: +SKIP
...     Section("Effect", text="Frames brighten with more light.",
...             figures={"brightness": res.plot("lighting_power", "mean_image_brightness", level="frames")},
...             tables={"jobs": res.jobs[["job_id", "lighting_power", "num_frames"]]}),
... ])
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import jinja2
import numpy as np
import pandas as pd

from ._version import __version__
from .errors import InfinityError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FigureLike", "Link", "Section", "anchor", "data_uri", "render_report", "write_report"]

FigureLike = Union["Figure", bytes, str, "os.PathLike[str]"]
"""A matplotlib Figure, PNG or JPEG bytes, or the path of a PNG or JPEG file."""

# What an embedded image may be, by the bytes it starts with: PNG for drawn figures, JPEG for
# photographic ones (a sheet of rendered frames is a fifth the size and encodes in a twentieth
# of the time as JPEG).
_FORMATS = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))



@functools.cache
def _templates() -> jinja2.Environment:
    """The package's templates (``infinityframe/templates/``), autoescaped: every value put in a page,
    each table's headers and cells included, is escaped there."""
    return jinja2.Environment(loader=jinja2.PackageLoader("infinityframe", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class Link:
    """A table cell that links to a row of another table in the same report.

    ``target`` is the row's value in the column its table is anchored by (``Section.anchors``).

    Examples
    --------
    >>> Link("6dac508b", "6dac508b-17cd-4e81-9ac3-c9f997dde3ea")
    Link(text='6dac508b', target='6dac508b-17cd-4e81-9ac3-c9f997dde3ea')
    """

    text: str
    target: str


def anchor(value: Any) -> str:
    """The HTML id of a row anchored by ``value`` (what a :class:`Link` to it points at).

    >>> anchor("6dac508b-17cd")
    'row-6dac508b-17cd'
    """
    return "row-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in str(value))


@dataclass(frozen=True)
class Section:
    """One part of a report: a heading, paragraphs, then figures and tables.

    Attributes
    ----------
    heading : str
    text : str or sequence of str
        Paragraphs (plain text; escaped).
    figures : mapping of caption to FigureLike
        A matplotlib Figure, PNG or JPEG bytes, or a PNG or JPEG file's path.
    tables : mapping of caption to DataFrame
        pandas or polars frames; long ones show their first ``max_rows`` rows.
    max_rows : int
        Rows shown per table.
    anchors : mapping of caption to column
        Tables whose rows can be linked to: each row gets the id :func:`anchor` makes of its
        value in that column, and a :class:`Link` cell elsewhere in the report points at it.

    Examples
    --------
    >>> Section("Sweep", text="12 jobs.", tables={"jobs": df})  # doctest: +SKIP
    """

    heading: str
    text: str | Sequence[str] = ()
    figures: Mapping[str, FigureLike] = field(default_factory=dict)
    tables: Mapping[str, Any] = field(default_factory=dict)
    max_rows: int = 25
    anchors: Mapping[str, str] = field(default_factory=dict)


def data_uri(figure: FigureLike, *, dpi: int = 100) -> str:
    """An image as a ``data:`` URI, from a Figure (drawn as PNG), PNG or JPEG bytes, or such a file.

    Examples
    --------
    >>> data_uri(res.show(n=4))[:22]  # doctest: +SKIP
    'data:image/png;base64,'
    >>> import io
    >>> from infinityframe.plots import frames_sheet
    >>> photo = io.BytesIO()
    >>> frames_sheet(res, n=2).save(photo, format="jpeg")
    >>> data_uri(photo.getvalue())[:23]
    'data:image/jpeg;base64,'
    """
    if isinstance(figure, bytes):
        image = figure
    elif isinstance(figure, (str, os.PathLike)):
        image = Path(figure).read_bytes()
    else:
        from .plots import png_bytes

        image = png_bytes(figure, dpi=dpi)
    mime = next((mime for magic, mime in _FORMATS if image.startswith(magic)), None)
    if mime is None:
        source = f"{os.fspath(figure)!r} is not a PNG or JPEG image" if isinstance(figure, (str, os.PathLike)) else (
            "These bytes are not a PNG or JPEG image")
        raise InfinityError(f"{source}. Only PNG and JPEG images can be embedded: pass a matplotlib Figure, "
                            "PNG or JPEG bytes, or a .png or .jpg file.")
    return f"data:{mime};base64," + base64.b64encode(image).decode("ascii")


def _cell(value: Any) -> dict[str, str | None]:
    """A table cell as the template shows it: its text, and where it links to when it is a :class:`Link`."""
    if isinstance(value, Link):
        return {"text": value.text, "href": "#" + anchor(value.target)}
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return {"text": "", "href": None}
    if isinstance(value, (float, np.floating)):
        return {"text": f"{value:.4g}", "href": None}
    return {"text": str(value), "href": None}


def _table(caption: str, frame: Any, max_rows: int, anchored_by: str | None = None) -> dict[str, Any]:
    """What the template shows of a table: its columns, and each row's cells (with the row's anchor)."""
    table = frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()
    shown = table.head(max_rows)
    if anchored_by is not None and anchored_by not in shown.columns:
        raise InfinityError(f"Table {caption!r} is anchored by column {anchored_by!r}, which it does not have; "
                            f"it has: {', '.join(map(str, shown.columns))}.")
    ids = [anchor(v) for v in shown[anchored_by]] if anchored_by is not None else [None] * len(shown)
    rows = [{"id": row_id, "cells": [_cell(v) for v in values]}
            for row_id, values in zip(ids, shown.itertuples(index=False, name=None), strict=True)]
    return {"caption": caption, "columns": [str(c) for c in shown.columns], "rows": rows, "shown": len(shown),
            "total": len(table)}


def _section(section: Section, dpi: int) -> dict[str, Any]:
    """What the template shows of a section; figures are encoded here, so a bad one names its section."""
    paragraphs = [section.text] if isinstance(section.text, str) else list(section.text)
    figures = []
    for caption, figure in section.figures.items():
        try:
            figures.append({"caption": caption, "uri": data_uri(figure, dpi=dpi)})
        except InfinityError as err:
            raise InfinityError(f"Section {section.heading!r}, figure {caption!r}: {err}") from None
    return {"heading": section.heading, "paragraphs": [p for p in paragraphs if p], "figures": figures,
            "tables": [_table(caption, frame, section.max_rows, section.anchors.get(caption))
                       for caption, frame in section.tables.items()]}


def render_report(title: str, sections: Sequence[Section], *, subtitle: str = "", dpi: int = 100) -> str:
    """The report as one HTML string (see :func:`write_report`).

    Examples
    --------
    >>> page = render_report("Sweep", [Section("Jobs", tables={"jobs": batch.jobs})])  # doctest: +SKIP
    """
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _templates().get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=[_section(s, dpi) for s in sections], version=__version__,
        made=made)


def write_report(path: str | os.PathLike[str], title: str, sections: Sequence[Section], *, subtitle: str = "",
                 dpi: int = 100) -> Path:
    """Write a self-contained HTML report (figures embedded, no external resources); returns its path.

    Parameters
    ----------
    path : str or PathLike
        The ``.html`` file to write (its folder is created).
    title : str
        The page's title and heading.
    sections : sequence of Section
        In order.
    subtitle : str
        A line under the title.
    dpi : int
        Resolution of the figures passed as Figures.

    Examples
    --------
    >>> write_report("out/report.html", "Demo", [Section("Frames", figures={"frames": res.show()})])  # doctest: +SKIP
    PosixPath('out/report.html')
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(title, sections, subtitle=subtitle, dpi=dpi), encoding="utf-8")
    return target
