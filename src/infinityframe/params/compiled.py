"""A generator's rules made ready to run: compiled joint constraints, and the internal pandera
schemas built only when a frame needs them.

Nothing here imports pandera: a frame that passes the quick pre-pass (:mod:`.quick`) never
loads it, which spares a script's first validation about a third of a second.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .failures import default_of, pandas_dtype
from .spec import CompiledConstraint, Constraint, GeneratorSpec, compile_constraints

if TYPE_CHECKING:
    import pandera.pandas as pa
    import pandera.polars as pap

__all__ = ["ConstraintLike", "Schemas", "compile_all", "complete", "prepared", "reads"]

ConstraintLike = str | Callable[[pd.DataFrame], Any] | Constraint


def compile_all(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> list[CompiledConstraint]:
    """The generator's joint constraints and the user's, compiled."""
    return compile_constraints(spec, constraints)


def complete(frame: pd.DataFrame, spec: GeneratorSpec, names: Sequence[str]) -> pd.DataFrame:
    """The ``names`` columns of ``frame``, a missing one holding its parameter's default."""
    present = set(frame.columns)
    data = {name: frame[name].array if name in present
            else pd.Series(default_of(spec[name]), index=frame.index, dtype=pandas_dtype(spec[name])).array
            for name in names}
    return pd.DataFrame(data, index=frame.index)


def reads(constraint: CompiledConstraint, spec: GeneratorSpec) -> tuple[str, ...]:
    """The parameters a constraint reads: a callable any, an expression only those it names."""
    return constraint.columns or tuple(spec.names)


class Schemas:
    """The internal pandera schemas of one (spec, constraints), built on first use."""

    def __init__(self, spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> None:
        self._spec, self._compiled = spec, compiled
        self._pandas: pa.DataFrameSchema | None = None
        self._polars: pap.DataFrameSchema | None = None

    def pandas(self) -> pa.DataFrameSchema:
        if self._pandas is None:
            from .pandera_schemas import pandas_schema  # pandera loads here, on the first frame that needs it

            self._pandas = pandas_schema(self._spec, self._compiled, internal=True)
        return self._pandas

    def polars(self) -> pap.DataFrameSchema:
        if self._polars is None:
            from .pandera_schemas import polars_schema

            self._polars = polars_schema(self._spec, self._compiled, internal=True)
        return self._polars


@functools.lru_cache(maxsize=64)
def _prepared_cached(spec: GeneratorSpec, constraints: tuple[Any, ...]) -> tuple[list[CompiledConstraint], Schemas]:
    compiled = compile_all(spec, constraints)
    return compiled, Schemas(spec, compiled)


def prepared(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> tuple[
        list[CompiledConstraint], Schemas]:
    """Compiled constraints and schemas, reused across calls: pandera deep-copies every column
    when a schema is built, which costs more than validating a small frame."""
    key = tuple(constraints)
    try:
        return _prepared_cached(spec, key)
    except TypeError:  # an unhashable constraint: build afresh
        compiled = compile_all(spec, constraints)
        return compiled, Schemas(spec, compiled)

