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
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import pandas as pd

from ._version import __version__
from .errors import InfinityError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FigureLike", "Link", "Section", "anchor", "data_uri", "render_report", "write_report"]

FigureLike = Union["Figure", bytes, str, "os.PathLike[str]"]
"""A matplotlib Figure, PNG bytes, or the path of a PNG file."""

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b; margin: 0;
       background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { margin-bottom: 0; } .subtitle { color: #5b6570; margin-top: 4px; }
h2 { border-bottom: 1px solid #dde1e6; padding-bottom: 4px; margin-top: 40px; }
figure { margin: 20px 0; } figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { color: #5b6570; font-size: 13px; }
.table-wrap { overflow-x: auto; margin: 12px 0 20px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e6ea; text-align: right; white-space: nowrap; }
th { background: #f0f2f5; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
tr:target { background: #fff3cd; } a { color: #1f5fa8; }
.note { color: #5b6570; font-size: 13px; } footer { margin-top: 48px; color: #8a939d; font-size: 12px; }
"""


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
        A matplotlib Figure, PNG bytes, or a PNG file's path.
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
    """A PNG as a ``data:image/png;base64,…`` URI, from a Figure, PNG bytes or a PNG file.

    Examples
    --------
    >>> data_uri(res.show(n=4))[:22]  # doctest: +SKIP
    'data:image/png;base64,'
    """
    if isinstance(figure, bytes):
        png = figure
    elif isinstance(figure, (str, os.PathLike)):
        png = Path(figure).read_bytes()
    else:
        from .plots import png_bytes

        png = png_bytes(figure, dpi=dpi)
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        source = f"{os.fspath(figure)!r} is not a PNG image" if isinstance(figure, (str, os.PathLike)) else (
            "These bytes are not a PNG image")
        raise InfinityError(f"{source}. Only PNG images can be embedded: pass a matplotlib Figure, PNG bytes "
                            "or a .png file.")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _cell(value: Any) -> str:
    if isinstance(value, Link):
        return f'<a href="#{anchor(value.target)}">{html.escape(value.text)}</a>'
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table_html(caption: str, frame: Any, max_rows: int, anchored_by: str | None = None) -> str:
    table = frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()
    shown = table.head(max_rows)
    if anchored_by is not None and anchored_by not in shown.columns:
        raise InfinityError(f"Table {caption!r} is anchored by column {anchored_by!r}, which it does not have; "
                            f"it has: {', '.join(map(str, shown.columns))}.")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    ids = shown[anchored_by].tolist() if anchored_by is not None else [None] * len(shown)
    for row_id, values in zip(ids, shown.itertuples(index=False, name=None), strict=True):
        attribute = f' id="{anchor(row_id)}"' if row_id is not None else ""
        rows.append(f"<tr{attribute}>" + "".join(f"<td>{_cell(v)}</td>" for v in values) + "</tr>")
    more = (f'<p class="note">first {len(shown)} of {len(table)} rows</p>' if len(table) > len(shown) else "")
    return (f'<div class="table-wrap"><table><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}")


def _section_html(section: Section, dpi: int) -> str:
    paragraphs = [section.text] if isinstance(section.text, str) else list(section.text)
    parts = [f"<section><h2>{html.escape(section.heading)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs if p]
    for caption, figure in section.figures.items():
        alt = html.escape(caption, quote=True)
        try:
            uri = data_uri(figure, dpi=dpi)
        except InfinityError as err:
            raise InfinityError(f"Section {section.heading!r}, figure {caption!r}: {err}") from None
        parts.append(f'<figure><img src="{uri}" alt="{alt}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts += [_table_html(caption, frame, section.max_rows, section.anchors.get(caption))
              for caption, frame in section.tables.items()]
    parts.append("</section>")
    return "\n".join(parts)


def render_report(title: str, sections: Sequence[Section], *, subtitle: str = "", dpi: int = 100) -> str:
    """The report as one HTML string (see :func:`write_report`).

    Examples
    --------
    >>> page = render_report("Sweep", [Section("Jobs", tables={"jobs": batch.jobs})])  # doctest: +SKIP
    """
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(_section_html(s, dpi) for s in sections)
    sub = f'<p class="subtitle">{html.escape(subtitle)}</p>' if subtitle else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body><main>
<h1>{html.escape(title)}</h1>
{sub}
{body}
<footer>Made by infinityframe {html.escape(__version__)} on {made}.</footer>
</main></body>
</html>
"""


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
