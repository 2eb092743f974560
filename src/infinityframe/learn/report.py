"""The report a sweep writes: what it spent, the objective by round, the effects, the chosen frames."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InfinityError

if TYPE_CHECKING:
    from ..client.session import Session

__all__ = ["write_sweep_report"]

_SHOWN = 8


def write_sweep_report(history: pd.DataFrame, folder: Path, session: Session,
                       goal: tuple[str, tuple[float, ...]]) -> Path:
    """Write ``folder/report.html`` for a sweep's history (see :func:`~infinityframe.learn.sweep.sweep`)."""
    from ..report import Section, write_report
    from .effects import effects
    from .figures import effects_figure, rounds_figure
    from .suggest import ranked

    info = history.attrs.get("sweep", {})
    kind, values = goal
    wanted = kind if not values else f"{kind} {', '.join(f'{v:g}' for v in values)}"
    by_round = history.groupby(["round", "fidelity"], observed=True).agg(
        jobs=("job_id", "size"), samples=("estimated_samples", "sum"), best=("objective", "max"),
        mean=("objective", "mean")).reset_index()
    sections = [Section("Rounds", text=[
        f"{len(history)} jobs in {history['round'].nunique()} rounds for the goal '{wanted}', "
        f"{info.get('samples', int(history['estimated_samples'].sum()))} samples by the service's estimates.",
        "A re-run of the same script reattaches to every batch and pays nothing."],
        figures={"objective by round": rounds_figure(history)}, tables={"by round": by_round})]
    explored = history[history["fidelity"] == history["fidelity"].iloc[0]]
    params = [p for p in session.spec.names if p in explored.columns]
    try:
        table = effects(explored, "objective", params, spec=session.spec, n_boot=20)
    except InfinityError as err:
        sections.append(Section("What drives the objective", text=str(err)))
    else:
        sections.append(Section("What drives the objective", text=(
            f"{table['method'].iloc[0]} on {table['n'].iloc[0]} jobs; out-of-bag R² of the surrogate "
            f"{table.attrs['r2']:.2f}. The later rounds gather where the goal is, so these effects describe "
            "the explored jobs, not the whole space: for the whole space, sample it evenly (method='lhs') "
            "and call res.effects."), figures={"effects": effects_figure(table)}, tables={"effects": table}))
    chosen = history[history["fidelity"] == "video"]
    if chosen.empty:
        chosen = ranked(history, goal).head(_SHOWN)
    figure = _chosen_frames(chosen, folder)
    columns = ["round", "fidelity", "job_id", "objective", *[p for p in params if chosen[p].nunique() > 1]]
    sections.append(Section("Chosen jobs", figures={"frames": figure} if figure is not None else {},
                            tables={"chosen": chosen[columns]}))
    path = folder / "report.html"
    write_report(path, f"Sweep {info.get('name', '')}", sections, subtitle=session.generator)
    return path


def _chosen_frames(chosen: pd.DataFrame, folder: Path) -> Any:
    """Frames of the chosen jobs, read back from the sweep's folders (None when none are there)."""
    from ..plots import frames_figure
    from ..results import Results, read_results

    ids = set(chosen["job_id"])
    parts: dict[str, list[pd.DataFrame]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        res = read_results(sub)
        for name in ("jobs", "frames", "objects", "keypoints"):
            table = getattr(res, name)
            parts.setdefault(name, []).append(table[table["job_id"].astype(str).isin(ids)].astype(
                {"batch_id": str, "job_id": str}))
    if not parts or not sum(len(t) for t in parts["jobs"]):
        return None
    merged = Results({name: pd.concat(tables, ignore_index=True) for name, tables in parts.items()})
    return frames_figure(merged, n=min(_SHOWN, len(ids)))
