"""The workflows' two notebooks, run by papermill against the local service, per VisionFit name.

* ``submit_batch_template.ipynb`` with ``TOKEN``, ``GENERATOR`` and ``SERVER`` injected: it
  draws jobs with ``sample_input`` and shows ``SubmitInterface``, whose buttons submit.
* The buttons, pressed as a user would (``Button.click()``, in this process): "Submit Batch" asks
  for an estimate, "Confirm Submission" submits and writes the parameterised download notebook
  (``download_batch_<time>.ipynb``, by papermill's ``prepare_only``) into the working directory.
* That notebook, once the batch is done and its "Download" button (``BatchDownloadInterface``)
  has fetched it, runs top to bottom: the results as a frame (``summarize_batch_results_as_dataframe``
  reads ``labels.json``'s ``percent_in_fov`` and ``percent_occlusion``), the previews or a video
  as a GIF, and plotly's histograms of the batch as SVG (kaleido, with the Chromium .ci/run installs).

Each notebook runs in a fresh kernel of this interpreter with a temporary working directory,
the vendored folders on ``PYTHONPATH`` and ``MPLBACKEND=Agg``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _vendorlib import CORE, WORKFLOWS, vendor_env

from _service import RunningService

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("papermill", reason="papermill is in the dev extra: pip install -e '.[dev]'")
pytest.importorskip("ipywidgets", reason="ipywidgets is in the dev extra: pip install -e '.[dev]'")

TEMPLATES = WORKFLOWS / "visionfit" / "workflow_templates"
SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128,
         "inter_rep_delay_avg": 0.5, "inter_rep_delay_var": 0.1}


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _papermill(notebook: Path, out: Path, cwd: Path, parameters: dict[str, str], **env: str) -> Any:
    args = [sys.executable, "-m", "papermill", str(notebook), str(out), "-k", "python3", "--cwd", str(cwd),
            "--execution-timeout", "180"]
    for key, value in parameters.items():
        args += ["-p", key, value]
    run = subprocess.run(args, env=vendor_env(CORE, WORKFLOWS, **env), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"papermill failed on {notebook.name}:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    book = nbformat.read(out, as_version=4)
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    return book


def _mimes(book: Any) -> list[set[str]]:
    """Per code cell, the MIME types of everything it displayed."""
    return [{mime for o in cell.get("outputs", []) for mime in o.get("data", {})} | (
        {"stream"} if any(o.output_type == "stream" for o in cell.get("outputs", [])) else set())
        for cell in book.cells if cell.cell_type == "code"]


@pytest.mark.slow
def test_submit_notebook_runs(vendor_service: RunningService, visionfit: str, tmp_path: Path) -> None:
    book = _papermill(TEMPLATES / "submit_batch_template.ipynb", tmp_path / "submit.ipynb", tmp_path,
                      {"TOKEN": vendor_service.token, "GENERATOR": visionfit, "SERVER": vendor_service.url})
    # Its last cell shows SubmitInterface's widgets: the job type, the batch name, the button.
    assert "application/vnd.jupyter.widget-view+json" in set().union(*_mimes(book))
    # The frame of sample_input's jobs it shows for review has VisionFit's columns.
    shown = "".join(o.get("data", {}).get("text/html", "") for c in book.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
    assert "relative_camera_yaw_deg" in shown and "exercise" in shown


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize("kind", ["Previews", "Videos"])
def test_submit_buttons_then_the_download_notebook_they_write(vendor_service: RunningService, visionfit: str,
                                                               kind: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium binary (/usr/bin/chromium or chromium on PATH) for kaleido's SVG export in the "
                    "download notebook's last cell; `apt-get install chromium` (.ci/run does)")
    import random

    from infinity_core.session import Session
    from visionfit.interfaces import BatchDownloadInterface, SubmitInterface
    from visionfit.utils.sampling import sample_input

    monkeypatch.chdir(tmp_path)  # SubmitInterface writes the download notebook into the working directory
    sesh = Session(token=vendor_service.token, generator=visionfit, server=vendor_service.url)
    random.seed(f"notebooks {visionfit} {kind}")
    job_params = [sample_input(sesh, exercise=random.choice(["UPPERCUT-LEFT", "UPPERCUT-RIGHT"]), **SMALL)
                  for _ in range(3)]

    submit = SubmitInterface(sesh, job_params)
    submit.type_of_jobs_dropdown.value = kind
    submit.name_input.value = f"{kind} from the workflow's buttons"
    submit.button_submit.click()
    assert "Estimated number of frames to render" in capsys.readouterr().out
    submit.button_confirm.click()
    printed = capsys.readouterr().out
    assert submit.batch is not None, printed
    assert "Submission Successful" in printed and submit.batch.batch_id in printed
    written = sorted(tmp_path.glob("download_batch_*.ipynb"))
    assert len(written) == 1, printed

    batch = submit.batch
    assert len(batch.await_completion(polling_interval=1, timeout=240)) == len(job_params)
    # The download notebook's own path for the batch, where its "Download" button puts it.
    batch_path = Path("downloads") / re.sub(r"[^\w_. -]", "_", batch.name) / f"batch_ID_{batch.batch_id}"
    batch_path.mkdir(parents=True)
    download = BatchDownloadInterface(sesh.batch_from_api(batch.batch_id), batch_path)
    download.button_download.click()
    assert sorted(p.name for p in batch_path.iterdir() if p.is_dir()) == sorted(batch.job_ids)
    capsys.readouterr()

    book = _papermill(written[0], tmp_path / "downloaded.ipynb", tmp_path, {}, BROWSER_PATH=chromium)
    mimes = set().union(*_mimes(book))
    summary = "".join(o.get("data", {}).get("text/html", "") for c in book.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "avg_percent_in_fov" in summary and "avg_percent_occlusion" in summary
    assert all(job_id in summary for job_id in batch.job_ids)
    assert "image/svg+xml" in mimes  # visualize_batch_results' histograms
    if kind == "Videos":
        assert "image/png" in mimes  # display_video_as_gif's GIF of one video.mp4
