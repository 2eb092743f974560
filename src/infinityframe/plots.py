"""Figures drawn with seaborn: what a sweep covers, what it did, and what came back.

========================  ===================================  ====================================
function                  reached as                           draws
========================  ===================================  ====================================
:func:`params_figure`     ``df.infinity.plot()``               each parameter's distribution
:func:`results_figure`    ``res.plot(x, y, hue, level)``       a sweep's effect, 95% CIs across jobs
:func:`frames_figure`     ``res.show(n=16)``                   frames with boxes, skeletons, masks
:func:`frames_sheet`      ``frames_sheet(res, n=16)``          the same frames as one Pillow image
========================  ===================================  ====================================

Every function but :func:`frames_sheet` returns a :class:`matplotlib.figure.Figure` made
without pyplot and drawn by the Agg canvas: nothing is shown, nothing is kept in pyplot's list
of open figures, and no display is needed. A notebook shows the returned figure; a script saves
it (``fig.savefig("sweep.png")``). The statistics are seaborn's, always over one row per job,
so every interval is bootstrapped across jobs: ``lineplot`` and ``pointplot`` draw theirs, and
a regression is computed and drawn as ``regplot`` does (a parameter's histogram is numpy's,
drawn as ``histplot`` draws it), without importing seaborn; the frame grid is drawn with
matplotlib, which is all an image needs, and :func:`frames_sheet` draws the same frames
straight onto their pixels (OpenCV and Pillow, no matplotlib: about a third of the time, what
the demo's report uses). matplotlib
and OpenCV are imported on first use, so ``import infinityframe`` does not pay for them;
seaborn (with pyplot and scipy.stats) only by a figure that ``lineplot`` or ``pointplot`` draws.

Examples
--------
>>> fig = sesh.sample(200, seed=0, method="lhs").infinity.plot()   # doctest: +SKIP
>>> fig = res.plot("camera_distance", "bbox_h", hue="exercise")     # doctest: +SKIP
>>> res.show(n=9).savefig("frames.png")                             # doctest: +SKIP
>>> frames_sheet(res, n=9).save("frames.png")                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import sys
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._frame_images import frames_to_show, pixel_size
from ._frame_sheet import frames_sheet
from .errors import InfinityError
from .results.coco import COCO_KEYPOINTS
from .results.coco import COCO_SKELETON as _COCO_SKELETON_NUMBERS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

    from .params.spec import GeneratorSpec, ParamSpec
    from .results import Results

__all__ = ["COCO_KEYPOINTS", "COCO_SKELETON", "frames_figure", "frames_sheet", "params_figure", "png_bytes",
           "results_figure"]

Level = Literal["jobs", "frames", "objects", "keypoints"]

# COCO's person skeleton by keypoint name (results.coco holds it by 1-based number, as COCO files do).
COCO_SKELETON: tuple[tuple[str, str], ...] = tuple(
    (COCO_KEYPOINTS[a - 1], COCO_KEYPOINTS[b - 1]) for a, b in _COCO_SKELETON_NUMBERS)

_VALID = "#4c9a5b"       # the valid range, and bars of valid choices
_INVALID = "#c4473a"     # values outside it
_BARS = "#4a6fa5"
_PANEL_INCHES = 3.1
# Titles placed at the top of their axes, never moved: left to place itself, a title measures
# every tick label of its axes at each draw, which was most of the time a grid of panels took.
_TITLE_Y = 1.0


# -- shared ----------------------------------------------------------------------------------------

def new_figure(width: float, height: float, layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A Figure on the Agg canvas, outside pyplot (so no backend or display is involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    _displayable_in_ipython()
    return fig


def _displayable_in_ipython() -> None:
    """Let IPython show the figures as images, as it shows pyplot's.

    IPython learns to draw a Figure when pyplot is imported with the inline backend; figures
    made outside pyplot would otherwise print as ``<Figure size …>``. A format the user or
    ``%matplotlib`` already chose is left as it is.
    """
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters:
        return
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return
        except (KeyError, AttributeError):
            continue
    from IPython.core import pylabtools

    draw: Any = pylabtools.print_figure  # untyped
    formatters["image/png"].for_type(Figure, lambda fig: draw(fig, "png", bbox_inches="tight"))


# seaborn's "whitegrid" style in its "notebook" context at 0.8 scale, written out, so a figure
# drawn in it imports seaborn only if seaborn draws its statistics: a parameter's histogram and
# a regression do not (:func:`_histogram`, :func:`_regression`), and importing seaborn loads
# pyplot and scipy.stats with it, one to two seconds of a script's start. The tests hold these
# values to seaborn's own. Its "image.cmap" (seaborn's "rocket", a colormap seaborn registers
# when it is imported) is left out: no figure drawn in this style shows an image.
_FIGURE_STYLE: dict[str, Any] = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.labelsize": 9.6, "axes.linewidth": 1.25, "axes.spines.bottom": True,
    "axes.spines.left": True, "axes.spines.right": True, "axes.spines.top": True, "axes.titlesize": 9.6,
    "figure.facecolor": "white", "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 9.6, "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 1, "legend.fontsize": 8.8,
    "legend.title_fontsize": 9.6, "lines.linewidth": 1.5, "lines.markersize": 6, "lines.solid_capstyle": "round",
    "patch.edgecolor": "w", "patch.force_edgecolor": True, "patch.linewidth": 1, "text.color": ".15",
    "xtick.bottom": False, "xtick.color": ".15", "xtick.direction": "out", "xtick.labelsize": 8.8,
    "xtick.major.size": 6, "xtick.major.width": 1.25, "xtick.minor.size": 4, "xtick.minor.width": 1,
    "xtick.top": False, "ytick.color": ".15", "ytick.direction": "out", "ytick.labelsize": 8.8,
    "ytick.left": False, "ytick.major.size": 6, "ytick.major.width": 1.25, "ytick.minor.size": 4,
    "ytick.minor.width": 1, "ytick.right": False,
}


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """seaborn's "whitegrid" style in its "notebook" context at 0.8 scale (:data:`_FIGURE_STYLE`),
    for the figures made inside; the user's rcParams are as they were afterwards."""
    import matplotlib

    settings: Any = _FIGURE_STYLE  # matplotlib types its keys as one long Literal
    with matplotlib.rc_context(settings):
        yield


