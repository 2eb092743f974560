"""The README's main job: ``infinityframe demo`` runs end to end and shows the physics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "infinityframe.cli", "demo", "--out", str(tmp_path), "--jobs", "6"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 jobs" in out.stdout and "wrote" in out.stdout
    batch = tmp_path / "batch"
    jobs = [p for p in batch.iterdir() if p.is_dir()]
    assert len(jobs) == 6
    assert all((job / "labels.json").exists() and (job / "video.mp4").exists() for job in jobs)
    assert (batch / "batch_id.txt").read_text().strip() in out.stdout
    assert not (tmp_path / "service" / "service.json").exists(), "the service stopped cleanly"
