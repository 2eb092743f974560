"""Progress display for waits and downloads: a bar where one can be drawn, plain lines elsewhere.

* a notebook with ipywidgets: tqdm's widget bar;
* a terminal: tqdm's text bar;
* anywhere else (a notebook without ipywidgets, CI logs, output piped to a file): a plain
  line now and then, when something changed, instead of carriage-return redraws.

``tqdm.auto`` is not used: in a notebook without ipywidgets it warns on import and then draws
text bars that a log cannot show. Counts by status go in the bar's postfix (or the line).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any, Literal

__all__ = ["Progress", "format_counts", "tqdm_class"]

Mode = Literal["widget", "bar", "lines", "off"]
LINE_INTERVAL = 10.0  # seconds between plain lines while things change


def _in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (not merely beside an imported ipykernel)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def _widgets_available() -> bool:
    if not _in_kernel():
        return False
    try:
        from tqdm.notebook import IProgress
    except ImportError:
        return False
    return IProgress is not None


def _choose(file: IO[str]) -> Mode:
    if _widgets_available():
        return "widget"
    isatty = getattr(file, "isatty", None)
    return "bar" if callable(isatty) and isatty() and not _in_kernel() else "lines"


def tqdm_class() -> Any:
    """tqdm's widget bar in a notebook that can show it, else its text bar (no warnings either way)."""
    if _widgets_available():
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm.std import tqdm as std_tqdm

    return std_tqdm


def format_counts(counts: Mapping[str, int]) -> str:
    """``"queued 2 · running 1 · succeeded 5"``: the non-zero counts, in the order given."""
    return " · ".join(f"{state} {n}" for state, n in counts.items() if n)


class Progress:
    """Finished jobs out of ``total``, with counts by status.

    Parameters
    ----------
    total : int
        Jobs in all.
    desc : str
        What is being watched, e.g. ``"batch 1b3f73c9"``.
    enabled : bool
        ``False`` shows nothing.
    file : file-like, optional
        Where to write (standard error by default).
    mode : {"widget", "bar", "lines", "off"}, optional
        Forces a display; chosen from the environment by default.

    Examples
    --------
    >>> p = Progress(3, "batch 1b3f73c9", mode="lines", file=sys.stdout)
    >>> p.update(1, {"running": 2, "succeeded": 1})
    batch 1b3f73c9: 1/3 finished · running 2 · succeeded 1
    >>> p.close()
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, file: IO[str] | None = None,
                 mode: Mode | None = None) -> None:
        self.total, self.desc = total, desc
        self._file = file if file is not None else sys.stderr
        self.mode: Mode = "off" if not enabled else (mode or _choose(self._file))
        self._bar: Any = None
        self._last_line = ""
        self._last_time = -float("inf")
        self._pending = ""
        self.text = ""  # the latest counts, as shown
        if self.mode == "widget":
            self._bar = tqdm_class()(total=total, desc=desc, unit="job", leave=True)
        elif self.mode == "bar":
            from tqdm.std import tqdm as std_tqdm

            self._bar = std_tqdm(total=total, desc=desc, unit="job", leave=True, file=self._file)

    def update(self, done: int, counts: Mapping[str, int]) -> None:
        """``done`` jobs have finished; ``counts`` maps each state to its number of jobs."""
        self.text = format_counts(counts)
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix_str(self.text, refresh=True)
        elif self.mode == "lines":
            line = f"{self.desc}: {done}/{self.total} finished · {self.text}" if self.text else \
                f"{self.desc}: {done}/{self.total} finished"
            now = time.monotonic()
            final = done >= self.total
            if line != self._last_line and (final or now - self._last_time >= LINE_INTERVAL):
                print(line, file=self._file, flush=True)
                self._last_line, self._last_time = line, now
            self._pending = line if line != self._last_line else ""

    def close(self) -> None:
        """Close the bar; in plain lines, show the last counts if they were not shown yet."""
        if self._bar is not None:
            self._bar.close()
        elif self._pending:
            print(self._pending, file=self._file, flush=True)
            self._pending = ""