# A grid of images has no axes to style, only titles: the same fonts and colours.
_FRAME_STYLE: dict[str, Any] = {key: _FIGURE_STYLE[key] for key in
                                ("font.family", "font.sans-serif", "font.size", "text.color", "figure.facecolor")}


@contextlib.contextmanager
def _frame_style() -> Iterator[None]:
    import matplotlib

    settings: Any = _FRAME_STYLE  # matplotlib types its keys as one long Literal
    with matplotlib.rc_context(settings):
        yield


def png_bytes(fig: Figure, dpi: float = 100) -> bytes:
    """``fig`` drawn once at ``dpi`` and encoded as PNG, quicker than ``fig.savefig``.

    The figure is rendered by its Agg canvas a single time. An opaque figure (all of these
    are) is written without its alpha channel, which holds nothing, and at zlib level 3: about
    2.5 times faster to encode than ``savefig``'s RGBA at level 6, for a file no bigger. A
    figure with transparent pixels keeps its alpha; one on a canvas other than Agg's is saved
    by ``savefig``.

    Examples
    --------
    >>> png_bytes(res.plot("camera_distance", "bbox_h"))[:8]   # doctest: +SKIP
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    if not isinstance(fig.canvas, FigureCanvasAgg):  # a figure made elsewhere, on another canvas: left to it
        saved = io.BytesIO()
        fig.savefig(saved, format="png", dpi=dpi)
        return saved.getvalue()
    fig.set_dpi(dpi)
    fig.canvas.draw()  # type: ignore[no-untyped-call]
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    opaque = bool(rgba[..., 3].min() == 255)
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]) if opaque else np.ascontiguousarray(rgba))
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=3, dpi=(dpi, dpi))
    return buffer.getvalue()


def _pandas(frame: Any) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    if type(frame).__module__.startswith("polars"):
        converted: pd.DataFrame = frame.to_pandas()
        return converted
    raise InfinityError(f"Expected a pandas or polars DataFrame, got {type(frame).__name__}.")


def _is_number(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def _as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories of numbers (the parameters of ``res.keypoints``) as the numbers they are, to plot on an axis.

    Booleans stay categories: they plot as two groups either way.
    """
    numbers: dict[str, pd.Series] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if not isinstance(dtype, pd.CategoricalDtype) or not _is_number(pd.Series(dtype.categories)):
            continue
        column = frame[name]
        numbers[str(name)] = column.astype(np.float64 if column.isna().any() else dtype.categories.dtype)
    return frame.assign(**numbers) if numbers else frame


def _short(value: Any, width: int = 22) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- df.infinity.plot() ---------------------------------------------------------------------------

