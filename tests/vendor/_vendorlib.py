"""Helpers for running Infinity AI's own clients (``../shared/vendor``) against the local service.

The vendored folders are read-only test oracles: they are put on ``sys.path`` / ``PYTHONPATH``
or copied into a temporary directory, never edited and never copied into the project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from _service import RunningService

# tests/vendor/_vendorlib.py -> the repository -> its parent, where shared/ sits beside it
REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO.parent / "shared" / "vendor"
CORE = VENDOR / "infinity-core"
WORKFLOWS = VENDOR / "infinity-workflows"

MISSING: str | None = None
if not (CORE / "infinity_core").is_dir() or not (WORKFLOWS / "visionfit").is_dir():
    MISSING = (f"the vendored Infinity clients are not at {VENDOR} (expected ../shared/vendor/infinity-core "
               "and ../shared/vendor/infinity-workflows beside the repository); tests/vendor needs them")


def copy_writable(src: Path, dst: Path) -> Path:
    """Copy a vendored folder to ``dst`` with write bits added (the shared copy has none in CI)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for path in [dst, *dst.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    return dst


def vendor_env(*pythonpath: Path, **extra: str) -> dict[str, str]:
    """The environment for a subprocess running vendored code: its folders first on PYTHONPATH.

    No ``INFINITY_*`` variable leaks in from the developer's shell (the clients would not read
    them, but our own package does), and matplotlib draws off-screen.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFINITY_")}
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "Agg"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def pytest_subprocess(args: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """Run the project's own pytest in ``cwd`` (so the vendored pyproject's pytest config applies)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=dict(env),
                         capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's closing line, e.g. ``{"passed": 36, "warnings": 3}``."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    if not lines:
        return {}
    return {word.rstrip("s") if word != "passed" else word: int(n)
            for n, word in re.findall(r"(\d+) (\w+)", lines[-1])}


IntegrationRuns = dict[str, tuple[subprocess.Popen[str], Path]]  # per generator: its run and its log


def start_integration_runs(service: RunningService, generators: Iterable[str], root: Path) -> IntegrationRuns:
    """Start infinity-core's ``tests/test_integration.py`` once per generator, all at once.

    Each run gets its own copy of infinity-core whose ``tests/config.json`` names the service, its
    token, the generator and the ids of a real preview and standard batch of one default job each,
    submitted first through infinity-core.
    """
    from infinity_core.batch import submit_batch
    from infinity_core.data_structures import JobType

    runs: IntegrationRuns = {}
    for generator in generators:
        copy = copy_writable(CORE, root / generator / "infinity-core")
        config = {"generator_name": generator, "server": service.url, "token": service.token}
        for kind, job_type in (("preview", JobType.PREVIEW), ("standard", JobType.STANDARD)):
            batch = submit_batch(token=service.token, generator=generator, job_type=job_type, job_params=[{}],
                                 name=f"ids for infinity-core's integration test ({kind})", server=service.url)
            config[f"test_{kind}_batch_id"] = batch.batch_id
            config[f"test_{kind}_job_id"] = batch.job_ids[0]
        (copy / "tests" / "config.json").write_text(json.dumps(config, indent=2))
        log = copy.parent / "pytest.log"
        with log.open("w") as out:
            runs[generator] = (subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                                                 "tests/test_integration.py"], cwd=copy, env=vendor_env(copy),
                                                stdout=out, stderr=subprocess.STDOUT, text=True), log)
    return runs


def generator_names(url: str, token: str) -> list[str]:
    """What the service lists at ``GET /api/jobs/`` (infinity-core's ``get_available_generators``)."""
    r = requests.get(f"{url}/api/jobs/", headers={"Authorization": f"Token {token}"}, timeout=30)
    r.raise_for_status()
    return sorted(g["name"] for g in r.json())


def generator_info(url: str, token: str, name: str) -> dict[str, Any]:
    r = requests.get(f"{url}/api/jobs/{name}/", headers={"Authorization": f"Token {token}"}, timeout=30)
    r.raise_for_status()
    info: dict[str, Any] = r.json()
    return info


def cancel_batch(url: str, token: str, batch_id: str) -> None:
    """Cancel a batch's queued jobs (the local service's extension), so a bulk batch renders nothing."""
    r = requests.post(f"{url}/api/batch/{batch_id}/cancel/", headers={"Authorization": f"Token {token}"}, timeout=60)
    r.raise_for_status()


class KnownFailure(Exception):
    """A failure that is exactly the one a strict ``xfail`` names (anything else fails the test)."""


