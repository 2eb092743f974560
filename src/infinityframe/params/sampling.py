"""Job frames from a :class:`~infinityframe.params.spec.GeneratorSpec`: random sweeps, filled
gaps, grids and defaults.

Reproducibility is row by row. Every parameter draws from its own numpy stream, derived from
the seed and the parameter's *name* (a stable hash, never Python's ``hash``), one value per row
in row order. Hence, for ``method="uniform"``:

* the same seed gives the same frame;
* ``sample(spec, 200, seed=s)`` starts with exactly the rows of ``sample(spec, 100, seed=s)``
  (adding rows to a sweep does not change the rows already drawn);
* overriding one parameter leaves every other column as it was.

Joint constraints are met by re-drawing the failing rows, round after round (rejection, so
each row ends with the exact law of the draws given the constraints): a failing row draws
again every column of the constraints that share a column with the one it breaks. Round ``k``
re-draws from a stream of its own per (parameter, round), taking the value at the row's
position (a counter-based stream: only the failing rows cost anything), so a row's values
depend only on the seed, its position and its own history, and the properties above survive
the re-draws. ``"sobol"`` keeps the prefix property too (the first ``n`` points of one
scrambled sequence); ``"lhs"`` cannot (its strata depend on ``n``).

An order ``a <= b`` between two float parameters drawn from the same uniform (the advisory
``inter_rep_delay_var <= inter_rep_delay_avg``) is met by construction for ``"uniform"``: each
row's pair is put in order, which is the same conditional law as rejecting it.

An equality ``a == b`` between two parameters the user left to the sampler is met by
construction, not by rejection: ``a`` is drawn from what both allow and ``b`` copies it. If the
user gave values for one side only, the other copies them. (A leader drawn from a recommended
distribution that the follower allows keeps it.)

What a parameter the user leaves open is drawn from is the *prior*
(:mod:`~infinityframe.params.priors`): ``"recommended"`` (the default) takes the distributions
and joint constraints the generator recommends, ``"uniform"`` every parameter's whole range.
The method only decides where the unit numbers come from, so any method goes with either prior.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ._draw import (
    ConstraintLike,
    Method,
    Seed,
    _check_method,
    _check_n,
    _compile,
    _Draw,
    _known,
    _root_entropy,
    _to_series,
)
from .distributions import Distribution
from .expressions import compile_expression
from .priors import Prior, check_prior
from .samplers import as_sampler, check_scalar, prior_sampler
from .spec import Constraint, GeneratorSpec

__all__ = ["ConstraintLike", "Method", "ParameterError", "Prior", "Seed", "fill", "grid", "sample", "with_defaults"]

_F = TypeVar("_F", bound=Callable[..., Any])


class ParameterError(ValidationError, ValueError):
    """A bad argument to :func:`sample`, :func:`fill` or :func:`grid` (an unknown parameter, a bad
    ``n`` or method, an override that cannot be drawn from): an ``InfinityError`` like every error
    the package raises on purpose, and still the ``ValueError`` these functions always raised."""


def _parameter_errors(func: _F) -> _F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValueError as err:
            if isinstance(err, ValidationError):
                raise
            raise ParameterError(str(err)) from err

    return cast(_F, wrapper)


def _recommended(spec: GeneratorSpec, prior: str, drawn: set[str]) -> list[Constraint]:
    """The prior's joint constraints that bind a column the sampler draws; one whose every
    column the user gave (``image_width`` and ``image_height`` both) keeps the user's values."""
    if prior != "recommended":
        return []
    return [c for c in spec.recommended if drawn & set(compile_expression(c.expr).names)]



# -- public verbs ------------------------------------------------------------------------------