def params_figure(df: Any, spec: GeneratorSpec) -> Figure:
    """A grid of each parameter's distribution in a job frame.

    Numbers get a histogram over their valid range (shaded); choices and booleans get counts
    of every allowed value (the allowed ones shaded, so an unused choice shows as a gap and a
    value outside them as a red bar). Parameters with one value in every row, and those the
    frame leaves to their defaults, are listed in a text panel instead of plotted.

    Parameters
    ----------
    df : pandas or polars DataFrame
        Job parameters, one row per job (``sesh.sample(...)``, ``sesh.grid(...)`` …).
    spec : GeneratorSpec
        The generator's parameters (``sesh.spec``); ``df.infinity.plot()`` passes it.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per varying parameter, titled with its name, plus the ``fixed`` panel.

    Examples
    --------
    >>> fig = sesh.sample(100, seed=0, exercise="SQUAT").infinity.plot()   # doctest: +SKIP
    >>> fig.savefig("sweep.png")                                           # doctest: +SKIP
    """
    frame = _pandas(df)
    if frame.empty:
        raise InfinityError("The job frame has no rows, so there is nothing to plot: sample or build some jobs first.")
    varying: list[ParamSpec] = []
    fixed: list[str] = []
    for param in spec:
        if param.name not in frame.columns:
            continue
        values = frame[param.name]
        if param.type == "uuid":
            set_count = int(values.notna().sum())
            fixed.append(f"{param.name}: set in {set_count} of {len(values)} rows")
        elif values.nunique(dropna=False) > 1:
            varying.append(param)
        else:
            fixed.append(f"{param.name} = {_short(values.iloc[0])}")
    defaults = [p.name for p in spec if p.name not in frame.columns]
    panels = len(varying) + bool(fixed or defaults)
    ncols = max(1, min(4, panels))
    nrows = math.ceil(panels / ncols)
    with figure_style():
        # Fixed spacing: a constrained layout of twenty panels costs seconds to draw.
        height = 2.7 * nrows + 0.5
        fig = new_figure(_PANEL_INCHES * ncols, height, layout=None)
        fig.subplots_adjust(left=0.3 / ncols, right=0.98, top=1 - 0.8 / height, bottom=0.75 / height,
                            wspace=0.35, hspace=0.85)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, param in zip(axes, varying, strict=False):
            if param.choices or not _is_number(frame[param.name]):
                _choice_panel(ax, frame[param.name], param)
            else:
                _number_panel(ax, frame[param.name], param)
        if fixed or defaults:
            _fixed_panel(axes[len(varying)], fixed, defaults)
        for ax in axes[panels:]:
            ax.set_axis_off()
    fig.suptitle(f"{spec.name}: {len(frame)} jobs, {len(varying)} varying parameter(s)", y=1 - 0.15 / height,
                 va="top")
    return fig


def _number_panel(ax: Axes, values: pd.Series, param: ParamSpec) -> None:
    data = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    lo, hi = float(data.min()), float(data.max())
    if param.min is not None and param.max is not None:
        span = ax.axvspan(param.min, param.max, color=_VALID, alpha=0.13, zorder=0, lw=0)
        span.set_gid("valid-range")
        lo, hi = min(lo, param.min), max(hi, param.max)
    integer = param.type == "int" and hi - lo <= 40
    if integer:  # a bar per whole number, centred on it
        edges = np.arange(data.min() - 0.5, data.max() + 1.5)
    else:  # bins over the whole valid range, so a narrow sweep looks narrow
        edges = np.linspace(lo, hi, min(20, max(5, data.nunique())) + 1)
    _histogram(ax, data.to_numpy(), edges)
    pad = 0.03 * (hi - lo) if hi > lo else 0.5
    ax.set_xlim(lo - pad, hi + pad)
    outside = int(((data < param.min) | (data > param.max)).sum()) if param.ranged else 0
    if outside:
        ax.text(0.98, 0.95, f"{outside} outside range", transform=ax.transAxes, ha="right", va="top",
                color=_INVALID, fontsize=8)
    ax.set_title(param.name, y=_TITLE_Y)
    ax.set_xlabel(f"valid {param.min:g} to {param.max:g}" if param.ranged else "value")
    _count_axis(ax)


def _histogram(ax: Axes, data: np.ndarray, edges: np.ndarray) -> None:
    """Counts of ``data`` between ``edges``, drawn as seaborn's ``histplot`` draws them (bars a
    quarter see-through, outlined in the patch edge colour), in a tenth of its time: with a
    dozen numeric parameters, seaborn's own set-up was most of a sweep's figure."""
    from matplotlib import rcParams
    from matplotlib.colors import to_rgba

    counts, _ = np.histogram(data, edges)
    widths = np.diff(edges)
    ax.bar(edges[:-1], counts, widths, align="edge", color="none", facecolor=to_rgba(_BARS, 0.75),
           edgecolor=rcParams["patch.edgecolor"], linewidth=0.5)


