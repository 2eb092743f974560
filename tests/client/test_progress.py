"""Wait's progress: counts by state on a bar in a terminal, plain lines elsewhere, no widget warnings."""

from __future__ import annotations

import io
import sys
import types
import warnings

import pytest

from infinityframe.client import progress as progress_module
from infinityframe.client.progress import Progress, format_counts


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_counts_by_state() -> None:
    out = _Terminal()
    bar = Progress(5, "batch 1b3f73c9", file=out)
    assert bar.mode == "bar"
    bar.update(2, {"queued": 1, "running": 2, "succeeded": 1, "failed": 1, "cancelled": 0})
    bar.close()
    text = out.getvalue()
    assert "batch 1b3f73c9" in text and "2/5" in text
    assert "queued 1 · running 2 · succeeded 1 · failed 1" in text and "cancelled" not in text


def test_an_imported_ipykernel_is_not_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    # a test run or a script that imported ipykernel (to run notebooks, say) is still a terminal
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert Progress(1, "batch", file=_Terminal()).mode == "bar"


def test_elsewhere_plain_lines_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()  # not a terminal: a log, a CI job, a notebook without widgets
    clock = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    bar = Progress(4, "batch 1b3f73c9", file=out)
    assert bar.mode == "lines"
    bar.update(0, {"queued": 4})
    for _ in range(50):  # many polls in quick succession: no new line
        bar.update(1, {"running": 3, "succeeded": 1})
    clock[0] += progress_module.LINE_INTERVAL
    bar.update(2, {"running": 2, "succeeded": 2})
    bar.update(3, {"running": 1, "succeeded": 2, "failed": 1})  # too soon: kept for close()
    bar.close()
    assert out.getvalue().splitlines() == [
        "batch 1b3f73c9: 0/4 finished · queued 4",
        "batch 1b3f73c9: 2/4 finished · running 2 · succeeded 2",
        "batch 1b3f73c9: 3/4 finished · running 1 · succeeded 2 · failed 1",
    ]
    assert "\r" not in out.getvalue()


def test_the_last_counts_are_always_shown() -> None:
    out = io.StringIO()
    bar = Progress(2, "batch 1b3f73c9", file=out)
    bar.update(0, {"running": 2})
    bar.update(2, {"succeeded": 1, "failed": 1})  # finished: shown at once, however soon
    bar.close()
    assert out.getvalue().splitlines()[-1] == "batch 1b3f73c9: 2/2 finished · succeeded 1 · failed 1"


def test_a_notebook_without_ipywidgets_gets_lines_and_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "_in_kernel", lambda: True)
    monkeypatch.setattr(progress_module, "_widgets_available", lambda: False)
    out = _Terminal()  # even if the kernel's stream claims to be a terminal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = Progress(1, "batch 1b3f73c9", file=out)
        bar.update(1, {"succeeded": 1})
        bar.close()
        assert progress_module.tqdm_class().__module__ == "tqdm.std"
    assert bar.mode == "lines" and out.getvalue() == "batch 1b3f73c9: 1/1 finished · succeeded 1\n"


def test_disabled_shows_nothing() -> None:
    out = _Terminal()
    bar = Progress(3, "batch", enabled=False, file=out)
    bar.update(3, {"succeeded": 3})
    bar.close()
    assert out.getvalue() == "" and format_counts({"queued": 0, "failed": 2}) == "failed 2"
