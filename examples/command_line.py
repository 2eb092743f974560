"""The command line, step by step: check a CSV of jobs, submit it, submit it again, download it.

Each step runs ``infinityframe`` as a shell would (here through ``python -m infinityframe``) on
the embedded service in OUT_DIR, and prints what it said and its exit status.

Run: ``python examples/command_line.py [OUT_DIR]``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

JOBS = """exercise,camera_distance,num_reps,frame_rate,image_width,image_height,add_wall_art
SQUAT,2.0,1,6,128,128,true
LUNGE,3.5,1,6,128,128,
"""
# A sheet with a typo, a value out of range and a lost value: all three are reported at once.
BAD = JOBS + "PUSHUP,9.0,one,6,128,128,nan\n"


def infinityframe(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INFINITYFRAME_DATA_DIR": str(out / "service"), "INFINITYFRAME_CACHE_DIR": str(out / "cache")}
    env.pop("INFINITY_TOKEN", None)
    env.pop("INFINITY_SERVER", None)
    done = subprocess.run([sys.executable, "-m", "infinityframe", *args], capture_output=True, text=True,
                          env=env, check=False)
    print(f"$ infinityframe {' '.join(args).replace(str(out) + '/', '')}   # exit {done.returncode}")
    for line in (done.stdout + done.stderr).splitlines():
        print(f"    {line}")
    return done


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "jobs.csv").write_text(JOBS)
    (out / "bad.csv").write_text(BAD)
    jobs, bad = str(out / "jobs.csv"), str(out / "bad.csv")
    infinityframe("--version", out=out)
    assert infinityframe("submit", bad, "-g", "stickfit-v0.1.0", out=out).returncode == 2
    assert infinityframe("submit", jobs, "-g", "stickfit-v0.1.0", "--dry-run", out=out).returncode == 0
    assert infinityframe("submit", jobs, "-g", "stickfit-v0.1.0", "--max-samples", "10", out=out).returncode == 3
    first = infinityframe("submit", jobs, "-g", "stickfit-v0.1.0", "--wait", out=out)
    again = infinityframe("submit", jobs, "-g", "stickfit-v0.1.0", out=out)  # reattached, nothing charged
    assert first.stdout == again.stdout and "reattached to batch" in again.stderr
    batch_id = first.stdout.strip()
    infinityframe("status", batch_id, "--jobs", out=out)
    infinityframe("download", batch_id, "--out", str(out / "runs" / "from-csv"), out=out)
    assert len([p for p in (out / "runs" / "from-csv").iterdir() if p.is_dir() and not p.name.startswith(".")]) == 2


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-cli-")))