def _choice_panel(ax: Axes, values: pd.Series, param: ParamSpec) -> None:
    observed = values.dropna().astype(object).tolist()
    allowed: list[Any] = list(param.choices) if param.choices else ([False, True] if param.type == "bool" else [])
    extra: list[Any] = []
    for value in observed:
        if not any(_same(value, c) for c in [*allowed, *extra]):
            extra.append(value)
    extra.sort(key=str)
    order = [*allowed, *extra]
    counts = [sum(_same(value, choice) for value in observed) for choice in order]
    positions = np.arange(len(order))
    colors = [_BARS] * len(allowed) + [_INVALID] * len(extra)
    ax.bar(positions, counts, color=colors, width=0.75)
    if allowed:
        span = ax.axvspan(-0.5, len(allowed) - 0.5, color=_VALID, alpha=0.13, zorder=0, lw=0)
        span.set_gid("valid-range")
    labels = [_short(v, 12) for v in order]
    slanted = len(order) > 3 and max(map(len, labels)) > 3
    ax.set_xticks(positions, labels, rotation=40 if slanted else 0, ha="right" if slanted else "center", fontsize=7)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_title(param.name, y=_TITLE_Y)
    ax.set_xlabel(f"{len(allowed)} allowed" + (f", {len(extra)} not allowed" if extra else ""))
    _count_axis(ax)


def _count_axis(ax: Axes) -> None:
    """A y axis of job counts: whole numbers only (no 0.25 of a job)."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("jobs")


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` (a bool column against int choices, or back)."""
    a_bool, b_bool = isinstance(a, (bool, np.bool_)), isinstance(b, (bool, np.bool_))
    return bool(a == b) if a_bool == b_bool else False


def _fixed_panel(ax: Axes, fixed: Sequence[str], defaults: Sequence[str]) -> None:
    lines: list[str] = []
    if fixed:
        lines += ["the same in every job:", *(f"  {item}" for item in fixed)]
    if defaults:
        wrapped = textwrap.wrap(", ".join(defaults), 36)
        lines += ["left to defaults:", *(f"  {line}" for line in wrapped)]
    text = ax.text(0.0, 1.0, "\n".join(lines), transform=ax.transAxes, va="top", ha="left", family="monospace",
                   fontsize=7)
    text.set_gid("fixed-params")
    ax.set_title("fixed", y=_TITLE_Y)
    ax.set_axis_off()


# -- res.plot() -----------------------------------------------------------------------------------

def _table(res: Results, level: str) -> pd.DataFrame:
    if level not in ("jobs", "frames", "objects", "keypoints"):
        raise InfinityError(f"level must be 'jobs', 'frames', 'objects' or 'keypoints', not {level!r}.")
    return _pandas(getattr(res, level))


