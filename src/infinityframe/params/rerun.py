"""Re-runs: earlier jobs' parameters × overrides, each seeded from its job through ``state``."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ._draw import _to_series
from .cells import read_text
from .spec import GeneratorSpec

__all__ = ["cast_params", "expand_reruns"]


def cast_params(spec: GeneratorSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters with stringly-typed values (``"14"``, ``"0.0"``, ``"false"``) cast to the spec's types.

    Older Infinity outputs and API answers hold numbers as strings; only exact, lossless
    readings are cast, anything else is left as it is for validation to report.
    """
    out = dict(params)
    for name, value in params.items():
        if name not in spec or not isinstance(value, str) or spec[name].type not in ("int", "float", "bool"):
            continue
        with contextlib.suppress(ValueError):  # not a lossless reading: left for validation to report
            out[name] = read_text(value, spec[name].type)
    return out


def _override_rows(overrides: Any) -> list[dict[str, Any]]:
    if overrides is None:
        return [{}]
    if isinstance(overrides, pd.DataFrame):
        return [{k: v for k, v in row.items() if not (isinstance(v, float) and pd.isna(v))}
                for row in overrides.to_dict(orient="records")]
    if isinstance(overrides, Mapping):
        return [dict(overrides)]
    return [dict(o) for o in overrides]


def expand_reruns(spec: GeneratorSpec, bases: Mapping[str, Mapping[str, Any]],
                  overrides: Sequence[Mapping[str, Any]] | Mapping[str, Any] | pd.DataFrame | None = None,
                  ) -> pd.DataFrame:
    """One job per (base job, override): the base's parameters, the override on top, ``state`` = base id.

    Examples
    --------
    >>> angles = [{"relative_avatar_angle_deg": a} for a in (-90, 0, 90)]
    >>> expand_reruns(spec, {"1b3f…": {...}}, angles)  # doctest: +SKIP
    """
    rows = _override_rows(overrides)
    for override in rows:
        for key in override:
            if key not in spec:
                close = difflib.get_close_matches(str(key), spec.names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValidationError(f"Override {key!r} is not a parameter of {spec.name}{hint}")
            if key == "state":
                raise ValidationError("Overrides may not set 'state': a re-run's state is its base job's id.")
    if "state" not in spec:
        raise ValidationError(f"{spec.name} has no 'state' parameter, so its jobs cannot be re-run from a seed job.")
    jobs = [{**spec.defaults, **cast_params(spec, base), **override, "state": base_id}
            for base_id, base in bases.items() for override in rows]
    # Each column in the dtype sample() gives it (text choices as a Categorical of the choices),
    # so that validate() returns the frame unchanged; anything not allowed stays as it came.
    frame = pd.DataFrame(jobs, columns=spec.names)
    return pd.DataFrame({name: _to_series(np.asarray(frame[name].to_numpy(dtype=object)), spec[name], frame.index)
                         for name in spec.names}, index=frame.index)
