"""Reading a batch's labels into tables, against the ways users read them today, in one run.

Run: ``python benchmarks/bench_results.py [--jobs 200] [--rounds 3]``, and
``python benchmarks/bench_results.py --scaling [--rounds 3]`` for how ``read_results`` grows
with the batch: uncached and cached reads of 20, 200 and 1,000 jobs (see :func:`scaling`). The real v0.4.0 batch in
``../shared/fixtures/infinity-v0.4.0/`` is replicated (under new job ids) into a temporary
batch folder of ``--jobs`` jobs. Each round runs every method once, in turn, each in a fresh
process, so its peak memory (max RSS above the process's RSS before reading) is its own and a
burst of load from elsewhere on the machine falls on neighbouring methods alike; ratios are
taken within a round and reported as the median and range over the rounds:

(a) bytes + ``orjson.loads`` of every labels.json and job.json — the lower bound of a full parse;
(b) ``json.load`` + ``pandas.json_normalize`` of images and annotations per file, then concat;
(c) ``pycocotools.COCO`` per file;
(d) ``infinityframe.read_results`` to all four tables (no cache);
and for reference: (a') msgspec's decode of every labels file against the schema ``read_results``
uses (annotation values kept as raw text, nothing built for the fields it skips), the floor of
that approach; (d') ``read_results(armature=True)``, which also parses the 3-D points.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "infinity-v0.4.0"

METHODS = {
    "orjson": """
import orjson
for p in sorted(batch.glob("*/labels.json")) + sorted(batch.glob("*/job.json")):
    orjson.loads(p.read_bytes())
""",
    "json_normalize": """
import json, pandas as pd
frames, objects = [], []
for p in sorted(batch.glob("*/labels.json")):
    with open(p) as fh:
        labels = json.load(fh)
    frames.append(pd.json_normalize(labels["images"]))
    objects.append(pd.json_normalize(labels["annotations"]))
frames, objects = pd.concat(frames), pd.concat(objects)
""",
    "pycocotools": """
import contextlib, io
from pycocotools.coco import COCO
with contextlib.redirect_stdout(io.StringIO()):
    cocos = [COCO(str(p)) for p in sorted(batch.glob("*/labels.json"))]
""",
    "infinityframe": """
import infinityframe as inf
res = inf.read_results(batch, cache=False)
assert len(res.jobs) > 0 and len(res.keypoints) > 0 and res.jobs["problem"].isna().all()
""",
    "msgspec_lazy": """
from typing import Any
import msgspec, orjson
class Labels(msgspec.Struct):
    images: list[dict[str, Any]]
    annotations: list[dict[str, msgspec.Raw]] = []
    categories: list[Any] = []
decoder = msgspec.json.Decoder(Labels)
for p in sorted(batch.glob("*/labels.json")):
    decoder.decode(p.read_bytes())
for p in sorted(batch.glob("*/job.json")):
    orjson.loads(p.read_bytes())
""",
    "infinityframe_armature": """
import infinityframe as inf
res = inf.read_results(batch, cache=False, armature=True)
assert len(res.keypoints) > 0 and res.jobs["problem"].isna().all()
""",
    "infinityframe_cached": """
import infinityframe as inf
res = inf.read_results(batch)
assert len(res.jobs) > 0 and len(res.keypoints) > 0 and res.jobs["problem"].isna().all()
""",
}
LABELS = {"orjson": "(a) bytes + orjson.loads", "json_normalize": "(b) json.load + json_normalize",
          "pycocotools": "(c) pycocotools.COCO", "infinityframe": "(d) infinityframe.read_results",
          "msgspec_lazy": "(a') msgspec lazy decode", "infinityframe_armature": "(d') read_results(armature=True)"}

# The comparison of methods (the scaling report reads with and without the cache instead).
COMPARED = [m for m in METHODS if m != "infinityframe_cached"]

RUNNER = """
import resource, sys, time
from pathlib import Path
batch = Path(sys.argv[1])
{imports}
def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) / 1024
before = rss_mb()
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(elapsed, peak - before)
"""

IMPORTS = {
    "orjson": "import orjson",
    "json_normalize": "import json, pandas as pd",
    "pycocotools": "from pycocotools.coco import COCO",
    "infinityframe": "import infinityframe as inf",
    "msgspec_lazy": "import msgspec, orjson",
    "infinityframe_armature": "import infinityframe as inf",
    "infinityframe_cached": "import infinityframe as inf",
}


def replicate(dest: Path, jobs: int, *, vary: bool = False) -> int:
    """A batch folder of ``jobs`` jobs copied from the fixture's; returns the labels' bytes.

    With ``vary``, every job gets its own parameters, as in a sampled sweep: each float
    parameter of the copied job.json is scaled by a factor drawn per job (seeded), so that no
    two jobs share a value and a dictionary of parameter values has one entry per job.
    """
    sources = sorted(p for p in FIXTURE.iterdir() if p.is_dir())
    (dest / "batch_id.txt").write_text((FIXTURE / "batch_id.txt").read_text())
    rng = random.Random(0)
    total = 0
    for i in range(jobs):
        src = sources[i % len(sources)]
        job = dest / str(uuid.UUID(int=i))
        job.mkdir()
        shutil.copyfile(src / "labels.json", job / "labels.json")
        if vary:
            spec = json.loads((src / "job.json").read_text())
            spec["params"] = {k: v * (1 + rng.uniform(-0.05, 0.05)) if isinstance(v, float) else v
                              for k, v in spec["params"].items()}
            (job / "job.json").write_text(json.dumps(spec, indent=4))
        else:
            shutil.copyfile(src / "job.json", job / "job.json")
        total += (job / "labels.json").stat().st_size + (job / "job.json").stat().st_size
    return total


def run(method: str, batch: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds and peak MB of one fresh process reading ``batch`` by ``method``."""
    script = RUNNER.format(imports=IMPORTS[method], body=METHODS[method])
    out = subprocess.run([sys.executable, "-c", script, str(batch)], capture_output=True, text=True, check=True,
                         env=env)
    elapsed, memory = map(float, out.stdout.split()[:2])
    return elapsed, memory