def results_figure(res: Results, x: str, y: str, hue: str | None = None, level: Level = "objects") -> Figure:
    """A sweep's effect: ``y`` against ``x``, with 95% confidence intervals across jobs.

    The job is the unit of replication: its frames (or objects, or keypoints) share one
    scene, one camera and one seed, so they are not independent samples. Each job's rows are
    first averaged into one value per job (and per ``x`` and ``hue`` value, for a column that
    changes within a job, such as ``time_s``); the intervals are then drawn across those job
    means, and a value held by a single job gets no interval at all.

    It is drawn from that frame of job means, so every bootstrap resamples jobs. Few distinct
    ``x`` values with several jobs each (a grid) give ``sns.lineplot``: the mean of the job
    means at each value, with a bootstrapped 95% confidence band; each ``x`` tick says how
    many jobs it holds (``n=``). Many, or one job per value (a sampled sweep, where every job
    has its own value), give a regression as ``sns.regplot`` draws it, the same numbers
    computed without seaborn: one dot per job and a linear fit with its bootstrapped 95%
    band. A categorical ``x`` gives ``sns.pointplot`` with no joining line
    (categories have no order to follow): the mean of the job means per category with its 95%
    interval, ``n=`` jobs under each. ``hue`` splits the jobs into coloured groups; a numeric
    ``hue`` is labelled to three significant digits, and with more than six values is cut into
    quartiles. The bootstrap is seeded (1,000 draws), so a figure redraws the same.

    Parameters
    ----------
    res : Results
        From :func:`~infinityframe.read_results` or ``batch.results()``.
    x, y : str
        Columns of the table (parameters are in every table).
    hue : str, optional
        A column to colour by.
    level : {"objects", "frames", "jobs", "keypoints"}
        The table: one row per object (annotation), frame, job or keypoint.

    Returns
    -------
    matplotlib.figure.Figure
        Titled ``"<y> by <x>"``; the subtitle says what is drawn and over how many jobs.

    Raises
    ------
    InfinityError
        When a column is not in the table (the message lists the columns there are).

    Examples
    --------
    >>> fig = res.plot("camera_distance", "bbox_h")                                 # doctest: +SKIP
    >>> fig = res.plot("lighting_power", "mean_image_brightness", level="frames")    # doctest: +SKIP
    """
    table = _table(res, level)
    wanted = [c for c in dict.fromkeys((x, y, hue)) if c is not None]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        shown = ", ".join(map(str, table.columns[:40]))
        raise InfinityError(f"res.{level} has no column {', '.join(map(repr, missing))}; it has: {shown}. "
                            "Pick one of those or another level= (jobs, frames, objects, keypoints).")
    job = "job_id" if "job_id" in table.columns else None
    data = _as_numbers(table[list(dict.fromkeys([*wanted, *([job] if job else [])]))].dropna(subset=[x, y]))
    if not _is_number(data[y]):
        raise InfinityError(f"res.{level}[{y!r}] is not numeric ({data[y].dtype}); plot a numeric column as y.")
    if data.empty:
        raise InfinityError(f"res.{level} has no rows where both {x!r} and {y!r} are set: nothing to plot.")
    rows = len(data)
    groups = None
    if hue is not None:  # its own column, so a hue that is also x or y leaves them as they are
        groups = _HUE
        data = data.assign(**{_HUE: _number_labels(data[hue]) if _is_number(data[hue]) else data[hue]})
    per_job = _job_means(data, x, y, groups, job)
    jobs = per_job["_job"].nunique()
    with figure_style():
        fig = new_figure(6.4, 4.2, layout=None)  # one panel: fixed margins draw as well as a layout engine, for less
        fig.subplots_adjust(left=0.12, right=0.97, top=0.86, bottom=0.17)
        ax = fig.add_subplot()
        if not _is_number(per_job[x]):
            _categories(ax, per_job, x, y, groups)
            how = "mean of the job means per category, 95% CI across jobs"
        elif per_job[x].nunique() > 12 or per_job.groupby(x)["_job"].nunique().median() < 2:
            _regressions(ax, per_job, x, y, groups)
            how = "one dot per job, linear fit and 95% CI across jobs"
        else:
            _grid(ax, per_job, x, y, groups)
            how = "mean of the job means, 95% CI across jobs"
        _small_legend(ax, hue)
    ax.set_xlabel(x)
    ax.set_ylabel(y if level == "jobs" or job is None else f"{y} (mean per job)")
    by = f"{x} and {hue}" if hue else x
    ax.set_title(f"{y} by {by}", y=_TITLE_Y)
    each = "" if level == "jobs" or job is None else f" (each the mean of its {level}: {rows} in all)"
    fig.suptitle(f"{how}: {jobs} jobs{each}", fontsize=9)
    return fig


def _job_means(data: pd.DataFrame, x: str, y: str, hue: str | None, job: str | None) -> pd.DataFrame:
    """One row per job (and per ``x`` and ``hue`` value, where they change within a job): the mean of ``y``.

    The job's id is kept as ``_job``; a table without job ids counts each row as a job.
    """
    if job is None:
        return data.assign(_job=np.arange(len(data)))
    keys = list(dict.fromkeys([job, x, *([hue] if hue else [])]))
    means = data.groupby(keys, observed=True, sort=False)[y].mean().reset_index()
    return means.assign(_job=means[job].astype(str))


