"""Figures of a sweep that learns: the effects with their intervals, the objective round by round."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..plots import figure_style, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["effects_figure", "rounds_figure"]


def effects_figure(table: pd.DataFrame, title: str | None = None) -> Figure:
    """One bar per parameter (the effect), its bootstrap interval as a line, the strongest on top.

    Examples
    --------
    >>> table = pd.DataFrame({"parameter": ["a", "b"], "effect": [0.6, 0.1], "low": [0.5, 0.0],
    ...                       "high": [0.7, 0.2], "method": "sobol", "n": 40})
    >>> effects_figure(table).axes[0].get_xlabel()
    'total Sobol index (share of variance)'
    """
    import seaborn as sns

    ordered = table.sort_values("effect", ascending=False, kind="stable")
    method = str(ordered["method"].iloc[0]) if len(ordered) else ""
    label = {"sobol": "total Sobol index (share of variance)",
             "permutation": "permutation importance (drop in R²)"}.get(method, "effect")
    with figure_style():
        fig = new_figure(6.0, 0.9 + 0.32 * max(len(ordered), 1))
        ax = fig.add_subplot()
        sns.barplot(ordered, x="effect", y="parameter", color="#4a6fa5", errorbar=None, ax=ax)
        ax.errorbar(ordered["effect"], range(len(ordered)),
                    xerr=[ordered["effect"] - ordered["low"], ordered["high"] - ordered["effect"]],
                    fmt="none", ecolor="#1d232b", capsize=3, linewidth=1)
        ax.axvline(0, color="#8a939d", linewidth=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel("")
        n = int(ordered["n"].iloc[0]) if len(ordered) else 0
        ax.set_title(title or f"What drives it ({n} jobs, 95% bootstrap intervals over jobs)")
    return fig


def rounds_figure(history: pd.DataFrame) -> Figure:
    """Each job's objective by round (videos in their own colour).

    Examples
    --------
    >>> history = pd.DataFrame({"round": [0, 0, 1, 2], "fidelity": ["preview"] * 3 + ["video"],
    ...                         "objective": [1.0, 2.0, 3.0, 3.5]})
    >>> rounds_figure(history).axes[0].get_ylabel()
    'objective'
    """
    import seaborn as sns

    with figure_style():
        fig = new_figure(6.0, 3.2)
        ax = fig.add_subplot()
        sns.stripplot(history, x="round", y="objective", hue="fidelity", dodge=False, jitter=0.15, ax=ax,
                      palette={"preview": "#4a6fa5", "video": "#d1495b"})
        ax.set_title("Objective of every job, by round")
    return fig
