"""Sweeps that learn: which parameters drive an outcome, where to render next, and the loop.

The effects' model is scikit-learn's (a random forest) and the indices SALib's, imported when
first used, so ``import infinityframe`` stays quick; the suggestions' Gaussian process is the
same model as scikit-learn's, in numpy and scipy (:mod:`.gp`), so suggesting does not import
scikit-learn.
"""

from __future__ import annotations

from .effects import effects
from .suggest import suggest
from .sweep import evaluate, sweep

__all__ = ["effects", "evaluate", "suggest", "sweep"]
