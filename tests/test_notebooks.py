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
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell; pytest-timeout bounds each notebook as a whole


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import infinityframe as inf

    root = tmp_path_factory.mktemp("notebook-service")
    with inf.serve(root, workers=2):
        yield root


def test_there_are_notebooks() -> None:
    assert {"quickstart.ipynb", "sweep_reruns.ipynb", "analysis_polars.ipynb", "real_batch.ipynb"} <= {
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
    plots = [cell for cell in book.cells if cell.cell_type == "code" and re.search(r"\.(plot|show)\(", cell.source)]
    for cell in plots:  # every figure is drawn as an image, not shown as "<Figure size ...>"
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), f"no image from: {cell.source}"
