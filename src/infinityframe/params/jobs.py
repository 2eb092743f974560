"""A job frame as the service takes it: validated, completed with the defaults, one plain dict
per row. The client's submit, estimate and dry run send exactly these.

>>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
>>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3), ParamSpec("x", "float", 0.5)))
>>> service_jobs(pd.DataFrame({"n": [2.0, 3.0]}), spec)
[{'n': 2, 'x': 0.5}, {'n': 3, 'x': 0.5}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from .compiled import ConstraintLike
from .sampling import with_defaults
from .schema import validate_frame
from .spec import GeneratorSpec

__all__ = ["service_jobs"]


def service_jobs(df: pd.DataFrame | pl.DataFrame | pl.LazyFrame, spec: GeneratorSpec,
                 constraints: Sequence[ConstraintLike] = ()) -> list[dict[str, Any]]:
    """The frame's jobs as plain dicts, in frame order, every parameter present.

    Raises :class:`~infinityframe.ValidationError` (every failure in ``.failure_cases``) when a
    row breaks the generator's rules. A parameter without a column takes its default; after
    validation only a nullable parameter's cell can be missing, and it is sent as null.
    """
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    validated = validate_frame(df, spec, constraints)
    if isinstance(validated, pl.DataFrame):
        added = [pl.lit(param.default).alias(param.name) for param in spec if param.name not in validated.columns]
        rows: list[dict[str, Any]] = validated.with_columns(added).select(spec.names).to_dicts()
        return rows
    complete = with_defaults(validated, spec)[spec.names]
    records = complete.astype(object).where(complete.notna(), None).to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()} for row in records]