@_parameter_errors
def sample(spec: GeneratorSpec, n: int, *, seed: Seed = None, method: Method = "uniform",
           constraints: ConstraintLike | Sequence[ConstraintLike] = (),
           fixed: Mapping[str, Any] | None = None, max_rounds: int = 100, advisory: bool = True,
           prior: Prior = "recommended") -> pd.DataFrame:
    """Draw ``n`` jobs: one row per job, one column per parameter in the spec's order.

    Parameters
    ----------
    spec : GeneratorSpec
        The generator's parameters and constraints.
    n : int
        Number of rows (0 gives an empty frame with the right columns and dtypes).
    seed : int, numpy.random.Generator or None
        An int makes the frame reproducible. A ``Generator`` is advanced by one 128-bit draw
        that becomes the seed, so consecutive calls with it differ and a generator created
        with the same seed replays them. ``None`` uses fresh entropy.
    method : {"uniform", "lhs", "sobol"}
        Independent draws; a Latin hypercube (every one of ``n`` equal strata of each sampled
        parameter holds exactly one row); or a scrambled Sobol sequence (balanced when ``n`` is
        a power of two). Callables and constants take no dimension of a design. Only
        ``"uniform"`` keeps other columns unchanged when an override is added (a design's
        dimensions are shared), and ``"lhs"`` frames of different ``n`` share no rows (the
        strata depend on ``n``); rows re-drawn for a constraint are independent draws, so a
        constrained design is stratified only approximately in the columns it constrains.
    constraints : expression, Constraint, callable, or a sequence of them
        Joint constraints on top of the generator's own (``"trim_start + trim_end <= 0.9"``;
        a callable takes a frame and returns one boolean per row).
    fixed : mapping, optional
        Per-parameter overrides, anything :func:`~infinityframe.params.samplers.as_sampler`
        accepts: a scalar, a list (uniform choice), ``inf.uniform`` / ``integers`` / ``normal``
        / ``choice``, a frozen ``scipy.stats`` distribution or a callable ``(rng, n)``.
    max_rounds : int
        Rounds of re-drawing rows that break a constraint before giving up.
    advisory : bool
        Honour the generator's advisory constraints (its recommendations, such as a pause
        spread no larger than its mean), as for its rules. ``False`` draws what the service
        accepts, as infinity-core's sampler does.
    prior : {"recommended", "uniform"}
        Where a parameter the user says nothing about is drawn from: the distribution the
        generator recommends for it (and the joint constraints that go with them, such as a
        square image), else its whole range; or, with ``"uniform"``, every parameter over its
        whole range, as infinity-core draws. ``fixed`` overrides either, per parameter.

    Returns
    -------
    pandas.DataFrame
        int → ``int64``, float → ``float64``, bool → ``bool``, str → ``str``; ``uuid``
        parameters (``state``) are ``object`` columns of ``None`` unless given.

    Raises
    ------
    ValueError
        An unknown parameter or method, or a bad ``n``.
    ValidationError
        A given value is not allowed, or a constraint cannot be met (it names the constraint,
        the rows still failing and the share of draws that met it).

    Examples
    --------
    >>> from infinityframe.local.generators import get
    >>> spec = GeneratorSpec.from_metadata(get("stickfit-v0.1.0").metadata())
    >>> df = sample(spec, 100, seed=0, fixed={"image_width": [256, 512]},
    ...             constraints=["image_width == image_height"])
    >>> bool((df.image_width == df.image_height).all())
    True
    >>> sample(spec, 200, seed=0).head(100).equals(sample(spec, 100, seed=0))
    True

    The generator's recommended distributions keep the camera on the person; ``prior="uniform"``
    turns it anywhere in its range:

    >>> recommended, anywhere = sample(spec, 1000, seed=0), sample(spec, 1000, seed=0, prior="uniform")
    >>> yaw = "relative_camera_yaw_deg"
    >>> float(recommended[yaw].abs().max()) <= 15, float(anywhere[yaw].abs().max()) > 40
    (True, True)
    """
    n = _check_n(n)
    how = _check_method(method)
    prior = cast(Prior, check_prior(prior))
    samplers = {p.name: prior_sampler(p, prior) for p in spec}
    for name, value in (fixed or {}).items():
        samplers[name] = as_sampler(value, spec[_known(spec, name)])
    drawn = set(spec.names) - set(fixed or {})
    compiled = _compile(spec, constraints, advisory, _recommended(spec, prior, drawn))
    draw = _Draw(spec, samplers, n, _root_entropy(seed), compiled, strict=True)
    draw.run(how, max_rounds)
    return draw.frame(pd.RangeIndex(n))


