"""Distributions a user can ask a parameter to be drawn from, and the resolver that turns any
per-parameter value (a scalar, a list, a distribution, a frozen scipy distribution, a callable)
into a :class:`Sampler`.

Every distribution here is defined by its inverse CDF (``ppf``): ``sample(rng, n)`` is
``ppf(rng.random(n))``. That one choice makes the samplers agree with each other: a uniform
sweep, a Latin hypercube and a Sobol design differ only in where the unit numbers come from, so
LHS and Sobol stay stratified through a normal or a weighted choice.

>>> import numpy as np
>>> from infinityframe.params.distributions import uniform, integers, choice
>>> uniform(0.0, 2.0).ppf(np.array([0.0, 0.5]))
array([0., 1.])
>>> integers(1, 4).ppf(np.array([0.0, 0.3, 0.99]))
array([1, 2, 4])
>>> choice(["MALE", "FEMALE"]).ppf(np.array([0.2, 0.7]))
array(['MALE', 'FEMALE'], dtype=object)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from .rules import check_value
from .spec import ParamSpec

__all__ = [
    "Choice",
    "Distribution",
    "Integers",
    "Normal",
    "Sampler",
    "Uniform",
    "as_sampler",
    "choice",
    "default_sampler",
    "integers",
    "normal",
    "uniform",
]

# ppf(0) of an unbounded distribution is -inf; numpy's random() can return exactly 0.0.
_U_LOW, _U_HIGH = 2.0**-54, 1.0 - 2.0**-53


def _open_unit(u: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(u, dtype=np.float64), _U_LOW, _U_HIGH)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class Distribution(ABC):
    """A distribution over one parameter's values, defined by its inverse CDF."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values: ``ppf`` of ``n`` uniform numbers from ``rng``, in order.

        Because the uniform numbers are consumed one per value, the first ``m`` of ``n`` draws
        equal ``m`` draws from the same generator state.

        Examples
        --------
        >>> import numpy as np
        >>> uniform(0, 1).sample(np.random.default_rng(0), 3).shape
        (3,)
        """
        return self.ppf(rng.random(n))

    @abstractmethod
    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The value at each quantile ``u`` in [0, 1) (the inverse CDF)."""

    @abstractmethod
    def support(self) -> tuple[float, float] | tuple[Any, ...]:
        """The values it can produce: ``(low, high)`` for a range, the values for a choice."""