def _number(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, never in exponent form (1500, 574, 0.0123)."""
    text = np.format_float_positional(float(value), precision=digits, unique=False, fractional=False, trim="-")
    return text.rstrip(".")


def _number_labels(values: pd.Series) -> pd.Series:
    """A numeric hue as ordered labels: each value to three significant digits (more where two
    would read the same), or, past six values, the quartile it falls in."""
    numbers = values.astype(float)
    distinct = np.sort(numbers.dropna().unique())
    if len(distinct) > 6:
        bins = pd.qcut(numbers, 4, duplicates="drop")
        lowest = float(numbers.min())  # qcut widens the first bin below the data a little: say where it starts
        names = {iv: f"{_number(max(iv.left, lowest))}–{_number(iv.right)}" for iv in bins.cat.categories}
        order = [names[iv] for iv in bins.cat.categories]
        return pd.Series(pd.Categorical(bins.map(names).astype(str), categories=order, ordered=True),
                         index=values.index)
    for digits in range(3, 16):
        labels = [_number(v, digits) for v in distinct]
        if len(set(labels)) == len(labels):
            break
    named = dict(zip(distinct, labels, strict=True))
    return pd.Series(pd.Categorical(numbers.map(named), categories=labels, ordered=True), index=values.index)


# Every interval: seaborn's percentile bootstrap of the mean, seeded so a figure redraws the same.
_ERRORBAR = ("ci", 95)
_N_BOOT = 1000
_SEED = 0
_HUE = "_hue"  # the groups a hue makes (labelled numbers, or the column's own values)


def _groups(data: pd.DataFrame, hue: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    if hue is None:
        return [(None, data)]
    return [(str(key), part) for key, part in data.groupby(hue, observed=True, sort=True)]


def _small_legend(ax: Axes, hue: str | None) -> None:
    """The legend titled with the hue's column, in small type."""
    legend = ax.get_legend()
    if hue is None or legend is None:
        return
    legend.set_title(hue)
    legend.get_title().set_fontsize(7.5)
    for text in legend.get_texts():
        text.set_fontsize(7)


def _mark_intervals(ax: Axes, before: int) -> None:
    """Name the bands seaborn drew since ``before`` collections (``gid="interval"``), for a reader of the figure."""
    from matplotlib.collections import PolyCollection

    for collection in ax.collections[before:]:
        if isinstance(collection, PolyCollection):
            collection.set_gid("interval")


def _grid(ax: Axes, data: pd.DataFrame, x: str, y: str, hue: str | None) -> None:
    """seaborn's lineplot over the job means: the mean at each ``x``, its 95% band bootstrapped over jobs."""
    import seaborn as sns

    before = len(ax.collections)
    sns.lineplot(data=data, x=x, y=y, hue=hue, errorbar=_ERRORBAR, n_boot=_N_BOOT, seed=_SEED, marker="o",
                 markersize=5, linewidth=1.8, ax=ax)
    _mark_intervals(ax, before)
    ticks = data.groupby(x, sort=True)["_job"].nunique()
    ax.set_xticks(ticks.index.to_numpy(dtype=float), [f"{_number(v)}\nn={n}" for v, n in ticks.items()])


def _categories(ax: Axes, data: pd.DataFrame, x: str, y: str, hue: str | None) -> None:
    """seaborn's pointplot over the job means: each category's mean and 95% interval across jobs, no line
    between categories (they have no order to follow)."""
    import seaborn as sns

    order = sorted(data[x].dropna().unique(), key=str)
    groups = data[hue].nunique() if hue is not None else 1
    sns.pointplot(data=data, x=x, y=y, hue=hue, order=order, errorbar=_ERRORBAR, n_boot=_N_BOOT, seed=_SEED,
                  linestyle="none", marker="o", markersize=5, capsize=0.08, dodge=0.4 if groups > 1 else False,
                  ax=ax)
    counts = data.groupby(x, sort=False, observed=True)["_job"].nunique()
    ax.set_xticks(np.arange(len(order)), [f"{_short(v, 16)}\nn={counts[v]}" for v in order])
    ax.set_xlim(-0.6, len(order) - 0.4)


def _regressions(ax: Axes, data: pd.DataFrame, x: str, y: str, hue: str | None) -> None:
    """One dot per job, a least-squares line and its 95% band bootstrapped over the jobs, per group."""
    from matplotlib import rcParams

    groups = _groups(data, hue)
    cycle = rcParams["axes.prop_cycle"].by_key()["color"]  # seaborn's default palette: the colour cycle
    for i, (label, part) in enumerate(groups):
        _regression(ax, part[x].to_numpy(dtype=float), part[y].to_numpy(dtype=float), cycle[i % len(cycle)], label)
    if hue is not None:
        ax.legend()


def _regression(ax: Axes, x: NDArray[np.float64], y: NDArray[np.float64], color: Any, label: str | None) -> None:
    """What ``sns.regplot(x=x, y=y, ci=95, n_boot=1000, seed=0, truncate=True)`` draws with the
    figures' dots and line, the same numbers, without importing seaborn.

    The line is the least-squares fit ``pinv(X) @ y`` (``X = [1, x]``) on 100 points across the
    data's range. The band is the 2.5th and 97.5th percentiles of the fit over 1,000 resamples
    of the jobs, drawn with seaborn's generator and seed, resample by resample, so they are
    seaborn's resamples; their fits are solved all at once from sums over each resample (``x``
    centred first), and a resample of a single ``x`` value (or nearly: ill-conditioned) by ``pinv`` as
    seaborn solves it. One value of ``x`` has no line to fit: its dots alone.
    ``tests/test_plots.py`` holds the artists to seaborn's own, point for point.
    """
    from matplotlib import colors, rcParams

    color = colors.rgb2hex(colors.to_rgb(color))
    ax.scatter(x, y, s=14, alpha=0.6, zorder=3, color=color, label=label, marker="o",
               linewidths=rcParams["lines.markeredgewidth"])
    if len(np.unique(x)) < 2:
        return
    n = len(x)
    design = np.column_stack([np.ones(n), x])
    grid = np.linspace(x.min(), x.max(), 100)
    ax.plot(grid, np.column_stack([np.ones(len(grid)), grid]) @ (np.linalg.pinv(design) @ y), color=color,
            linewidth=2)
    rng = np.random.default_rng(_SEED)
    centred = x - x.mean()
    fits = np.empty((_N_BOOT, len(grid)))
    step = max(1, 1_000_000 // n)  # resamples at a time: a million drawn rows at most in memory
    for start in range(0, _N_BOOT, step):
        rows = np.stack([rng.integers(0, n, n, dtype=np.intp) for _ in range(min(step, _N_BOOT - start))])
        xs, ys = centred[rows], y[rows]
        sx, sxx, sy, sxy = xs.sum(1), (xs * xs).sum(1), ys.sum(1), (xs * ys).sum(1)
        det = n * sxx - sx * sx
        # The sums solve a resample as pinv does where [1, x] is well conditioned: its smaller singular
        # value over 1e-7 of the larger (their squares are the eigenvalues of [[n, Σx], [Σx, Σx²]],
        # x as drawn, whose product is det) and det far above its own rounding. The rest (one x value
        # drawn n times, or nearly) pinv solves, exactly as seaborn does, whatever its rank cut-off says.
        trace = n + sxx + 2 * x.mean() * sx + n * x.mean() ** 2
        largest = (trace + np.sqrt(np.maximum(trace * trace - 4 * det, 0.0))) / 2
        by_pinv = ~((det > 1e-6 * n * sxx) & (det > 1e-14 * largest * largest))
        det[by_pinv] = 1.0
        slope = (n * sxy - sx * sy) / det
        fits[start:start + len(rows)] = ((sy - slope * sx) / n)[:, np.newaxis] + np.outer(slope, grid - x.mean())
        if by_pinv.any():
            betas = np.linalg.pinv(design[rows[by_pinv]]) @ y[rows[by_pinv]][..., np.newaxis]
            fits[start + np.flatnonzero(by_pinv)] = betas[..., 0] @ np.vstack([np.ones(len(grid)), grid])
    low, high = np.nanpercentile(fits, (2.5, 97.5), axis=0)
    ax.fill_between(grid, low, high, facecolor=color, alpha=0.15).set_gid("interval")


# -- res.show() -----------------------------------------------------------------------------------

def frames_figure(res: Results, n: int = 16, mark: Iterable[str] | None = None, mark_label: str = "marked") -> Figure:
    """A grid of ``n`` frames (or previews) with their boxes, keypoint skeletons and masks drawn.

    Frames are spread over the jobs (every job before a second frame of any). Within a job
    they are chosen to show its motion: the first frame, then each time the frame whose pose
    (its keypoints) differs most from those already chosen, so a squat shows standing and
    the bottom of the squat rather than its first and last frames, which look alike; a job
    without keypoints gets frames evenly spaced through its video. Images come from the
    frame's own file (previews, still images) or are decoded from the job's video; masks
    come from the ``segmentation`` polygons or RLE of the job's ``labels.json``; boxes and
    keypoints from the ``objects`` and ``keypoints`` tables, joined with COCO's 17-keypoint
    skeleton. A frame whose image is gone is drawn on grey with its labels.

    Parameters
    ----------
    res : Results
        Results read from job folders (the tables carry each job's folder in ``jobs.path``).
    n : int
        Frames to draw at most.
    mark : iterable of str, optional
        Job ids whose frames are outlined (the previews chosen for videos, say); their
        titles say ``mark_label``.
    mark_label : str
        What the outline means, in the marked titles and the figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per frame, titled ``<job id prefix> · frame <number>`` (marked ones
        ``<job id prefix> · frame <number> · <mark_label>``).

    Examples
    --------
    >>> batch.results().show(n=9).savefig("frames.png")                          # doctest: +SKIP
    >>> previews.results().show(mark=chosen_ids, mark_label="video")             # doctest: +SKIP
    """
    shown = frames_to_show(lambda level: _table(res, level), n)
    frames, chosen, keys = shown.frames, shown.chosen, shown.keys
    images, masks, objects, keypoints = shown.images, shown.masks, shown.objects, shown.keypoints
    marked = {str(j) for j in mark} if mark is not None else set()
    count = len(chosen)
    ncols = math.ceil(math.sqrt(count))
    nrows = math.ceil(count / ncols)
    width0, height0 = pixel_size(chosen["width"].iloc[0], 1), pixel_size(chosen["height"].iloc[0], 1)
    # About a pixel of the frame per pixel of the figure at 100 dpi (never below a legible title's
    # width): larger panels would only magnify the frames, and cost their pixels to draw and encode.
    panel = min(_PANEL_INCHES, 12.0 / ncols, max(2.2, width0 / 100))
    panel_height = panel * height0 / width0
    # Fixed spacing, not a constrained layout: laying out a grid of images that way costs more
    # than drawing them, and the panels are all alike.
    title, head = 0.3, 0.45
    height = nrows * (panel_height + title) + head
    with _frame_style():
        fig = new_figure(panel * ncols + 0.1, height, layout=None)
        fig.subplots_adjust(left=0.05 / (panel * ncols + 0.1), right=1 - 0.05 / (panel * ncols + 0.1),
                            bottom=0.05 / height, top=1 - (head + title) / height, wspace=0.04,
                            hspace=title / panel_height)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (key, row) in zip(axes, zip(keys, chosen.itertuples(index=False), strict=True), strict=False):
            _draw_frame(ax, key, row, images.get(key), masks.get(key, []), objects.get(key), keypoints.get(key))
            if key[0] in marked:
                _mark(ax, mark_label)
        for ax in axes[count:]:
            ax.set_axis_off()
    jobs_shown = len({k[0] for k in keys})
    outlined = sum(k[0] in marked for k in keys)
    note = f"; outlined: {mark_label} ({outlined})" if marked else ""
    fig.suptitle(f"{count} of {len(frames)} frames from {jobs_shown} job(s): boxes, keypoints, masks{note}",
                 y=1 - 0.12 / height, va="top")
    return fig


_MARK = "#e8590c"


def _mark(ax: Axes, label: str) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor=_MARK, lw=3.5,
                           clip_on=False, zorder=5, gid="marked"))
    ax.set_title(f"{ax.get_title()} · {label}", fontsize=8, color=_MARK, fontweight="bold", y=_TITLE_Y)