@_parameter_errors
def fill(df: pd.DataFrame, spec: GeneratorSpec, *, seed: Seed = None, method: Method = "uniform",
         constraints: ConstraintLike | Sequence[ConstraintLike] = (), max_rounds: int = 100,
         advisory: bool = True, prior: Prior = "recommended") -> pd.DataFrame:
    """Sample what ``df`` leaves open: missing parameter columns, and missing cells (NaN/None).

    Given cells are never changed and ``df`` is not modified; a new frame is returned with
    ``df``'s columns in their order, then the missing parameters in the spec's order. Cells are
    drawn as :func:`sample` draws them, by row position, so the same seed fills the same cells
    alike. Constraints are met by re-drawing only filled cells; a row whose failing constraint
    uses only given cells is left for ``validate`` to report. ``advisory`` and ``prior`` are as
    for :func:`sample`.

    Examples
    --------
    >>> from infinityframe.local.generators import get
    >>> spec = GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())
    >>> jobs = pd.DataFrame({"num_objects": [3, None, 7]})
    >>> out = fill(jobs, spec, seed=1)
    >>> out.num_objects.tolist()[::2], len(out.columns) == len(spec.params)
    ([3, 7], True)
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"fill needs a pandas DataFrame, got {type(df).__name__}")
    how = _check_method(method)
    prior = cast(Prior, check_prior(prior))
    n = len(df)
    samplers = {p.name: prior_sampler(p, prior) for p in spec}
    drawn = {name for name in spec.names if name not in df.columns or bool(df[name].isna().any())}
    compiled = _compile(spec, constraints, advisory, _recommended(spec, prior, drawn))
    draw = _Draw(spec, samplers, n, _root_entropy(seed), compiled, strict=False)
    for name in spec.names:
        if name in df.columns:
            values = np.array(df[name].to_numpy(dtype=object), copy=True)
            draw.given(name, values, np.asarray(pd.isna(df[name]), dtype=bool))
    draw.run(how, max_rounds)
    filled = draw.frame(df.index)
    out = df.copy()
    for name in spec.names:
        out[name] = filled[name].array  # by position: df's index may repeat labels
    return out


@_parameter_errors
def grid(spec: GeneratorSpec, **axes: Any) -> pd.DataFrame:
    """Every combination of the given values: the cartesian product of ``axes``, in order.

    Each axis is a scalar or a list of values; the first axis varies slowest. Only the axes'
    columns are returned (``with_defaults`` or ``fill`` complete the rest).

    Examples
    --------
    >>> from infinityframe.local.generators import get
    >>> spec = GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())
    >>> grid(spec, num_objects=[1, 5], background=["PLAIN", "NOISE"]).values.tolist()
    [[1, 'PLAIN'], [1, 'NOISE'], [5, 'PLAIN'], [5, 'NOISE']]
    """
    values: dict[str, list[Any]] = {}
    for name, axis in axes.items():
        param = spec[_known(spec, name)]
        if isinstance(axis, Distribution) or callable(axis) or hasattr(axis, "rvs"):
            raise ValueError(f"grid axis {name} needs values, not {axis!r}; draw from a distribution with "
                             "sample(..., fixed=...) or fill()")
        if isinstance(axis, (set, frozenset)):
            raise ValueError(f"grid axis {name}: a set has no order; pass a sorted list")
        if isinstance(axis, (list, tuple, np.ndarray, pd.Series, pd.Index, range)):
            items = list(axis.tolist() if hasattr(axis, "tolist") else axis)
        else:
            items = [axis]
        values[name] = [check_scalar(param, v) for v in items]
    shape = tuple(len(v) for v in values.values())
    index = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), dtype=np.int64)
    columns = {}
    for (name, items), idx in zip(values.items(), index, strict=True):
        pool = np.empty(len(items), dtype=object)
        pool[:] = items
        columns[name] = _to_series(pool[idx], spec[name])
    return pd.DataFrame(columns, index=pd.RangeIndex(index.shape[1]))


def with_defaults(df: pd.DataFrame, spec: GeneratorSpec) -> pd.DataFrame:
    """Every parameter present: missing columns added at their default, missing cells filled.

    Given cells are kept and ``df`` is not modified; added columns follow ``df``'s, in the
    spec's order.

    Examples
    --------
    >>> from infinityframe.local.generators import get
    >>> spec = GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())
    >>> out = with_defaults(pd.DataFrame({"num_objects": [3, None]}), spec)
    >>> out.num_objects.tolist(), out.background.tolist()
    ([3, 5], ['PLAIN', 'PLAIN'])
    """
    out = df.copy()
    for param in spec:
        if param.name in df.columns:
            values = np.array(df[param.name].to_numpy(dtype=object), copy=True)
            missing = np.asarray(pd.isna(df[param.name]), dtype=bool)
        else:
            values, missing = np.empty(len(df), dtype=object), np.ones(len(df), dtype=bool)
        values[missing] = param.default
        out[param.name] = _to_series(values, param, df.index)
    return out
