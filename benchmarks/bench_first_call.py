"""A script's first sample + validate, against the real infinity-core and against the obvious
hand-written numpy + pandera code, cold and warm, in one run.

Run: ``python benchmarks/bench_first_call.py [--jobs 100000] [--fresh 5] [--repeat 3]``.

All three sides draw and check 100,000 jobs of the same 30-parameter generator,
``visionfit-flagship-v0.1.0``:

* infinity-core itself, unchanged, from ``../shared/vendor/infinity-core``, on the local
  service: ``[sesh.random_job() for _ in range(n)]`` then ``sesh.validate_job_params(jobs)``;
* what a user would write by hand with numpy and pandera, from the generator's parameter list
  (read beforehand, as from the service's metadata): one ``rng.uniform`` / ``rng.integers`` /
  ``rng.choice`` per parameter over its range or choices, a rejection loop that re-draws the
  rows breaking the generator's joint constraint, a pandas DataFrame, and a pandera
  ``DataFrameSchema`` (a ``Column`` with its dtype and ``Check.in_range`` / ``Check.isin`` per
  parameter, the constraint as a dataframe-wide ``Check``) built on the first call and then
  ``.validate``-d;
* infinityframe: ``sesh.sample(n, prior="uniform")`` (infinity-core's law: every parameter over its
  whole range, not the generator's recommended distributions) then ``df.infinity.validate(sesh)``.

*Cold* is what a script pays: each side in ``--fresh`` new interpreters, timing only the first
call (imports and the session's first request excluded, as every side needs them; bytecode
compiled beforehand, as an installed package has it); the median is reported. *Warm* is the
best of the later calls (``--repeat`` in each fresh interpreter, one for infinity-core after
its first). The sides alternate, round after round, so a load that comes and goes hits all three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infinityframe as inf
from _machine import header, publish
from infinityframe.local.generators import get

GENERATOR = "visionfit-flagship-v0.1.0"
CORE = Path(__file__).resolve().parents[1].parent / "shared" / "vendor" / "infinity-core"

_BASELINE = """
import json, random, sys, time
from infinity_core.session import Session
url, token, generator, n, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sesh = Session(token=token, generator=generator, server=url)
random.seed(0)
def run():
    t = time.perf_counter()
    jobs = [sesh.random_job() for _ in range(n)]
    errors = sesh.validate_job_params(jobs)
    elapsed = time.perf_counter() - t
    assert not any(errors), [e for e in errors if e][:3]
    return elapsed
first = run()
print(json.dumps({"first": first, "warm": min(run() for _ in range(repeat))}))
"""

_OURS = """
import json, sys, time
import infinityframe as inf
url, token, generator, n, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sesh = inf.Session(token, generator, server=url)
sesh.spec  # the session's first request (the generator's metadata), as infinity-core's Session makes it
def run(seed):
    t = time.perf_counter()
    df = sesh.sample(n, seed=seed, prior="uniform")  # the same law as random_job: the whole ranges
    out = df.infinity.validate(sesh)
    elapsed = time.perf_counter() - t
    assert len(out) == n
    return elapsed
first = run(0)
print(json.dumps({"first": first, "warm": min(run(i + 1) for i in range(repeat)),
                  "scipy_loaded": "scipy" in sys.modules}))
"""


_HANDWRITTEN = """
import json, sys, time
import numpy as np
import pandas as pd
import pandera.pandas as pa
meta_path, n, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(meta_path) as fh:
    params = json.load(fh)["params"]
schema = None

def draw(rng, p, n):
    options = p["options"] or {}
    if "choices" in options:
        return rng.choice(options["choices"], n)
    if p["type"] == "float":
        return rng.uniform(options["min"], options["max"], n)
    if p["type"] == "int":
        return rng.integers(options["min"], options["max"] + 1, n)
    if p["type"] == "bool":
        return rng.integers(0, 2, n).astype(bool)
    return np.full(n, p["default_value"], dtype=object)  # state: no previous job

def column(p):
    options = p["options"] or {}
    dtype = {"int": "int64", "float": "float64", "bool": bool, "str": str, "uuid": object}[p["type"]]
    if "choices" in options:
        checks = [pa.Check.isin(options["choices"])]
    elif "min" in options:
        checks = [pa.Check.in_range(options["min"], options["max"])]
    else:
        checks = []
    return pa.Column(dtype, checks, nullable=p["type"] == "uuid")

