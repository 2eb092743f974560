"""Sweeps that learn: which parameters drive an outcome, where to render next, and the loop.

The models are scikit-learn's (a random forest for the effects, a Gaussian process for the
suggestions) and the indices SALib's, imported when first used, so ``import infinityframe``
stays quick.
"""

from __future__ import annotations

from .effects import effects
from .suggest import suggest
from .sweep import evaluate, sweep

__all__ = ["effects", "evaluate", "suggest", "sweep"]