@dataclass(frozen=True, repr=False)
class Uniform(Distribution):
    """Continuous uniform on ``[lo, hi]``; build it with :func:`uniform`."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        lo, hi = _finite("uniform lo", self.lo), _finite("uniform hi", self.hi)
        if lo > hi:
            raise ValueError(f"uniform needs lo <= hi, got lo={self.lo!r}, hi={self.hi!r}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        # lo + u*(hi-lo) can round past hi when u is within an ulp of 1.
        return np.minimum(self.lo + u * (self.hi - self.lo), self.hi)

    def support(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def __repr__(self) -> str:
        return f"uniform({self.lo:g}, {self.hi:g})"


@dataclass(frozen=True, repr=False)
class Integers(Distribution):
    """Uniform over the integers ``lo, lo+1, …, hi`` (both inclusive); build it with :func:`integers`."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        bounds = []
        for label, value in (("lo", self.lo), ("hi", self.hi)):
            if isinstance(value, bool) or not (isinstance(value, Integral)
                                               or (isinstance(value, float) and float(value).is_integer())):
                raise ValueError(f"integers {label} must be an integer, got {value!r}")
            bounds.append(int(value))
        if bounds[0] > bounds[1]:
            raise ValueError(f"integers needs lo <= hi, got lo={self.lo!r}, hi={self.hi!r}")
        object.__setattr__(self, "lo", bounds[0])
        object.__setattr__(self, "hi", bounds[1])

    def ppf(self, u: np.ndarray) -> np.ndarray:
        # Floor of a scaled unit number: equal-width strata map to equal counts of each integer.
        k = np.floor(np.asarray(u, dtype=np.float64) * (self.hi - self.lo + 1)).astype(np.int64)
        return self.lo + np.minimum(k, self.hi - self.lo)

    def support(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def __repr__(self) -> str:
        return f"integers({self.lo}, {self.hi})"


@dataclass(frozen=True, repr=False)
class Normal(Distribution):
    """Normal with ``mean`` and standard deviation ``sd``; build it with :func:`normal`.

    With ``clip=True`` a parameter that has a range gets the normal *truncated* to that range
    (see :meth:`ppf_within`), so no value falls outside and none pile up at the bounds.
    """

    mean: float
    sd: float
    clip: bool = True

    def __post_init__(self) -> None:
        mean, sd = _finite("normal mean", self.mean), _finite("normal sd", self.sd)
        if sd <= 0:
            raise ValueError(f"normal needs sd > 0, got sd={self.sd!r}")
        if not isinstance(self.clip, bool):
            raise ValueError(f"normal clip must be True or False, got {self.clip!r}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "sd", sd)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        from scipy import special  # only normal draws need it; keep `import infinityframe` light

        return np.asarray(self.mean + self.sd * special.ndtri(_open_unit(u)), dtype=np.float64)

    def ppf_within(self, u: np.ndarray, low: float, high: float) -> np.ndarray:
        """The inverse CDF of this normal truncated to ``[low, high]``.

        Examples
        --------
        >>> import numpy as np
        >>> values = normal(400, 20).ppf_within(np.array([0.0, 0.5, 1.0]), 0, 410)
        >>> bool(values.min() >= 0 and values.max() <= 410)
        True
        """
        from scipy import special

        a, b = (low - self.mean) / self.sd, (high - self.mean) / self.sd
        u = np.asarray(u, dtype=np.float64)
        if a > 0:
            # Both bounds in the upper tail: work in the mirrored lower tail, where the CDF
            # keeps its precision (1 - tiny loses it).
            lo_p, hi_p = special.ndtr(-b), special.ndtr(-a)
            z = -special.ndtri(np.clip(hi_p - u * (hi_p - lo_p), lo_p, hi_p))
        else:
            lo_p, hi_p = special.ndtr(a), special.ndtr(b)
            z = special.ndtri(np.clip(lo_p + u * (hi_p - lo_p), lo_p, hi_p))
        if hi_p <= lo_p:  # the range holds no representable probability mass: nearest bound wins
            z = np.full(u.shape, a if self.mean < low else b)
        return np.asarray(np.clip(self.mean + self.sd * z, low, high), dtype=np.float64)

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def __repr__(self) -> str:
        return f"normal({self.mean:g}, {self.sd:g}, clip={self.clip})"


def _natural_array(values: Sequence[Any]) -> np.ndarray:
    """Values as the numpy array a frame column would hold: bool, int64, float64 or object."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, (Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (Real, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@dataclass(frozen=True, repr=False)
class Choice(Distribution):
    """One of ``values``, uniformly or with probabilities ``p``; build it with :func:`choice`."""

    values: tuple[Any, ...]
    p: tuple[float, ...] | None = None
    _array: np.ndarray = field(init=False, compare=False)
    _cumulative: np.ndarray | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Sequence):
            raise ValueError(f"choice needs a list of values, got {self.values!r}")
        values = tuple(v.item() if isinstance(v, np.generic) else v for v in self.values)
        if not values:
            raise ValueError("choice needs at least one value")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_array", _natural_array(values))
        cumulative = None
        if self.p is not None:
            p = np.asarray(self.p, dtype=np.float64)
            if p.shape != (len(values),):
                raise ValueError(f"choice p has {p.size} probabilities for {len(values)} values")
            if not np.all(np.isfinite(p)) or np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-8):
                raise ValueError(f"choice p must be non-negative and sum to 1, got {list(self.p)!r}")
            object.__setattr__(self, "p", tuple(float(x) for x in p))
            cumulative = np.cumsum(p / p.sum())
        object.__setattr__(self, "_cumulative", cumulative)

    def codes(self, u: np.ndarray) -> np.ndarray:
        """The index into ``values`` at each quantile ``u``."""
        u = np.asarray(u, dtype=np.float64)
        k = len(self.values)
        if self._cumulative is None:
            idx = np.floor(u * k).astype(np.int64)
        else:
            idx = np.searchsorted(self._cumulative, u, side="right")
        return np.asarray(np.minimum(idx, k - 1), dtype=np.int64)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self._array[self.codes(u)])

    def support(self) -> tuple[Any, ...]:
        return self.values

    def __repr__(self) -> str:
        p = "" if self.p is None else f", p={list(self.p)!r}"
        return f"choice({list(self.values)!r}{p})"


def uniform(lo: float, hi: float) -> Uniform:
    """Continuous uniform on ``[lo, hi]``; on an ``int`` parameter the draws are rounded.

    Examples
    --------
    >>> import infinityframe as inf                               # doctest: +SKIP
    >>> session.sample(100, lighting_power=inf.uniform(10, 1000))  # doctest: +SKIP
    >>> uniform(10, 1000)
    uniform(10, 1000)
    """
    return Uniform(lo, hi)


def integers(lo: int, hi: int) -> Integers:
    """Uniform over the integers from ``lo`` to ``hi``, both inclusive.

    Examples
    --------
    >>> integers(1, 10)
    integers(1, 10)
    """
    return Integers(lo, hi)


def normal(mean: float, sd: float, clip: bool = True) -> Normal:
    """Normal with ``mean`` and standard deviation ``sd``.

    With ``clip=True`` (the default) the draws for a parameter with a range are kept inside
    the parameter's ``[min, max]`` by truncating the normal to it; with ``clip=False`` values
    outside the range are an error, as any invalid value would be.

    Examples
    --------
    >>> normal(400, 20)
    normal(400, 20, clip=True)
    """
    return Normal(mean, sd, clip)


def choice(values: Sequence[Any], p: Sequence[float] | None = None) -> Choice:
    """One of ``values``: uniformly, or with probabilities ``p`` (same length, summing to 1).

    Examples
    --------
    >>> choice([256, 512], p=[0.25, 0.75])
    choice([256, 512], p=[0.25, 0.75])
    """
    if isinstance(values, (str, bytes)):
        raise ValueError(f"choice needs a list of values, got the string {values!r}; wrap it in a list")
    return Choice(tuple(values), None if p is None else tuple(p))


# -- resolving what a user passes into a sampler ---------------------------------------------

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
    """

    param: ParamSpec
    source: Any
    draw: Draw
    ppf: Ppf | None
    constant: bool = False
    user: bool = True
    checked: bool = False

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
    """A single given value, normalised (numpy scalars → Python, 3.0 → 3 for an int), or raise.

    Uses the same rules as the service (:func:`infinityframe.params.rules.validate_job`).

    Examples
    --------
    >>> check_scalar(ParamSpec("n", "int", 1, 1, 20), 3.0)
    3
    """
    if isinstance(value, np.generic):
        value = value.item()
    problem = check_value(_param_json(param), value)
    if problem is not None:
        raise ValidationError(f"{param.name} {problem}")
    if param.type == "int" and isinstance(value, float):
        value = int(value)
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

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return cast_ppf(rng.random(n))

    return Sampler(param, source, draw, cast_ppf, user=user, checked=checked)


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
        for v in value.values:
            check_scalar(param, v)
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
