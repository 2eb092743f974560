"""Numbers as the real service reads them: Django REST Framework's ``IntegerField`` and ``FloatField``.

The cloud service parses each job's ``int`` and ``float`` parameters with DRF's
``to_internal_value``, so ``"2"`` is a fine 2 and ``" 3.5 "`` a fine 3.5. :func:`coerce_number`
is that rule, once, for every path that checks a value: the embedded service
(``rules.validate_job``), the client's list-of-dicts and frame paths, and the CLI's CSV cells.
The accepted value is *converted* (``"2"`` → ``2``), so what is stored, hashed and rendered
is the number, never the text.

Where this project is stricter than DRF, on purpose:

* booleans are not numbers (DRF's ``FloatField`` takes ``True`` as 1.0);
* NaN and infinities are refused, in any spelling (``"nan"``, ``"inf"``, ``"1e999"``): they are
  not JSON;
* a string must be plain ASCII decimal notation (``int()`` and ``float()`` would also read
  ``"1_000"`` and non-ASCII digits);
* an integral float (``2.0``) is an integer, whatever its size (DRF goes through ``str()``, which
  writes ``1e+16``).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import numpy as np

__all__ = ["MAX_NUMBER_TEXT", "NumberError", "coerce_number"]

MAX_NUMBER_TEXT = 1000  # DRF's MAX_STRING_LENGTH: "Guard against malicious string inputs."

# IntegerField: int() of the text once a trailing ".0…" is cut (its re_decimal), so "2", "2.0", "2." pass.
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?", re.ASCII)
# FloatField: float() of the text, in its plain decimal and exponent spellings.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

_INVALID = {"int": "A valid integer is required.", "float": "A valid number is required."}
_TOO_LARGE = "String value too large."


class NumberError(ValueError):
    """A value refused as an ``int`` or ``float`` parameter; ``reason`` is DRF's own message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def coerce_number(kind: Literal["int", "float"] | str, value: Any) -> int | float:
    """``value`` read as a parameter of type ``kind`` (``"int"`` or ``"float"``), or raise.

    Parameters
    ----------
    kind : {"int", "float"}
        The parameter's type.
    value : Any
        A JSON value (or a numpy scalar): a number, or a string holding one.

    Returns
    -------
    int or float
        The number the service stores: an ``int`` for ``kind="int"``; for ``kind="float"`` a
        ``float``, except that an ``int`` stays as it came (JSON has one number type).

    Raises
    ------
    NumberError
        With DRF's reason: ``"A valid integer is required."``, ``"A valid number is
        required."`` or ``"String value too large."`` (more than 1,000 characters).

    Examples
    --------
    >>> coerce_number("int", " 2.0 "), coerce_number("float", "1e3"), coerce_number("int", 3.0)
    (2, 1000.0, 3)
    >>> coerce_number("int", "2.5")
    Traceback (most recent call last):
    ...
    infinityframe.params.numeric.NumberError: A valid integer is required.
    """
    invalid = _INVALID.get(kind)
    if invalid is None:
        raise ValueError(f"coerce_number reads int or float parameters, not {kind!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise NumberError(invalid)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT:
            raise NumberError(_TOO_LARGE)
        text = value.strip()
        if kind == "int":
            if _INTEGER.fullmatch(text) is None:
                raise NumberError(invalid)
            return int(text.partition(".")[0])
        if _DECIMAL.fullmatch(text) is None:
            raise NumberError(invalid)
        value = float(text)  # "1e999" reads as inf: refused below
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError(invalid)
        if kind == "float":
            return value
        if not value.is_integer():
            raise NumberError(invalid)
    return int(value)  # an int stays an int for either kind: JSON has one number type
