"""A generator's rules made ready to run: its joint constraints and the user's, compiled once.

Nothing here imports pandera: validation runs on :mod:`.checks` alone, and pandera loads only
for a user asking for ``sesh.schema`` (:mod:`.pandera_schemas`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .spec import CompiledConstraint, Constraint, GeneratorSpec, compile_constraints

__all__ = ["ConstraintLike", "compile_all", "prepared", "reads"]

ConstraintLike = str | Callable[[pd.DataFrame], Any] | Constraint


def compile_all(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> list[CompiledConstraint]:
    """The generator's joint constraints and the user's, compiled."""
    return compile_constraints(spec, constraints)


def reads(constraint: CompiledConstraint, spec: GeneratorSpec) -> tuple[str, ...]:
    """The parameters a constraint reads: a callable any, an expression only those it names."""
    return constraint.columns or tuple(spec.names)


@functools.lru_cache(maxsize=64)
def _prepared_cached(spec: GeneratorSpec, constraints: tuple[Any, ...]) -> list[CompiledConstraint]:
    return compile_all(spec, constraints)


def prepared(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> list[CompiledConstraint]:
    """The compiled constraints of (spec, constraints), reused across calls."""
    key = tuple(constraints)
    try:
        return _prepared_cached(spec, key)
    except TypeError:  # an unhashable constraint: compile afresh
        return compile_all(spec, constraints)
