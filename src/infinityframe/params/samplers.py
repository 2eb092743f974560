"""Turning what a user passes for one parameter (a scalar, a list, a distribution, a frozen
scipy distribution, a callable) into a :class:`Sampler`: how that parameter's column is drawn.

>>> import numpy as np
>>> from infinityframe.params.spec import ParamSpec
>>> sampler = as_sampler([256, 512], ParamSpec("image_width", "int", 256, 128, 512))
>>> sampler.draw(np.random.default_rng(0), 4).tolist()
[512, 256, 256, 256]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from .distributions import Choice, Distribution, Integers, Normal, Uniform, _natural_array, _open_unit
from .rules import coerce_value
from .spec import ParamSpec

__all__ = ["Sampler", "as_sampler", "cast_values", "check_scalar", "default_sampler", "prior_sampler"]

log = logging.getLogger(__name__)

Draw = Callable[[np.random.Generator, int], np.ndarray]
Ppf = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Sampler:
    """How one parameter's column is drawn.

    Attributes
    ----------
    param : ParamSpec
        The parameter it draws.
    source : object
        What it was built from (for messages).
    draw : callable
        ``draw(rng, n)`` → ``n`` values, cast to the parameter's type.
    ppf : callable or None
        Unit numbers → values (cast), for LHS and Sobol; ``None`` for callables and constants,
        which take no dimension of a design.
    constant : bool
        Every row gets the same value; such a column is never re-drawn.
    user : bool
        Given by the user rather than the parameter's default.
    checked : bool
        Its values are known to be valid, so they need no check after drawing.
    pool : numpy.ndarray or None
        For a choice among strings on a ``str`` parameter: the strings (an object array).
        ``codes`` then draws indexes into it, the same draws ``draw`` and ``ppf`` turn into
        strings, so a frame can carry small integers and build its string column once.
    codes : callable or None
        Unit numbers → indexes into ``pool``; set exactly when ``pool`` is.
    spare : callable or None
        ``ppf`` of unit numbers the caller gives up, so it may compute in their memory (the
        same values); ``None`` exactly when ``ppf`` is.
    in_place : bool
        ``spare`` returns the unit numbers' own memory (a uniform float or integer range):
        a frame can draw such columns into one block of memory it allocates once.
    """

    param: ParamSpec
    source: Any
    draw: Draw
    ppf: Ppf | None
    constant: bool = False
    user: bool = True
    checked: bool = False
    pool: np.ndarray | None = None
    codes: Ppf | None = None
    spare: Ppf | None = None
    in_place: bool = False

    def __repr__(self) -> str:
        return f"Sampler({self.param.name}: {self.source!r})"


def _is_scipy_frozen(value: Any) -> bool:
    return hasattr(value, "ppf") and hasattr(value, "rvs") and not isinstance(value, type)


def cast_values(values: Any, param: ParamSpec) -> np.ndarray:
    """Draws as the column's numpy array; ``int`` parameters get float draws rounded.

    Examples
    --------
    >>> cast_values([2.4, 2.6], ParamSpec("n", "int")).tolist()
    [2, 3]
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if param.type == "int" and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValidationError(f"{param.name}: the draws include non-finite values; an int needs a number")
        return np.asarray(np.rint(arr), dtype=np.int64)
    if param.type == "int" and arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if param.type == "float" and arr.dtype.kind in "iuf":
        return arr.astype(np.float64, copy=False)
    if param.type in ("str", "uuid") and arr.dtype.kind != "O":
        # numpy's fixed-width strings would reach the frame as np.str_, not str.
        out = np.empty(arr.shape[0], dtype=object)
        out[:] = arr.tolist()
        return out
    return arr


def check_scalar(param: ParamSpec, value: Any) -> Any:
    """A single given value, normalised (numpy scalars → Python, 3.0 or "3" → 3 for an int), or raise.

    Uses the same rules as the service (:func:`infinityframe.params.rules.validate_job`).

    Examples
    --------
    >>> check_scalar(ParamSpec("n", "int", 1, 1, 20), 3.0)
    3
    """
    if isinstance(value, np.generic):
        value = value.item()
    value, problem = coerce_value(_param_json(param), value)
    if problem is not None:
        raise ValidationError(f"{param.name} {problem}")
    return value


