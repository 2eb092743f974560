"""Reading a batch's labels into tables, against the ways users read them today, in one run.

Run: ``python benchmarks/bench_results.py [--jobs 200]``. The real v0.4.0 batch in
``../shared/fixtures/infinity-v0.4.0/`` is replicated (under new job ids) into a temporary
batch folder of ``--jobs`` jobs. Each method runs in a fresh process, so its peak memory (max
RSS above the process's RSS before reading) is its own:

(a) bytes + ``orjson.loads`` of every labels.json and job.json — the lower bound;
(b) ``json.load`` + ``pandas.json_normalize`` of images and annotations per file, then concat;
(c) ``pycocotools.COCO`` per file;
(d) ``infinityframe.read_results`` to all four tables (no cache).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header

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
assert len(res.jobs) > 0 and len(res.keypoints) > 0
""",
}

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
}


def replicate(dest: Path, jobs: int) -> int:
    """A batch folder of ``jobs`` jobs copied from the fixture's; returns the labels' bytes."""
    sources = sorted(p for p in FIXTURE.iterdir() if p.is_dir())
    (dest / "batch_id.txt").write_text((FIXTURE / "batch_id.txt").read_text())
    total = 0
    for i in range(jobs):
        src = sources[i % len(sources)]
        job = dest / str(uuid.UUID(int=i))
        job.mkdir()
        for name in ("job.json", "labels.json"):
            shutil.copyfile(src / name, job / name)
        total += (job / "labels.json").stat().st_size + (job / "job.json").stat().st_size
    return total


def run(method: str, batch: Path, repeat: int) -> tuple[float, float]:
    script = RUNNER.format(imports=IMPORTS[method], body=METHODS[method])
    best_time, peak = float("inf"), 0.0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", script, str(batch)], capture_output=True, text=True, check=True)
        elapsed, memory = map(float, out.stdout.split())
        best_time, peak = min(best_time, elapsed), max(peak, memory)
    return best_time, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not FIXTURE.exists():
        sys.exit(f"the fixture is not at {FIXTURE}: this benchmark reads the real batch")
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp)
        json_bytes = replicate(batch, args.jobs)
        results = {m: run(m, batch, args.repeat if m != "json_normalize" else 1) for m in METHODS}
    floor = results["orjson"][0]
    ours = results["infinityframe"][0]
    lines = [header(f"Reading {args.jobs} VisionFit v0.4.0 jobs ({json_bytes / 1e6:.0f} MB of JSON)"),
             f"Best of {args.repeat} runs (json_normalize: 1), each in a fresh process; memory is peak RSS "
             "above the process's RSS before reading.\n",
             "| method | time (s) | × orjson floor | infinityframe faster by | peak memory (MB) | × JSON bytes |",
             "|---|---|---|---|---|---|"]
    for method, (elapsed, memory) in results.items():
        lines.append(f"| {method} | {elapsed:.2f} | {elapsed / floor:.2f}× | {elapsed / ours:.1f}× | {memory:.0f} | "
                     f"{memory * 1e6 / json_bytes:.2f}× |")
    report = "\n".join(lines) + "\n"
    print(report)
    (Path(__file__).parent / "results" / "results_read.md").write_text(report)
    print(json.dumps({m: {"seconds": t, "peak_mb": mb} for m, (t, mb) in results.items()}))


if __name__ == "__main__":
    main()