SCALING_SIZES = (20, 200, 1000)
SCALING_MARKER = "## How reading grows with the batch"


def scaling(rounds: int) -> list[str]:
    """Uncached and cached ``read_results`` of 20, 200 and 1,000 varied jobs: seconds and peak MB.

    Each read runs in a fresh process with its own cache dir (``$INFINITYFRAME_CACHE_DIR`` in
    a temporary folder); the cache is written by one unmeasured read first. A round reads
    every size once each way; times are medians over the rounds, memory the highest peak.
    """
    times: dict[tuple[str, int], list[float]] = {}
    memory: dict[tuple[str, int], float] = {}
    sizes: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "INFINITYFRAME_CACHE_DIR": str(Path(tmp) / "cache")}
        batches = {}
        for n in SCALING_SIZES:
            batches[n] = Path(tmp) / f"jobs-{n}"
            batches[n].mkdir()
            sizes[n] = replicate(batches[n], n, vary=True)
            run("infinityframe_cached", batches[n], env)  # writes the cache
        for _ in range(rounds):
            for n in SCALING_SIZES:
                for method in ("infinityframe", "infinityframe_cached"):
                    elapsed, peak = run(method, batches[n], env)
                    times.setdefault((method, n), []).append(elapsed)
                    memory[(method, n)] = max(memory.get((method, n), 0.0), peak)
    lines = [SCALING_MARKER, "",
             f"`python benchmarks/bench_results.py --scaling --rounds {rounds}`: `read_results` of batches of "
             f"20, 200 and 1,000 jobs, replicated from the fixture with every float parameter varied per job "
             "(a sampled sweep: no two jobs share a value). Each read in a fresh process; uncached "
             "(`cache=False`, parsing the JSON) and cached (the parquet cache of an earlier read). "
             f"{rounds} rounds; times are medians, memory the highest peak RSS above the process's RSS "
             "before reading.", "",
             "| jobs | JSON (MB) | uncached (s) | cached (s) | uncached peak (MB) | cached peak (MB) |",
             "|---|---|---|---|---|---|"]
    for n in SCALING_SIZES:
        lines.append(f"| {n:,} | {sizes[n] / 1e6:.0f} | "
                     f"{statistics.median(times[('infinityframe', n)]):.2f} | "
                     f"{statistics.median(times[('infinityframe_cached', n)]):.2f} | "
                     f"{memory[('infinityframe', n)]:.0f} | {memory[('infinityframe_cached', n)]:.0f} |")
    lines += ["", "| ratio | uncached | cached |", "|---|---|---|"]
    for small, big in ((20, 200), (200, 1000)):
        cells = []
        for method in ("infinityframe", "infinityframe_cached"):
            per_round = [b / a for a, b in zip(times[(method, small)], times[(method, big)], strict=True)]
            cells.append(f"{spread(per_round)} time, {memory[(method, big)] / max(memory[(method, small)], 1):.2f}× "
                         "peak")
        lines.append(f"| {big:,} / {small:,} jobs ({big // small}× the jobs) | {cells[0]} | {cells[1]} |")
    top = max(SCALING_SIZES)
    worst = max(max(b / a for a, b in zip(times[(m, 200)], times[(m, top)], strict=True))
                for m in ("infinityframe", "infinityframe_cached"))
    median = max(statistics.median(b / a for a, b in zip(times[(m, 200)], times[(m, top)], strict=True))
                 for m in ("infinityframe", "infinityframe_cached"))
    cached_peak, json_peak = memory[("infinityframe_cached", top)], memory[("infinityframe", top)]
    json_mb = sizes[top] / 1e6
    lines += ["", f"Targets: 1,000 jobs ≤ 5.5× the time of 200, cached or not: median {median:.2f}×, worst round "
              f"{worst:.2f}× ({'met' if median <= 5.5 else 'NOT met'}); peak memory below the JSON's size, cached "
              f"or not: {json_peak:.0f} MB uncached and {cached_peak:.0f} MB cached against {json_mb:.0f} MB of JSON "
              f"({'met' if max(cached_peak, json_peak) < json_mb else 'NOT met'}: {json_peak / json_mb:.2f}× and "
              f"{cached_peak / json_mb:.2f}×). The cached read's peak is "
              f"{'below' if cached_peak < json_peak else 'above'} the uncached read's."]
    return lines


