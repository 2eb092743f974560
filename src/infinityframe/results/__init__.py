"""Reading what comes back: batch folders (real Infinity output or ours) as tidy tables.

>>> import infinityframe.results as results
>>> res = results.read_results("batch")  # a downloaded batch folder
>>> len(res.jobs)
2
"""

from __future__ import annotations

from .core import Backend, Results, ResultsWarning, read_results

__all__ = ["Backend", "Results", "ResultsWarning", "read_results"]
