"""A generator's parameters, as the client sees them: built from the API's metadata.

Everything in ``params/`` (schemas, samplers, grids, coverage) works on a
:class:`GeneratorSpec`, never on a Session, so it runs without a network and the same code
serves pandas and polars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .distributions import Distribution
from .expressions import Expression, compile_expression
from .priors import read_recommended

__all__ = [
    "PACKAGE_COLUMNS",
    "CompiledConstraint",
    "Constraint",
    "GeneratorSpec",
    "ParamSpec",
    "compile_constraints",
]

ParamType = Literal["int", "float", "str", "bool", "uuid"]

# Columns the package itself adds to job frames; a schema allows them beside the parameters.
PACKAGE_COLUMNS = ("job_id", "batch_id", "estimated_samples", "valid", "problem", "already_submitted",
                   "duplicate_of", "submitted_batch_id", "submitted_status")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type, default and allowed values, and the distribution the generator
    recommends drawing it from (``None``: over its whole range)."""

    name: str
    type: ParamType
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    description: str = ""
    recommended: Distribution | None = None

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ParamSpec:
        """Build from one entry of the API's ``params`` list."""
        options = meta.get("options") or {}
        choices = options.get("choices")
        return cls(name=meta["name"], type=meta["type"], default=meta.get("default_value"),
                   min=options.get("min"), max=options.get("max"),
                   choices=tuple(choices) if choices is not None else None,
                   description=meta.get("description") or "")

    @property
    def nullable(self) -> bool:
        """Null is allowed where the default is null (``state`` and other ``uuid`` parameters)."""
        return self.default is None or self.type == "uuid"

    @property
    def ranged(self) -> bool:
        """A number with both bounds, so it can be drawn from its range."""
        return self.type in ("int", "float") and self.min is not None and self.max is not None

    @property
    def samplable(self) -> bool:
        """Whether a sampler can draw it without being told how (choices, a range, a coin)."""
        return bool(self.choices) or self.ranged or self.type == "bool"


@dataclass(frozen=True)
class Constraint:
    """A joint constraint: a boolean expression over parameter names (``DataFrame.eval`` syntax).

    An ``advisory`` constraint (``"advisory": true`` in the generator's metadata) is a
    recommendation, not a rule: the service accepts jobs that break it, and so do ``validate``,
    ``errors`` and the schema; only the samplers honour it, unless told not to.
    """

    name: str
    expr: str
    message: str = ""
    advisory: bool = False


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator's name, parameters (in the API's order), constraints and preview support.

    ``constraints`` are the rules every job must meet; ``advisory`` the constraints the
    generator recommends, which only the samplers apply; ``recommended`` the joint constraints
    of its recommended distributions (see :mod:`~infinityframe.params.priors`), which the
    samplers apply under ``prior="recommended"``.
    """

    name: str
    params: tuple[ParamSpec, ...]
    constraints: tuple[Constraint, ...] = ()
    supports_preview: bool = True
    advisory: tuple[Constraint, ...] = ()
    recommended: tuple[Constraint, ...] = ()
    _index: Mapping[str, ParamSpec] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.name: p for p in self.params})

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> GeneratorSpec:
        """Build from ``GET /api/jobs/{name}/`` (its ``recommended`` extension is optional)."""
        params = [ParamSpec.from_metadata(p) for p in meta["params"]]
        declared = [Constraint(c.get("name", f"constraint_{i}"), c["expr"], c.get("message", ""),
                               bool(c.get("advisory", False)))
                    for i, c in enumerate(meta.get("constraints") or [])]
        distributions, recommended = read_recommended(meta)
        params = [replace(p, recommended=distributions.get(p.name)) for p in params]
        # Recommendations, like the advisory constraints: only the samplers apply them.
        prior = tuple(Constraint(c["name"], c["expr"], c["message"], advisory=True) for c in recommended)
        return cls(meta["name"], tuple(params), tuple(c for c in declared if not c.advisory),
                   bool((meta.get("options") or {}).get("preview", False)),
                   tuple(c for c in declared if c.advisory), prior)

    def __getitem__(self, name: str) -> ParamSpec:
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


FrameCheck = Callable[[pd.DataFrame], Any]


@dataclass(frozen=True)
class CompiledConstraint:
    """A joint constraint ready to run on a pandas frame: ``check(df)`` → boolean per row."""

    name: str
    description: str
    columns: tuple[str, ...]
    check: Callable[[pd.DataFrame], np.ndarray]
    message: str = ""
    advisory: bool = False
    expression: Expression | None = None  # an expression's check, on columns by name (no frame needed)


def _expression_columns(expr: str, names: Sequence[str]) -> tuple[str, ...]:
    used = compile_expression(expr).names
    return tuple(n for n in names if n in used)


def compile_constraints(spec: GeneratorSpec, extra: Sequence[str | FrameCheck | Constraint] = ()) -> list[
        CompiledConstraint]:
    """The generator's constraints plus the user's, each as a vectorised row check.

    ``extra`` items are expressions (``"image_width == image_height"``), :class:`Constraint`
    objects, or callables taking a pandas frame and returning one boolean per row. A row
    fails when the check is false (or null); missing columns are filled with defaults first
    by the callers.
    """
    compiled: list[CompiledConstraint] = []
    # The user's constraints are numbered among themselves (user_constraint_0, ...), after the
    # generator's rules and the advisory constraints a sampler puts first.
    first_user = len(spec.constraints) + sum(isinstance(c, Constraint) and c.advisory for c in extra)
    for i, item in enumerate([*spec.constraints, *extra]):
        if isinstance(item, str):
            item = Constraint(f"user_constraint_{i - first_user}", item)
        if isinstance(item, Constraint):
            expr = item.expr
            compiled_expr = compile_expression(expr)

            def check(df: pd.DataFrame, run: Expression = compiled_expr) -> np.ndarray:
                return run({n: df[n].to_numpy() for n in run.names if n in df.columns})

            compiled.append(CompiledConstraint(item.name, expr, _expression_columns(expr, spec.names), check,
                                               item.message, item.advisory, compiled_expr))
        elif callable(item):
            fn = item
            label = getattr(fn, "__name__", "<lambda>")
            if label == "<lambda>":  # failure tables are filtered by name: give each a distinct one
                label = f"user_constraint_{i - first_user}"

            def check_callable(df: pd.DataFrame, fn: FrameCheck = fn) -> np.ndarray:
                result = fn(df)
                return np.asarray(pd.Series(result, index=df.index).fillna(False), dtype=bool)

            compiled.append(CompiledConstraint(label, label, (), check_callable))
        else:
            raise TypeError(f"a constraint must be an expression string or a callable, not {type(item).__name__}")
    return compiled
