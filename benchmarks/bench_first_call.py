"""A script's first sample + validate, against the real infinity-core, cold and warm, in one run.

Run: ``python benchmarks/bench_first_call.py [--jobs 100000] [--fresh 5] [--repeat 3]``.

Both sides talk to the same local service and the same 30-parameter generator,
``visionfit-flagship-v0.1.0``. The baseline is infinity-core itself, unchanged, from
``../shared/vendor/infinity-core``: ``[sesh.random_job() for _ in range(n)]`` then
``sesh.validate_job_params(jobs)``. infinityframe: ``sesh.sample(n)`` then
``df.infinity.validate(sesh)``.

*Cold* is what a script pays: each side in ``--fresh`` new interpreters, timing only the first
call (imports and the session's first request excluded, as both need them; bytecode compiled
beforehand, as an installed package has it); the median is reported. *Warm* is the best of
``--repeat`` further calls in one of those processes.
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
    df = sesh.sample(n, seed=seed)
    out = df.infinity.validate(sesh)
    elapsed = time.perf_counter() - t
    assert len(out) == n
    return elapsed
first = run(0)
print(json.dumps({"first": first, "warm": min(run(i + 1) for i in range(repeat)),
                  "scipy_loaded": "scipy" in sys.modules}))
"""


def fresh(code: str, svc: inf.Service, n: int, repeat: int, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, svc.url, svc.token, GENERATOR, str(n), str(repeat)],
                         capture_output=True, text=True, check=True, timeout=900, env=env)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--fresh", type=int, default=5, help="new interpreters per side")
    parser.add_argument("--repeat", type=int, default=3, help="warm calls after the first")
    args = parser.parse_args()
    if not (CORE / "infinity_core").is_dir():
        sys.exit(f"infinity-core is not at {CORE} (../shared/vendor): nothing to compare against")
    base, ours = [], []
    with (tempfile.TemporaryDirectory() as data_dir, tempfile.TemporaryDirectory() as pycache,
          inf.serve(data_dir, rate_limit=None, executor="thread") as svc):
        # Compiled bytecode, as a pip-installed package has it: written once, outside the
        # (read-only) sources, by an untimed run of each side.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=os.pathsep.join([str(CORE), os.environ.get("PYTHONPATH", "")]),
                   PYTHONPYCACHEPREFIX=pycache)
        fresh(_BASELINE, svc, 10, 1, env)
        fresh(_OURS, svc, 10, 1, env)
        for i in range(args.fresh):  # alternate, so a load that comes and goes hits both sides
            base.append(fresh(_BASELINE, svc, args.jobs, args.repeat if i == 0 else 1, env))
            ours.append(fresh(_OURS, svc, args.jobs, args.repeat, env))
    base_cold = statistics.median(r["first"] for r in base)
    ours_cold = statistics.median(r["first"] for r in ours)
    base_warm = min(r["warm"] for r in base)
    ours_warm = min(r["warm"] for r in ours)
    lines = [
        header(f"A script's first sample + validate of {args.jobs:,} jobs ({GENERATOR}, 30 parameters)"),
        f"Cold: the first call in each of {args.fresh} fresh interpreters per side (median; imports and the "
        f"session's first request excluded). Warm: the best of the later calls. scipy loaded by infinityframe's "
        f"first call: {any(r['scipy_loaded'] for r in ours)}.\n",
        "| | infinity-core (s) | infinityframe (s) | speed-up |",
        "|---|---|---|---|",
        f"| cold (first call) | {base_cold:.3f} | {ours_cold:.3f} | **{base_cold / ours_cold:.0f}×** |",
        f"| warm | {base_warm:.3f} | {ours_warm:.3f} | **{base_warm / ours_warm:.0f}×** |",
        f"| cold ÷ warm | {base_cold / base_warm:.2f} | {ours_cold / ours_warm:.2f} | |",
    ]
    publish(lines, "first_call.md")


if __name__ == "__main__":
    main()
