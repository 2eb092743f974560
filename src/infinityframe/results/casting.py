"""Typed job parameters from ``job.json``, whose older versions hold numbers as strings.

For a generator this package knows (the built-in and plugin generators), the metadata says
each parameter's type and :func:`infinityframe.params.rerun.cast_params` casts by it. For the
cloud generators (``visionfit-v0.4.0`` and friends) the types are read off the values: a
string that is exactly an integer (``"14"``), a number (``"0.0"``, ``"1e-3"``) or a boolean
(``"true"``) becomes one; every other string stays a string.

Examples
--------
>>> typed_params("visionfit-v0.4.0", {"num_reps": "14", "relative_camera_yaw_deg": "0.0", "scene": "GYM_1"})
{'num_reps': 14, 'relative_camera_yaw_deg': 0.0, 'scene': 'GYM_1'}
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from ..params.rerun import cast_params
from ..params.spec import GeneratorSpec

__all__ = ["infer_value", "typed_params"]

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# Strings that metadata-driven casting (``cast_params``) reads as booleans, beyond the numbers.
_BOOL_TEXTS = frozenset({*_BOOLS, "1", "0"})


@functools.lru_cache(maxsize=64)
def known_spec(name: str) -> GeneratorSpec | None:
    """The metadata of a generator this installation can run, or ``None``."""
    try:
        from ..local.generators import get
    except ImportError:  # the local service's extras are optional for reading results
        return None
    generator = get(name)
    return None if generator is None else GeneratorSpec.from_metadata(generator.metadata())


def infer_value(value: Any) -> Any:
    """A string holding exactly a number or boolean, as that number or boolean; anything else as is.

    Examples
    --------
    >>> infer_value("14"), infer_value("0.0"), infer_value("false"), infer_value("BEDROOM_4")
    (14, 0.0, False, 'BEDROOM_4')
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else value
    return _BOOLS.get(text, value)


def _castable(params: Mapping[str, Any]) -> bool:
    """Whether some value is a string that casting, by metadata or by value, could change."""
    for value in params.values():
        if not isinstance(value, str):
            continue
        if value in _BOOL_TEXTS or infer_value(value) is not value:
            return True
        try:
            float(value)
        except ValueError:
            continue
        return True
    return False


def typed_params(generator: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with stringly-typed values cast: by the generator's metadata when known, else by value.

    Parameters the metadata does not list are inferred by value too. Strings of parameters the
    metadata types as ``str`` are never touched, so a choice like ``"4"`` stays text.
    """
    if not _castable(params):
        # Nothing to cast (the usual job.json): skip looking up the generator, which imports the
        # local generators (and OpenCV) the first time.
        return dict(params)
    spec = known_spec(generator) if generator else None
    if spec is None:
        return {k: infer_value(v) for k, v in params.items()}
    cast = cast_params(spec, params)
    return {k: (v if k in spec else infer_value(v)) for k, v in cast.items()}