def run(seed):
    global schema
    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    cols = {p["name"]: draw(rng, p, n) for p in params}
    # The generator's joint constraint: re-draw the pair on the rows that break it.
    bad = cols["inter_rep_delay_var"] > cols["inter_rep_delay_avg"]
    while bad.any():
        k = int(bad.sum())
        cols["inter_rep_delay_avg"][bad] = rng.uniform(0.0, 2.0, k)
        cols["inter_rep_delay_var"][bad] = rng.uniform(0.0, 2.0, k)
        bad = cols["inter_rep_delay_var"] > cols["inter_rep_delay_avg"]
    df = pd.DataFrame(cols)
    if schema is None:
        schema = pa.DataFrameSchema(
            {p["name"]: column(p) for p in params},
            checks=[pa.Check(lambda d: d["inter_rep_delay_var"] <= d["inter_rep_delay_avg"],
                             name="inter_rep_delay_spread")])
    out = schema.validate(df)
    elapsed = time.perf_counter() - t
    assert len(out) == n
    return elapsed

first = run(0)
print(json.dumps({"first": first, "warm": min(run(i + 1) for i in range(repeat))}))
"""


def fresh(code: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         timeout=900, env=env)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--fresh", type=int, default=5, help="new interpreters per side")
    parser.add_argument("--repeat", type=int, default=3, help="warm calls after the first")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    if not (CORE / "infinity_core").is_dir():
        sys.exit(f"infinity-core is not at {CORE} (../shared/vendor): nothing to compare against")
    base: list[dict[str, float]] = []
    hand: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []
    with (tempfile.TemporaryDirectory() as data_dir, tempfile.TemporaryDirectory() as pycache,
          inf.serve(data_dir, rate_limit=None, executor="thread") as svc):
        meta = Path(data_dir) / "generator.json"
        generator = get(GENERATOR)
        assert generator is not None
        meta.write_text(json.dumps(generator.metadata()))  # what GET /api/jobs/<name>/ returns

        def service_args(n: int, repeat: int) -> list[str]:
            return [svc.url, svc.token, GENERATOR, str(n), str(repeat)]

        # Compiled bytecode, as a pip-installed package has it: written once, outside the
        # (read-only) sources, by an untimed run of each side.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=os.pathsep.join([str(CORE), os.environ.get("PYTHONPATH", "")]),
                   PYTHONPYCACHEPREFIX=pycache)
        fresh(_BASELINE, service_args(10, 1), env)
        fresh(_HANDWRITTEN, [str(meta), "10", "1"], env)
        fresh(_OURS, service_args(10, 1), env)
        for i in range(args.fresh):  # alternate, so a load that comes and goes hits every side
            base.append(fresh(_BASELINE, service_args(args.jobs, args.repeat if i == 0 else 1), env))
            hand.append(fresh(_HANDWRITTEN, [str(meta), str(args.jobs), str(args.repeat)], env))
            ours.append(fresh(_OURS, service_args(args.jobs, args.repeat), env))
    cold = [statistics.median(r["first"] for r in side) for side in (base, hand, ours)]
    warm = [min(r["warm"] for r in side) for side in (base, hand, ours)]
    lines = [
        header(f"A script's first sample + validate of {args.jobs:,} jobs ({GENERATOR}, 30 parameters)"),
        f"Cold: the first call in each of {args.fresh} fresh interpreters per side (median; imports and the "
        "session's first request excluded). Warm: the best of the later calls. The three sides alternate, "
        f"round after round. scipy loaded by infinityframe's first call: {any(r['scipy_loaded'] for r in ours)}. "
        f"Load average (1 min) before and after: {load_before:.2f}, {os.getloadavg()[0]:.2f}.\n",
        "| | infinity-core (s) | numpy + pandera by hand (s) | infinityframe (s) | speed-up on infinity-core "
        "| time of the hand-written code |",
        "|---|---|---|---|---|---|",
    ]
    for label, (b, h, o) in (("cold (first call)", cold), ("warm", warm)):
        lines.append(f"| {label} | {b:.3f} | {h:.3f} | {o:.3f} | **{b / o:.0f}×** | **{o / h:.2f}×** |")
    lines.append(f"| cold ÷ warm | {cold[0] / warm[0]:.2f} | {cold[1] / warm[1]:.2f} | {cold[2] / warm[2]:.2f} | | |")
    publish(lines, "first_call.md")


if __name__ == "__main__":
    main()
