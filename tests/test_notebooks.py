"""Every notebook in examples/ runs top to bottom on the embedded service, and is committed without outputs.

One local service (started here, in the test process) serves every notebook: each notebook's
``inf.Session.local()`` finds it through ``$INFINITYFRAME_DATA_DIR``, so no notebook pays for
starting a service and its worker pool. Each runs in a fresh kernel with a temporary directory as
its working directory, so whatever it writes is thrown away.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell; pytest-timeout bounds each notebook as a whole


def _printed(book: Any, tag: str) -> str:
    """The text a tagged cell printed."""
    cells = [cell for cell in book.cells if tag in cell.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"no single cell tagged {tag!r}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


def _count(pattern: str, text: str) -> tuple[int, int]:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1)), int(found.group(2))


def _learn_claims(book: Any) -> None:
    """What learn.ipynb says in its prose holds for what it printed."""
    hits, drawn = _count(r"uniform random: (\d+) of (\d+) previews", _printed(book, "uniform"))
    assert drawn == 200 and hits / drawn < 0.3  # the region is rare at random
    swept = _printed(book, "sweep")
    first_hits, first = _count(r"first round: (\d+) of (\d+)", swept)
    later_hits, later = _count(r"later rounds: (\d+) of (\d+)", swept)
    assert first == 10 and later >= 5 and later % 5 == 0
    assert first_hits + later_hits >= 12  # the sweep stopped because it found what it was asked for
    assert later_hits / later >= 2 * hits / drawn  # "several times as often as random draws"
    _, videos = _count(r"videos in the region: (\d+) of (\d+)", _printed(book, "videos"))
    assert videos == 3
    fov = _printed(book, "fov-effects")
    assert set(re.search(r"strongest: (.*)", fov).group(1).split(", ")) == {  # type: ignore[union-attr]
        "relative_camera_yaw_deg", "relative_camera_pitch_deg"}
    boxes = _printed(book, "box-effects")
    top = re.search(r"strongest: (\w+) \(effect ([\d.]+), interval ([-\d.]+) to", boxes)
    second = re.search(r"next: (\w+) \(effect ([-\d.]+)\)", boxes)
    assert top and second, boxes
    assert top.group(1) == "camera_distance" and float(top.group(3)) > 0
    assert float(top.group(2)) > 3 * float(second.group(2))  # "far ahead of anything else"
    assert "intervals clear of zero: camera_distance" in boxes


CLAIMS: dict[str, Callable[[Any], None]] = {"learn.ipynb": _learn_claims}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import infinityframe as inf

    root = tmp_path_factory.mktemp("notebook-service")
    with inf.serve(root, workers=2):
        yield root


def test_there_are_notebooks() -> None:
    assert {"quickstart.ipynb", "sweep_reruns.ipynb", "analysis_polars.ipynb", "real_batch.ipynb", "learn.ipynb"} <= {
        p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    for i, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} cell {i} has outputs: strip them (jupyter nbconvert --clear-output --inplace)")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this environment: the shared service, private submission records, no cloud.
    for name in [k for k in os.environ if k.startswith("INFINITY_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("INFINITYFRAME_MAX_SAMPLES", raising=False)
    monkeypatch.setenv("INFINITYFRAME_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INFINITYFRAME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend draws the figures
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed after {time.monotonic() - start:.0f} s:\n{exc}")
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in ("execute_result", "display_data") for o in outputs), "the notebook shows nothing"
    CLAIMS.get(path.name, lambda _: None)(book)
    plots = [cell for cell in book.cells if cell.cell_type == "code" and re.search(r"\.(plot|show)\(", cell.source)]
    for cell in plots:  # every figure is drawn as an image, not shown as "<Figure size ...>"
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), f"no image from: {cell.source}"