def _draw_frame(ax: Axes, key: tuple[str, int], row: Any, image: NDArray[np.uint8] | None, masks: list[Any],
                objects: pd.DataFrame | None, keypoints: pd.DataFrame | None) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Polygon, Rectangle

    width = pixel_size(getattr(row, "width", None), image.shape[1] if image is not None else 1)
    height = pixel_size(getattr(row, "height", None), image.shape[0] if image is not None else 1)
    extent = (0.0, width, height, 0.0)
    if image is not None:
        ax.imshow(image, extent=extent, interpolation="nearest")
    else:
        ax.imshow(np.full((2, 2, 3), 0.8), extent=extent)
        ax.text(width / 2, height / 2, "image not found", ha="center", va="center", fontsize=7, color="0.3")
    for mask in masks:
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.ndim == 2:
            layer = np.zeros((*mask.shape, 4), dtype=np.uint8)  # 8-bit RGBA: an eighth of float64's bytes
            layer[mask] = (38, 140, 255, 102)  # (0.15, 0.55, 1.0) at 40% opacity
            ax.imshow(layer, extent=extent, interpolation="nearest").set_gid("mask")
        else:
            ax.add_patch(Polygon(mask, closed=True, facecolor=(0.15, 0.55, 1.0, 0.35), edgecolor=(0.15, 0.55, 1.0),
                                 lw=0.6, gid="mask"))
    if objects is not None:
        for box in objects[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].dropna().itertuples(index=False):
            ax.add_patch(Rectangle((box.bbox_x, box.bbox_y), box.bbox_w, box.bbox_h, fill=False, edgecolor="#ffd23f",
                                   lw=1.2, gid="box"))
    if keypoints is not None:
        _draw_skeletons(ax, keypoints, LineCollection)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    ax.set_title(f"{key[0][:8]} · frame {key[1]}", fontsize=8, y=_TITLE_Y)


