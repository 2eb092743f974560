"""Parameters as model inputs: which columns of a job frame vary, and how each becomes numbers.

A numeric parameter is scaled to ``[0, 1]`` over its bounds (the generator's range when known,
else the range seen); a bool is 0 or 1; a categorical one (choices, strings) becomes one column
per level for a Gaussian process, or its level's code for a tree ensemble (trees split codes as
well as indicators, and one column per parameter keeps one importance per parameter). The
encoding is learnt on one frame (the history) and applied to others (the candidates), so both
share columns and scales.

Examples
--------
>>> frame = pd.DataFrame({"camera_distance": [1.0, 3.0, 5.0], "exercise": ["SQUAT", "LUNGE", "SQUAT"],
...                       "num_reps": [1, 1, 1]})
>>> space = Space.learn(frame, ["camera_distance", "exercise", "num_reps"])
>>> space.names                          # num_reps never varies: nothing to learn from it
['camera_distance', 'exercise']
>>> space.encode(frame, onehot=True).round(2).tolist()[0]
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InfinityError
from ..params.spec import GeneratorSpec

__all__ = ["Axis", "Space", "param_columns"]


@dataclass(frozen=True)
class Axis:
    """One parameter as a model input: numeric (``low``..``high``) or categorical (``levels``)."""

    name: str
    kind: str  # "number" or "category"
    low: float = 0.0
    high: float = 1.0
    levels: tuple[object, ...] = ()

    def unit(self, values: pd.Series) -> np.ndarray:
        """Numbers scaled to [0, 1] over the axis' bounds (a categorical axis: its level codes)."""
        if self.kind == "category":
            lookup = {level: i for i, level in enumerate(self.levels)}
            codes = [lookup.get(v, -1) for v in values.astype(object).tolist()]
            return np.asarray(codes, dtype=float)
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        span = self.high - self.low
        return (numbers - self.low) / span if span > 0 else np.zeros_like(numbers)


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


@dataclass(frozen=True)
class Space:
    """The axes of a job frame a model learns from, in order."""

    axes: tuple[Axis, ...]

    @property
    def names(self) -> list[str]:
        return [axis.name for axis in self.axes]

    @classmethod
    def learn(cls, frame: pd.DataFrame, params: Sequence[str], spec: GeneratorSpec | None = None) -> Space:
        """The axes of ``params`` that vary in ``frame``; bounds from ``spec`` where it has them."""
        axes: list[Axis] = []
        for name in params:
            if name not in frame.columns:
                raise InfinityError(f"Parameter {name!r} is not a column of the frame; its columns are "
                                    f"{', '.join(map(str, frame.columns[:20]))}.")
            values = frame[name]
            if values.astype(object).map(_hashable).nunique(dropna=True) < 2:
                continue
            declared = spec[name] if spec is not None and name in spec else None
            if declared is not None and declared.type == "uuid":
                continue  # a seed job's id: an identity, not a quantity a model can learn from
            if _is_number(values) and not (declared is not None and declared.choices):
                numbers = values.to_numpy(dtype=float)
                low, high = float(np.nanmin(numbers)), float(np.nanmax(numbers))
                if declared is not None and declared.ranged:
                    low, high = min(low, float(declared.min)), max(high, float(declared.max))  # type: ignore[arg-type]
                axes.append(Axis(name, "number", low, high))
            else:
                seen = list(dict.fromkeys(values.dropna().astype(object).map(_hashable).tolist()))
                declared_levels = list(declared.choices) if declared is not None and declared.choices else []
                levels = tuple(dict.fromkeys([*declared_levels, *seen]))
                axes.append(Axis(name, "category", levels=levels))
        return cls(tuple(axes))

    def encode(self, frame: pd.DataFrame, *, onehot: bool) -> np.ndarray:
        """The frame as a matrix, one row per job: one-hot levels (``onehot``) or level codes."""
        columns: list[np.ndarray] = []
        for axis in self.axes:
            values = axis.unit(frame[axis.name])
            if axis.kind == "category" and onehot:
                columns.extend((values == i).astype(float) for i in range(len(axis.levels)))
            else:
                columns.append(values)
        if not columns:
            return np.zeros((len(frame), 0))
        return np.column_stack(columns)


def _hashable(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def param_columns(frame: pd.DataFrame, spec: GeneratorSpec | None, exclude: Sequence[str] = ()) -> list[str]:
    """The parameter columns of a frame: the spec's parameters present, else every column but ``exclude``."""
    if spec is not None:
        return [name for name in spec.names if name in frame.columns and name not in exclude]
    return [str(c) for c in frame.columns if c not in exclude]