def _param_json(param: ParamSpec) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if param.min is not None:
        options["min"] = param.min
    if param.max is not None:
        options["max"] = param.max
    if param.choices is not None:
        options["choices"] = list(param.choices)
    return {"name": param.name, "type": param.type, "default_value": param.default, "options": options}


def _constant(param: ParamSpec, value: Any, *, user: bool) -> Sampler:
    value = check_scalar(param, value)
    template = _natural_array([value]) if value is not None else np.array([None], dtype=object)
    template = cast_values(template, param)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, template[0], dtype=template.dtype)

    return Sampler(param, value, draw, None, constant=True, user=user, checked=True)


def _from_ppf(param: ParamSpec, source: Any, ppf: Ppf, *, user: bool, checked: bool) -> Sampler:
    def cast_ppf(u: np.ndarray) -> np.ndarray:
        return cast_values(ppf(u), param)

    # The unit numbers drawn here are used once, so a distribution may compute in their memory.
    spare = source.ppf_spare if isinstance(source, Distribution) and ppf == source.ppf else ppf

    def cast_spare(u: np.ndarray) -> np.ndarray:
        return cast_values(spare(u), param)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return cast_spare(rng.random(n))

    coded = (isinstance(source, Choice) and param.type == "str" and source.ppf == ppf
             and all(type(v) is str for v in source.values))
    if coded:
        return Sampler(param, source, draw, cast_ppf, user=user, checked=checked,
                       pool=_natural_array(source.values), codes=source.codes, spare=cast_spare)
    in_place = spare is not ppf and ((isinstance(source, Uniform) and param.type == "float")
                                     or (isinstance(source, Integers) and param.type == "int"))
    return Sampler(param, source, draw, cast_ppf, user=user, checked=checked, spare=cast_spare, in_place=in_place)


def _check_numeric(param: ParamSpec, dist: Distribution) -> None:
    if param.type not in ("int", "float") or param.choices:
        raise ValueError(f"{dist!r} draws numbers, but {param.name} is a {param.type} parameter"
                         + (" with choices; use a list or inf.choice([...])" if param.choices else ""))


def as_sampler(value: Any, param: ParamSpec) -> Sampler:
    """Turn what a user passes for one parameter into a :class:`Sampler`.

    ============================================  ==============================================
    ``value``                                     drawn as
    ============================================  ==============================================
    a scalar (``256``, ``"GYM_1"``, ``None``)      that value on every row (checked now)
    a list, tuple, numpy array or pandas Series   a uniform choice among its values (checked now)
    :func:`uniform`, :func:`integers`             its range (checked now against the parameter's)
    :func:`normal`                                truncated to the parameter's range if ``clip``
    :func:`choice`                                its values, with its weights (checked now)
    a frozen ``scipy.stats`` distribution         its ``ppf``; rounded for an ``int`` parameter
    a callable ``(rng, n) -> array-like``         called with the parameter's own generator
                                                  (draw ``n`` values in order from it to keep
                                                  the prefix property of ``sample``)
    ============================================  ==============================================

    Values that can only be checked once drawn (scipy, callables, ``normal(clip=False)``) are
    checked by the sampler after drawing.

    Examples
    --------
    >>> import numpy as np
    >>> from infinityframe.params.distributions import normal
    >>> p = ParamSpec("lighting_power", "float", 100.0, 0.0, 2000.0)
    >>> s = as_sampler(normal(400, 20), p)
    >>> values = s.draw(np.random.default_rng(0), 1000)
    >>> bool(values.min() >= 0.0 and values.max() <= 2000.0)
    True
    >>> as_sampler([256, 512], ParamSpec("image_width", "int", 256, 128, 512)).source
    choice([256, 512])
    """
    if isinstance(value, Sampler):
        return value
    if isinstance(value, Choice):
        read = tuple(check_scalar(param, v) for v in value.values)
        if param.type in ("int", "float") and any(isinstance(v, str) for v in value.values):
            value = Choice(read, value.p)  # "2" is drawn as 2, the number the service would store
        return _from_ppf(param, value, value.ppf, user=True, checked=True)
    if isinstance(value, (Uniform, Integers)):
        _check_numeric(param, value)
        # On an int parameter the draws are rounded, so the rounded bounds must be allowed.
        for v in value.support():
            check_scalar(param, int(np.rint(v)) if param.type == "int" else v)
        return _from_ppf(param, value, value.ppf, user=True, checked=True)
    if isinstance(value, Normal):
        _check_numeric(param, value)
        dist = value
        if dist.clip and (param.min is not None or param.max is not None):
            low = -math.inf if param.min is None else float(param.min)
            high = math.inf if param.max is None else float(param.max)
            return _from_ppf(param, dist, lambda u: dist.ppf_within(u, low, high), user=True, checked=True)
        return _from_ppf(param, dist, dist.ppf, user=True, checked=False)
    if isinstance(value, Distribution):
        return _from_ppf(param, value, value.ppf, user=True, checked=False)
    if _is_scipy_frozen(value):
        frozen = value
        return _from_ppf(param, frozen, lambda u: frozen.ppf(_open_unit(u)), user=True, checked=False)
    if callable(value):
        fn = value

        def draw(rng: np.random.Generator, n: int) -> np.ndarray:
            # A copy: the frame is written into later, never the caller's own array.
            out = cast_values(np.array(fn(rng, n), copy=True), param)
            if out.shape != (n,):
                raise ValueError(f"the callable for {param.name} returned {out.shape[0]} values for n={n}")
            return out

        return Sampler(param, fn, draw, None, user=True, checked=False)
    if isinstance(value, (set, frozenset)):
        raise ValueError(f"{param.name}: a set has no order, so draws from it would not be reproducible; "
                         "pass a sorted list")
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index, range)):
        values = list(value.tolist() if hasattr(value, "tolist") else value)
        if not values:
            raise ValueError(f"{param.name}: an empty list leaves nothing to draw")
        return as_sampler(Choice(tuple(values)), param)
    return _constant(param, value, user=True)