def _draw_skeletons(ax: Axes, keypoints: pd.DataFrame, line_collection: Any) -> None:
    points = keypoints
    if "kind" in points.columns:
        points = points[points["kind"].astype(str) == "coco"]
    points = points[(points["v"] > 0) & points["x"].notna() & points["y"].notna()]
    if points.empty:
        return
    # A frame holds a few people of 17 keypoints: plain loops beat a pandas groupby here.
    people: dict[Any, dict[str, tuple[float, float]]] = {}
    for person, name, x, y in zip(points["object_id"].tolist(), points["keypoint"].astype(str).tolist(),
                                  points["x"].tolist(), points["y"].tolist(), strict=True):
        people.setdefault(person, {})[name] = (float(x), float(y))
    segments = [(where[a], where[b]) for where in people.values() for a, b in COCO_SKELETON
                if a in where and b in where]
    if segments:
        ax.add_collection(line_collection(segments, colors="#ff5d8f", linewidths=1.3, gid="skeleton"))
    visible = (points["v"] >= 2).to_numpy()[:, None]
    # RGBA rows rather than colour names: matplotlib would parse a name per point
    faces = np.where(visible, (1.0, 0.365, 0.561, 1.0), (1.0, 1.0, 1.0, 1.0))
    ax.scatter(points["x"].to_numpy(dtype=float), points["y"].to_numpy(dtype=float), s=7, c=faces,
               edgecolors="#ff5d8f", linewidths=0.6, zorder=3, gid="keypoints")
