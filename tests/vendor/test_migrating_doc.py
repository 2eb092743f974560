"""docs/migrating.md runs as written: its infinity-core script and frame snippet, and its papermill command.

The page's blocks are taken from the page itself; the only things supplied are what the page
says to supply (the token and server in the environment, the clients' folders on PYTHONPATH),
and the test service's own port for the page's 8000.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _vendorlib import CORE, WORKFLOWS, vendor_env

from _service import RunningService

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def test_the_python_blocks_run_in_order(vendor_service: RunningService, tmp_path: Path) -> None:
    script = tmp_path / "migrating.py"
    script.write_text("\n".join(blocks("python")))
    env = vendor_env(CORE, WORKFLOWS, INFINITY_TOKEN=vendor_service.token, INFINITY_SERVER=vendor_service.url)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=240, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert "3 previews in tmp/three_random_previews" in run.stdout
    downloaded = list((tmp_path / "tmp" / "three_random_previews").rglob("video_preview.png"))
    assert len(downloaded) == 3


@pytest.mark.slow
def test_the_papermill_command_runs(vendor_service: RunningService, tmp_path: Path) -> None:
    pytest.importorskip("papermill", reason="papermill is in the dev extra: pip install -e '.[dev]'")
    (command,) = [b for b in blocks("bash") if "papermill" in b]
    command = (command.replace("path/to/infinity-workflows", str(WORKFLOWS)).replace("path/to/infinity-core", str(CORE))
               .replace("visionfit/workflow_templates/", f"{WORKFLOWS}/visionfit/workflow_templates/")
               .replace("http://127.0.0.1:8000", vendor_service.url))  # the page's port 8000 is this test's service
    env = vendor_env(INFINITY_TOKEN=vendor_service.token, PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin")
    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert (tmp_path / "submitted.ipynb").is_file()
