"""The README's demo, ``infinityframe demo``, from this checkout against a pristine checkout of a base commit.

Run: ``python benchmarks/bench_demo.py [--base ef92442] [--rounds 3] [--jobs 12]``.

The base commit is checked out into a temporary ``git worktree`` (removed afterwards); both
trees are byte-compiled first, as an installed package is. Each demo runs in a fresh
interpreter (``python -m infinityframe.cli demo``, the command the README's ``infinityframe
demo`` runs) with that tree's ``src`` first on the path, into a fresh output folder with a
fresh data dir and cache, so neither finds a service, a result or a submission record of
the other. The two alternate, round after round (the order swapped every round), so a load
that comes and goes hits both; the medians and their ratio are reported, with the CPU time
of the demo's process and of its render workers.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish

REPO = Path(__file__).resolve().parents[1]
BASE = "ef92442"


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _env(src: Path, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INFINITY_TOKEN", "INFINITY_SERVER", "PYTHONPATH")}
    # matplotlib's font cache stays the user's: a fresh one would be rebuilt by every run, as no user's is
    return {**env, "PYTHONPATH": str(src), "INFINITYFRAME_CACHE_DIR": str(scratch / "cache")}


def _which(src: Path, scratch: Path) -> Path:
    """The package a demo run will import: it must be the tree's own, not an installed copy."""
    code = "import infinityframe; print(infinityframe.__file__)"
    scratch.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", code], env=_env(src, scratch), capture_output=True, text=True,
                          check=True, cwd=scratch)
    return Path(done.stdout.strip()).resolve()


def run_demo(src: Path, scratch: Path, jobs: int) -> dict[str, float]:
    """One demo in a fresh interpreter, in a fresh folder; wall time and CPU of it and its workers."""
    scratch.mkdir(parents=True)
    load = os.getloadavg()[0]  # what else the two cores had to do as this run started
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "infinityframe.cli", "demo", "--out", "demo", "--jobs", str(jobs)],
                          env=_env(src, scratch), cwd=scratch, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not (scratch / "demo" / "report.html").is_file():
        raise RuntimeError(f"the demo from {src} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default=BASE, help=f"the commit to compare against (default {BASE})")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each demo, alternating (default 3)")
    parser.add_argument("--jobs", type=int, default=12, help="the demo's --jobs (default 12, as the README runs it)")
    args = parser.parse_args()

    base_commit = _git("rev-parse", "--short", args.base)
    head_commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        root = Path(tmp)
        base_tree = root / "base"
        _git("worktree", "add", "--detach", str(base_tree), args.base)
        try:
            trees = {"base": base_tree / "src", "this": REPO / "src"}
            for name, src in trees.items():
                compileall.compile_dir(src, quiet=1)
                imported = _which(src, root / f"which-{name}")
                if not imported.is_relative_to(src.resolve()):
                    raise RuntimeError(f"{name}: python imports {imported}, not the tree's own package under {src}")
            times: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            for round_number in range(args.rounds):
                order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
                for name in order:
                    result = run_demo(trees[name], root / f"{name}-{round_number}", args.jobs)
                    times[name].append(result)
                    print(f"round {round_number + 1}: {name:4s} {result['wall']:.2f} s wall, "
                          f"{result['cpu']:.2f} s CPU, load {result['load']:.1f}", flush=True)
        finally:
            _git("worktree", "remove", "--force", str(base_tree))

    median = {name: {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu")}
              for name, runs in times.items()}
    ratio = median["this"]["wall"] / median["base"]["wall"]
    # the two runs of a round met the same load: their ratio is the steadier figure
    paired = [t["wall"] / b["wall"] for t, b in zip(times["this"], times["base"], strict=True)]
    quietest = paired[min(range(len(paired)), key=lambda i: times["base"][i]["wall"])]
    lines = [header("The README's demo, against its base commit"),
             f"`infinityframe demo --jobs {args.jobs}` from a pristine worktree of {base_commit} (base) and from "
             f"this checkout, {head_commit}{' with uncommitted changes' if dirty else ''} (this); each in a fresh "
             f"interpreter, fresh output folder and data dir, {args.rounds} rounds alternating (order swapped every "
             "round). Wall time from the command's start to its exit; CPU is the demo's process and its render "
             "workers together. **This machine has 2 cores**, shared with other work while this ran: the load "
             "average as each run started was "
             f"{min(r['load'] for runs in times.values() for r in runs):.1f} to "
             f"{max(r['load'] for runs in times.values() for r in runs):.1f}.",
             "",
             "| demo | median wall s | median CPU s | rounds (wall s) |",
             "|---|---|---|---|"]
    for name, label in (("base", f"base ({base_commit})"), ("this", f"this ({head_commit})")):
        rounds = ", ".join(f"{r['wall']:.2f}" for r in times[name])
        lines.append(f"| {label} | {median[name]['wall']:.2f} | {median[name]['cpu']:.2f} | {rounds} |")
    lines += ["", f"**{ratio:.2f}×** the base's median wall time ({1 / ratio:.2f}× faster); round by round "
                  f"{', '.join(f'{r:.2f}×' for r in paired)} (median {statistics.median(paired):.2f}×, the least "
                  f"loaded round, where the base ran quickest, {quietest:.2f}×); "
                  f"CPU {median['this']['cpu'] / median['base']['cpu']:.2f}×."]
    publish(lines, "demo.md")


if __name__ == "__main__":
    main()
