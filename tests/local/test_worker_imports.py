"""A render worker imports what rendering needs and nothing else: no pandas, plotting, scipy or web stack.

Each worker is a fresh interpreter whose start-up is paid before its first job; the package's
front door (``import infinityframe``) loads pandas, polars and the client, which a job never
uses. Both tests start real interpreters: the worker entry run as multiprocessing runs it,
and a real process pool rendering a real job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from infinityframe.local import _worker
from infinityframe.local.generators.stickfit import StickFit
from infinityframe.local.rendering import _WORKER_ENTRY, execute_job, process_pool
from infinityframe.params.rules import validate_job

HEAVY = ("pandas", "polars", "pyarrow", "seaborn", "matplotlib", "scipy", "fastapi", "uvicorn", "pandera", "requests")
SMALL = {"image_width": 128, "image_height": 128, "frame_rate": 6, "num_reps": 1, "exercise": "SQUAT"}


def job_params() -> dict[str, object]:
    params, errors = validate_job(StickFit(), 0, SMALL)
    assert not errors and params is not None, errors
    return params


def test_the_entry_in_a_fresh_interpreter_renders_a_job_without_heavy_modules(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "results").mkdir()
    code = f"""
import json, runpy, sys
runpy.run_path({_WORKER_ENTRY!r}, run_name="__mp_main__")   # as multiprocessing runs it in a worker
from infinityframe.local.rendering import execute_job
samples = execute_job("job-1", "stickfit-v0.1.0", json.loads(sys.argv[1]), False, 7, sys.argv[2])
print(json.dumps({{"samples": samples, "modules": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    done = subprocess.run([sys.executable, "-c", code, json.dumps(job_params()), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] == []
    assert report["samples"] > 1
    with zipfile.ZipFile(tmp_path / "results" / "job-1.zip") as zf:
        assert {"job-1/labels.json", "job-1/video.mp4"} <= set(zf.namelist())


def test_a_pool_worker_renders_without_heavy_modules_yet_finds_the_whole_package_when_asked(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "results").mkdir()
    assert "pandas" in sys.modules  # this process has them all: the worker must not inherit them
    pool = process_pool(1)
    try:
        samples = pool.submit(execute_job, "job-2", "stickfit-v0.1.0", job_params(), True, 3, str(tmp_path)).result()
        loaded = pool.submit(eval, f"sorted(m for m in {HEAVY!r} if m in __import__('sys').modules)").result()
        # a generator that reaches for a public name gets the real package, loaded on first use
        version = pool.submit(eval, "__import__('infinityframe').__version__").result()
        uniform = pool.submit(eval, "__import__('infinityframe').uniform(1, 2).hi").result()
        niceness = pool.submit(os.nice, 0).result()
    finally:
        pool.shutdown()
    assert samples == 1 and (tmp_path / "results" / "job-2.zip").is_file()
    assert loaded == []
    import infinityframe

    assert version == infinityframe.__version__
    assert uniform == infinityframe.uniform(1, 2).hi
    assert niceness == min(os.nice(0) + 5, 19)  # rendering yields a busy core to the process that waits on it


def test_importing_the_entry_as_a_module_changes_nothing() -> None:
    import infinityframe

    assert _worker.install() is infinityframe  # the package is already whole here
    assert Path(_WORKER_ENTRY) == Path(_worker.__file__).resolve()
