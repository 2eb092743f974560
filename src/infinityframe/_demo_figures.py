"""The demo's seaborn figures, drawn in a process of their own.

seaborn brings scipy.stats and pyplot with it, about a second of imports, and each figure is a
few tenths of a second of drawing and encoding. In the demo's process all of that would hold
the interpreter lock that the embedded service, the downloads and the reading of results need
at the same time. So ``infinityframe demo`` starts one spawned process at once (the render
workers' kind, :func:`~infinityframe.local.rendering.process_pool`: it runs none of the user's
script and stays below the demo's priority), which imports all that while the service starts,
and hands it each figure's data to draw into its PNG file. Each function here runs in that
process and returns the path it wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .params.spec import GeneratorSpec
    from .results import Results

__all__ = ["learning_png", "params_png", "results_png", "warm"]


def warm() -> int:
    """Import what the figures need, before the first is asked for; the process id.

    The figures' arrays are small: a BLAS that splits them over threads only makes the threads
    wait on each other and on the render workers, so this process keeps to one.
    """
    import seaborn  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401
    from threadpoolctl import threadpool_limits

    from . import plots  # noqa: F401

    threadpool_limits(limits=1, user_api="blas")
    return os.getpid()


def _write(fig: Figure, path: str) -> str:
    from .plots import png_bytes

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(png_bytes(fig, dpi=100))
    return path


def params_png(sweep: pd.DataFrame, spec: GeneratorSpec, path: str) -> str:
    """The sweep's parameters (``df.infinity.plot()``) into ``path``."""
    from .plots import params_figure

    return _write(params_figure(sweep, spec), path)


def results_png(res: Results, x: str, y: str, level: Any, path: str) -> str:
    """``res.plot(x, y, level=level)`` into ``path``."""
    return _write(res.plot(x, y, level=level), path)


def learning_png(table: pd.DataFrame, edge: tuple[float, float], path: str) -> str:
    """Share in view by camera distance, the sweep's previews and the learning round's, the goal shaded.

    ``table`` has a row per preview: ``round``, ``camera_distance``, ``in_view`` and ``landed``
    (whether ``in_view`` is in ``edge``, the band asked for).
    """
    import seaborn as sns

    from .plots import figure_style, new_figure

    low, high = edge
    rounds = ["sweep", "learning round"]
    with figure_style():
        fig = new_figure(6.0, 3.4)
        ax = fig.subplots()
        ax.axhspan(low, high, color="#f4a261", alpha=0.25, lw=0, label=f"asked for: {low:.0f}-{high:.0f}% in view")
        sns.scatterplot(data=table, x="camera_distance", y="in_view", hue="round", style="round", hue_order=rounds,
                        style_order=rounds, s=46, ax=ax)
        ax.set_xlabel("camera_distance (m)")
        ax.set_ylabel("share of the person in view (%)")
        ax.set_ylim(-3, 103)
        counts = table.groupby("round", sort=False)["landed"].agg(["sum", "size"])
        ax.set_title("; ".join(f"{name}: {int(row['sum'])} of {int(row['size'])} in the band"
                               for name, row in counts.reindex(rounds).dropna().iterrows()), fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    return _write(fig, path)