def publish_scaling(lines: list[str]) -> None:
    """Print the scaling report and put it in results_read.md, after the comparison of methods."""
    print("\n".join(lines))
    path = Path(__file__).parent / "results" / "results_read.md"
    text = path.read_text() if path.exists() else ""
    kept = text.split(SCALING_MARKER)[0].rstrip("\n")
    path.write_text((kept + "\n\n" if kept else "") + re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n")


def spread(values: list[float], digits: int = 2) -> str:
    """Median and range, e.g. ``1.21× (1.10–1.35)``."""
    low, high = min(values), max(values)
    return f"{statistics.median(values):.{digits}f}× ({low:.{digits}f}–{high:.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scaling", action="store_true",
                        help="uncached and cached reads of 20, 200 and 1,000 jobs instead of the comparison")
    args = parser.parse_args()
    if not FIXTURE.exists():
        sys.exit(f"the fixture is not at {FIXTURE}: this benchmark reads the real batch")
    if args.scaling:
        publish_scaling(scaling(args.rounds))
        return
    times: dict[str, list[float]] = {m: [] for m in COMPARED}
    memory: dict[str, float] = dict.fromkeys(COMPARED, 0.0)
    # The floor and ours run next to each other, so that their ratio sees the same load.
    order = ["orjson", "infinityframe", "msgspec_lazy", "infinityframe_armature", "pycocotools", "json_normalize"]
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp)
        json_bytes = replicate(batch, args.jobs)
        for _ in range(args.rounds):
            for method in order:
                elapsed, peak = run(method, batch)
                times[method].append(elapsed)
                memory[method] = max(memory[method], peak)
    ours, floor = times["infinityframe"], times["orjson"]
    per_round = {m: [t / f for t, f in zip(times[m], floor, strict=True)] for m in COMPARED}
    faster = {m: [t / o for t, o in zip(times[m], ours, strict=True)] for m in COMPARED}
    lines = [header(f"Reading {args.jobs} VisionFit v0.4.0 jobs ({json_bytes / 1e6:.0f} MB of JSON)"),
             f"{args.rounds} rounds; in each, every method once in a fresh process. Times are medians over the "
             "rounds; ratios are taken within each round, shown as median (min–max). Memory is the highest "
             "peak RSS above the process's RSS before reading.\n",
             "| method | time (s) | × orjson floor | infinityframe faster by | peak memory (MB) | × JSON bytes |",
             "|---|---|---|---|---|---|"]
    for method in ["orjson", "msgspec_lazy", "json_normalize", "pycocotools", "infinityframe",
                   "infinityframe_armature"]:
        lines.append(f"| {LABELS[method]} | {statistics.median(times[method]):.2f} | {spread(per_round[method])} | "
                     f"{spread(faster[method], 1)} | {memory[method]:.0f} | "
                     f"{memory[method] * 1e6 / json_bytes:.2f}× |")
    ratio, speedup = statistics.median(per_round["infinityframe"]), statistics.median(faster["json_normalize"])
    share = memory["infinityframe"] * 1e6 / json_bytes
    lines += ["", "Targets (issue 5): "
              f"ours ≤ 1.5× the floor: {ratio:.2f}× {'met' if max(per_round['infinityframe']) <= 1.5 else 'NOT met'}"
              f" in every round; ≥ 7× faster than (b): {speedup:.1f}× "
              f"{'met' if min(faster['json_normalize']) >= 7 else 'NOT met'} in every round; peak memory ≤ 3× the "
              f"JSON bytes: {share:.2f}× {'met' if share <= 3 else 'NOT met'}."]
    publish(lines, "results_read.md")
    print(json.dumps({m: {"seconds": times[m], "peak_mb": memory[m]} for m in COMPARED}))


if __name__ == "__main__":
    main()
