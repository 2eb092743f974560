"""The Gaussian process ``sesh.suggest`` fits (``learn/gp.py``), against scikit-learn's, side by side.

Run: ``python benchmarks/bench_gp.py [--fresh 5] [--histories 20]``.

Both fit the same model (a constant times a Matérn 5/2 kernel with a length scale per input,
plus white noise, normalised target, L-BFGS-B with two restarts) on the same random histories of
12 to 48 jobs over 1 to 4 inputs, then predict 512 candidates, as ``suggest`` does. Each side
runs in ``--fresh`` new interpreters with numpy, pandas and the package imported first (what a
script has loaded before it suggests): the *first call* is the import of the model's module
and its first fit and prediction (what the script pays), the *warm* figure the median of the
other fits in the same interpreter. scikit-learn is the real library, not a copy of it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish

_CODE = """
import json, sys, time, warnings
import numpy as np, pandas, infinityframe  # what a script that suggests has loaded already
side, histories = sys.argv[1], int(sys.argv[2])
warnings.simplefilter("ignore")

def history(i):
    rng = np.random.default_rng(i)
    jobs, inputs = int(rng.integers(12, 49)), int(rng.integers(1, 5))
    x = rng.uniform(size=(jobs, inputs))
    return x, 40 * np.sin(5 * x[:, 0]) + 10 * x[:, -1] + rng.normal(0, 2, jobs), rng.uniform(size=(512, inputs))

def ours(x, y, pool, seed):
    from infinityframe.learn import gp
    return gp.fit(x, y, seed).predict(pool)

def theirs(x, y, pool, seed):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(x.shape[1], 0.5), (1e-2, 1e2), nu=2.5)
              + WhiteKernel(1e-2, (1e-6, 1.0)))
    model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
    return model.fit(x, y).predict(pool, return_std=True)

fit = ours if side == "ours" else theirs
times = []
for i in range(histories):
    x, y, pool = history(i)
    t0 = time.perf_counter()
    fit(x, y, pool, i)
    times.append(time.perf_counter() - t0)
print(json.dumps({"first": times[0], "warm": sorted(times[1:])[len(times[1:]) // 2],
                  "sklearn": "sklearn" in sys.modules}))
"""


def run(side: str, histories: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CODE, side, str(histories)], capture_output=True, text=True,
                         check=True)
    import json

    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", type=int, default=5, help="new interpreters per side, alternating")
    parser.add_argument("--histories", type=int, default=20, help="fits in each interpreter")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "scikit-learn": []}
    for _ in range(args.fresh):
        runs["ours"].append(run("ours", args.histories))
        runs["scikit-learn"].append(run("theirs", args.histories))
    assert not any(r["sklearn"] for r in runs["ours"]), "learn/gp.py imported scikit-learn"
    med = {side: {k: statistics.median(r[k] for r in rs) for k in ("first", "warm")} for side, rs in runs.items()}
    lines = [header("suggest's Gaussian process against scikit-learn's"),
             f"The same model fitted and asked for 512 predictions, on {args.histories} random histories "
             f"(12–48 jobs, 1–4 inputs) in each of {args.fresh} fresh interpreters per side, alternating; "
             "numpy, pandas and infinityframe imported first. First call: the model's import, fit and "
             "prediction on the first history; warm: the median of the others. Medians over the "
             "interpreters. `python benchmarks/bench_gp.py`.\n",
             "| model | first call (s) | warm fit + predict (s) |", "|---|---:|---:|"]
    for side in ("ours", "scikit-learn"):
        label = "`learn/gp.py` (numpy, scipy)" if side == "ours" else "scikit-learn `GaussianProcessRegressor`"
        lines.append(f"| {label} | {med[side]['first']:.3f} | {med[side]['warm']:.4f} |")
    lines += ["", f"**{med['scikit-learn']['first'] / med['ours']['first']:.1f}×** quicker on the first call, "
              f"**{med['scikit-learn']['warm'] / med['ours']['warm']:.1f}×** warm; the fresh interpreters that "
              "ran `learn/gp.py` never imported scikit-learn."]
    publish(lines, "gp.md")


if __name__ == "__main__":
    main()
