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

How a user's value for a parameter (a scalar, a list, one of these) becomes a sampler is
:mod:`infinityframe.params.samplers`; its names are importable from here too.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["Choice", "Distribution", "Integers", "Normal", "Uniform", "choice", "integers", "normal", "uniform"]

# ppf(0) of an unbounded distribution is -inf; numpy's random() can return exactly 0.0.
_U_LOW, _U_HIGH = 2.0**-54, 1.0 - 2.0**-53


def _open_unit(u: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(u, dtype=np.float64), _U_LOW, _U_HIGH)


def _strata(u: np.ndarray, k: int, *, spare: bool = False) -> np.ndarray:
    """Which of ``k`` equal strata of [0, 1] each unit number falls in: ``floor(u * k)``, at most
    ``k - 1``. With ``spare`` the scaling is done in ``u``'s memory."""
    u = np.asarray(u, dtype=np.float64)
    scaled: np.ndarray = np.multiply(u, k, out=u) if spare else np.multiply(u, k)
    # Truncation is the floor for the non-negative numbers a unit interval holds. Spare
    # contiguous numbers become their indexes in their own memory (the cast is elementwise).
    idx = scaled.view(np.int64) if spare and scaled.flags.c_contiguous else np.empty(scaled.shape, np.int64)
    np.copyto(idx, scaled, casting="unsafe")
    np.minimum(idx, k - 1, out=idx)
    return idx


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
        return self.ppf_spare(rng.random(n))

    @abstractmethod
    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The value at each quantile ``u`` in [0, 1) (the inverse CDF)."""

    def ppf_spare(self, u: np.ndarray) -> np.ndarray:
        """:meth:`ppf` of unit numbers the caller no longer needs, so it may work in their memory.

        The same values as ``ppf``; drawing goes through it to save an array per column. The
        default simply calls ``ppf``.

        Examples
        --------
        >>> import numpy as np
        >>> uniform(0, 2).ppf_spare(np.array([0.25, 0.5]))
        array([0.5, 1. ])
        """
        return self.ppf(u)

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
        # One new array, then in place: a million-row column costs one allocation, not three.
        out = np.multiply(np.asarray(u, dtype=np.float64), self.hi - self.lo)
        out += self.lo
        # lo + u*(hi-lo) can round past hi when u is within an ulp of 1.
        return np.minimum(out, self.hi, out=out)

    def ppf_spare(self, u: np.ndarray) -> np.ndarray:
        out = np.asarray(u, dtype=np.float64)
        if not out.flags.writeable:
            return self.ppf(u)
        out *= self.hi - self.lo  # the same operations as ppf, in place
        out += self.lo
        return np.minimum(out, self.hi, out=out)

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
        k = _strata(u, self.hi - self.lo + 1)
        k += self.lo
        return k

    def ppf_spare(self, u: np.ndarray) -> np.ndarray:
        if not np.asarray(u).flags.writeable:
            return self.ppf(u)
        k = _strata(u, self.hi - self.lo + 1, spare=True)
        k += self.lo
        return k

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

    @property
    def _coin(self) -> bool:
        """Exactly ``False, True`` (as bools: ``(0, 1) == (False, True)`` in Python)."""
        return self._array.dtype == np.bool_ and self.values == (False, True)

    def codes(self, u: np.ndarray) -> np.ndarray:
        """The index into ``values`` at each quantile ``u``."""
        k = len(self.values)
        if self._cumulative is None:
            return _strata(u, k)
        idx = np.searchsorted(self._cumulative, np.asarray(u, dtype=np.float64), side="right")
        return np.asarray(np.minimum(idx, k - 1), dtype=np.int64)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        if self._cumulative is None and self._coin:
            # A fair coin: floor(2u) is 1 exactly when u >= 0.5 (doubling is exact), so no codes needed.
            return np.asarray(u, dtype=np.float64) >= 0.5
        return np.asarray(self._array[self.codes(u)])

    def ppf_spare(self, u: np.ndarray) -> np.ndarray:
        if self._cumulative is not None or self._coin or not np.asarray(u).flags.writeable:
            return self.ppf(u)
        return np.asarray(self._array[_strata(u, len(self.values), spare=True)])

    def support(self) -> tuple[Any, ...]:
        return self.values

    def __repr__(self) -> str:
        p = "" if self.p is None else f", p={list(self.p)!r}"
        return f"choice({list(self.values)!r}{p})"


def uniform(lo: float, hi: float) -> Uniform:
    """Continuous uniform on ``[lo, hi]``; on an ``int`` parameter the draws are rounded.

    Examples
    --------
    >>> import infinityframe as inf
    >>> bool(sesh.sample(100, seed=0, lighting_power=inf.uniform(10, 1000))["lighting_power"].between(10, 1000).all())
    True
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
