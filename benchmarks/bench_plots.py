"""``res.plot``'s regression (one dot per job, a linear fit, its bootstrapped 95% band) against seaborn's ``regplot``.

Run: ``python benchmarks/bench_plots.py [--fresh 5] [--repeats 10]``.

Both draw the same figure onto the same axes, in the figures' style: the dots, the line and a
band of 1,000 resamples of the jobs, seeded (``plots._regression``, and ``sns.regplot`` with the
settings ``res.plot`` passed it before; the tests hold the two to each other point for point).
Each side runs in ``--fresh`` new interpreters, alternating, with numpy, pandas, matplotlib's
Figure and the package imported first (what a script that plots its results has loaded). The
*first call* is what ``res.plot`` paid before its first regression appeared: seaborn's import
for ``regplot`` (pyplot and scipy.stats come with it), nothing for ours, then the drawing of the
artists; the *warm* figure is the median of ``--repeats`` more in the same interpreter. The
figure is not rendered: both sides hand the same artists to the same canvas. Sweeps of 6, 100
and 1,000 jobs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish

_CODE = """
import json, sys, time
import numpy as np, pandas, infinityframe, infinityframe.plots  # what a script that plots has loaded
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from infinityframe.plots import _N_BOOT, _SEED, _regression, figure_style
side, jobs, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(jobs)
x = rng.uniform(1.5, 5.0, jobs)
y = 200 - 25 * x + rng.normal(0, 8, jobs)

def draw():
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    with figure_style():
        if side == "ours":
            _regression(ax, x, y, "C0", None)
        else:
            import seaborn as sns
            sns.regplot(x=x, y=y, ax=ax, ci=95, n_boot=_N_BOOT, seed=_SEED, color="C0", truncate=True,
                        scatter_kws={"s": 14, "alpha": 0.6, "zorder": 3}, line_kws={"lw": 2})
    return ax

times = []
for _ in range(repeats + 1):
    t0 = time.perf_counter()
    ax = draw()
    times.append(time.perf_counter() - t0)
band = ax.collections[1].get_paths()[0].vertices
print(json.dumps({"first": times[0], "warm": sorted(times[1:])[len(times[1:]) // 2],
                  "seaborn": "seaborn" in sys.modules, "scipy.stats": "scipy.stats" in sys.modules,
                  "band": [float(band[:, 1].min()), float(band[:, 1].max())]}))
"""

JOBS = (6, 100, 1000)


def run(side: str, jobs: int, repeats: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CODE, side, str(jobs), str(repeats)], capture_output=True,
                         text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def same_band(a: list[float], b: list[float]) -> bool:
    return all(abs(p - q) <= 1e-9 * max(1.0, abs(q)) for p, q in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", type=int, default=5, help="new interpreters per side and size, alternating")
    parser.add_argument("--repeats", type=int, default=10, help="warm draws in each interpreter")
    args = parser.parse_args()
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(args.fresh):
        for jobs in JOBS:
            for side in ("ours", "seaborn"):
                runs.setdefault((side, jobs), []).append(run(side, jobs, args.repeats))
    for jobs in JOBS:  # the same band, and ours never loads seaborn or scipy.stats
        ours, theirs = runs[("ours", jobs)][0], runs[("seaborn", jobs)][0]
        assert same_band(ours["band"], theirs["band"]), (jobs, ours["band"], theirs["band"])
        assert not any(r["seaborn"] or r["scipy.stats"] for r in runs[("ours", jobs)])

    def med(side: str, jobs: int, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[(side, jobs)])

    lines = [header("res.plot's regression against seaborn's regplot"),
             f"The same dots, line and 95% band (1,000 resamples of the jobs) drawn onto one axes, in "
             f"{args.fresh} fresh interpreters per side and size, alternating; numpy, pandas, matplotlib's "
             "Figure and infinityframe imported first. First call: seaborn's import (for `regplot`) and "
             f"the first drawing; warm: the median of {args.repeats} more. Medians over the interpreters. "
             "`python benchmarks/bench_plots.py`.\n",
             "| jobs | ours, first call (s) | `regplot`, first call (s) | ratio | ours, warm (s) "
             "| `regplot`, warm (s) | ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for jobs in JOBS:
        first = med("ours", jobs, "first"), med("seaborn", jobs, "first")
        warm = med("ours", jobs, "warm"), med("seaborn", jobs, "warm")
        lines.append(f"| {jobs:,} | {first[0]:.3f} | {first[1]:.3f} | **{first[0] / first[1]:.2f}×** | "
                     f"{warm[0]:.4f} | {warm[1]:.4f} | **{warm[0] / warm[1]:.2f}×** |")
    lines += ["", "Ratios are ours over seaborn's (below 1: quicker). Both drew the same band (checked here on "
              "each size's first interpreter; `tests/test_plots.py` checks every artist). The interpreters that "
              "drew ours never imported seaborn or scipy.stats."]
    publish(lines, "plots.md")


if __name__ == "__main__":
    main()