def default_sampler(param: ParamSpec, *, low: float | None = None, high: float | None = None,
                    values: Sequence[Any] | None = None) -> Sampler:
    """How a parameter is drawn when the user says nothing about it.

    Choices → uniform over them; a ranged ``int`` → uniform integer in ``[min, max]``; a ranged
    ``float`` → uniform in ``[min, max]``; ``bool`` → a fair coin; anything else → its default.
    ``low``/``high`` narrow a range and ``values`` replaces the choices, as an equality
    constraint between two parameters does (each side may only take what both allow).

    Examples
    --------
    >>> default_sampler(ParamSpec("num_reps", "int", 2, 1, 20)).source
    integers(1, 20)
    >>> default_sampler(ParamSpec("num_reps", "int", 2, 1, 20), high=5).source
    integers(1, 5)
    """
    dist: Distribution
    if values is not None or param.choices or param.type == "bool":
        dist = Choice(tuple(values if values is not None else (param.choices or (False, True))))
    elif param.ranged:
        lo = float(param.min if low is None else low)  # type: ignore[arg-type]
        hi = float(param.max if high is None else high)  # type: ignore[arg-type]
        dist = Integers(math.ceil(lo), math.floor(hi)) if param.type == "int" else Uniform(lo, hi)
    else:
        return _constant(param, param.default, user=False)
    return _from_ppf(param, dist, dist.ppf, user=False, checked=True)


def prior_sampler(param: ParamSpec, prior: str = "recommended") -> Sampler:
    """How a parameter is drawn when the user says nothing about it, under ``prior``.

    ``"recommended"``: the distribution the generator recommends for it, if any (checked
    against the parameter when the metadata was read); otherwise, and always under
    ``"uniform"``, :func:`default_sampler` (the whole range).

    Examples
    --------
    >>> from infinityframe.params.distributions import uniform
    >>> p = ParamSpec("camera_distance", "float", 3.0, 1.0, 5.25, recommended=uniform(2.5, 5.0))
    >>> prior_sampler(p).source, prior_sampler(p, "uniform").source
    (uniform(2.5, 5), uniform(1, 5.25))
    """
    if prior == "recommended" and param.recommended is not None:
        try:
            # Not the user's: an equality constraint may still decide it (see Sampler.user).
            return replace(as_sampler(param.recommended, param), user=False)
        except (ValueError, ValidationError) as err:  # checked when read; the service's own rules are final
            log.warning("%s: the recommended %r cannot be drawn (%s); drawing over the whole range",
                        param.name, param.recommended, err)
    return default_sampler(param)
