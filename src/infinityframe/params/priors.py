"""Recommended distributions: where a sweep starts when the user says nothing about a parameter.

A generator may serve, beside its ``params``, the distributions a sensible sweep draws from
(the camera where the person is in view, the light bright enough to see), as Infinity's own
workflows do by hand (``sample_input``). It is an extension of the metadata the real service
does not send::

    "recommended": {
        "distributions": {
            "camera_distance": {"distribution": "uniform", "low": 2.5, "high": 5.0},
            "num_reps": {"distribution": "integers", "low": 1, "high": 10},
            "relative_height": {"distribution": "normal", "mean": 0.0, "sd": 1.0},
            "image_width": {"distribution": "choice", "values": [256, 512]}
        },
        "constraints": [{"name": "square_image", "expr": "image_width == image_height",
                         "message": "..."}]
    }

A parameter it does not name is drawn over its whole range. ``prior="recommended"`` (the
default of :func:`~infinityframe.params.sampling.sample` and ``fill``) draws from these;
``prior="uniform"`` draws every parameter over its whole range, as infinity-core does. A
recommended constraint holds only while the sampler draws at least one of its columns: giving
both sides yourself keeps both.

The client trusts nothing it is sent: an entry it cannot read, or one that could draw a value
the parameter does not allow, is dropped (the parameter is then drawn over its range) and
logged, so every drawn value stays valid.

>>> from infinityframe.params.distributions import uniform
>>> distribution_json(uniform(2.5, 5.0))
{'distribution': 'uniform', 'low': 2.5, 'high': 5.0}
>>> read_distribution({"distribution": "uniform", "low": 2.5, "high": 5.0})
uniform(2.5, 5)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .distributions import Choice, Distribution, Integers, Normal, Uniform
from .expressions import compile_expression

__all__ = ["PRIORS", "Prior", "check_prior", "distribution_json", "read_distribution", "read_recommended",
           "recommended_json"]

log = logging.getLogger(__name__)

Prior = Literal["recommended", "uniform"]
PRIORS: tuple[str, ...] = ("recommended", "uniform")


def check_prior(prior: Any) -> str:
    """``prior`` itself, or a ``ValueError`` naming the choices.

    Examples
    --------
    >>> check_prior("uniform")
    'uniform'
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {', '.join(map(repr, PRIORS))}, got {prior!r}: "
                         "'recommended' starts from the generator's recommended distributions, "
                         "'uniform' draws every parameter over its whole range")
    return str(prior)


def distribution_json(dist: Distribution) -> dict[str, Any]:
    """A distribution in the metadata's ``recommended`` shape.

    Examples
    --------
    >>> from infinityframe.params.distributions import choice
    >>> distribution_json(choice([256, 512]))
    {'distribution': 'choice', 'values': [256, 512]}
    """
    if isinstance(dist, Uniform):
        return {"distribution": "uniform", "low": dist.lo, "high": dist.hi}
    if isinstance(dist, Integers):
        return {"distribution": "integers", "low": dist.lo, "high": dist.hi}
    if isinstance(dist, Normal):
        return {"distribution": "normal", "mean": dist.mean, "sd": dist.sd}
    if isinstance(dist, Choice):
        out: dict[str, Any] = {"distribution": "choice", "values": list(dist.values)}
        if dist.p is not None:
            out["p"] = list(dist.p)
        return out
    raise TypeError(f"{dist!r} has no JSON form; recommend uniform, integers, normal or choice")


def read_distribution(entry: Any) -> Distribution:
    """The distribution a ``recommended`` entry describes, or a ``ValueError`` saying why not.

    A normal is always truncated to the parameter's range.

    Examples
    --------
    >>> read_distribution({"distribution": "normal", "mean": 0, "sd": 1})
    normal(0, 1, clip=True)
    """
    if not isinstance(entry, Mapping):
        raise ValueError(f"an entry must be an object, got {type(entry).__name__}")
    kind = entry.get("distribution")
    try:
        if kind == "uniform":
            return Uniform(entry["low"], entry["high"])
        if kind == "integers":
            return Integers(entry["low"], entry["high"])
        if kind == "normal":
            return Normal(entry["mean"], entry["sd"], True)
        if kind == "choice":
            values, p = entry["values"], entry.get("p")
            if not isinstance(values, list) or (p is not None and not isinstance(p, list)):
                raise ValueError("choice needs a list of values (and a list p, if given)")
            return Choice(tuple(values), None if p is None else tuple(p))
    except KeyError as err:
        raise ValueError(f"a {kind} entry needs {err.args[0]!r}") from err
    except TypeError as err:  # unhashable or non-numeric fields
        raise ValueError(str(err)) from err
    raise ValueError(f"unknown distribution {kind!r}; expected uniform, integers, normal or choice")


def _value_problem(value: Any, param: Mapping[str, Any]) -> str | None:
    """Why one value a distribution can draw is not one the parameter allows (its JSON), or ``None``.

    A deliberately small reading of the rules (type, range, choices): this module sits below
    the spec and the rules, and :func:`~infinityframe.params.samplers.prior_sampler` checks
    each recommendation again with the service's own rules before drawing from it.
    """
    kind, options = param.get("type"), param.get("options") or {}
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    typed = {"int": number and float(value).is_integer(), "float": number, "bool": isinstance(value, bool),
             "str": isinstance(value, str), "uuid": value is None or isinstance(value, str)}.get(str(kind), False)
    if not typed:
        return f"{value!r} is not a {kind}"
    choices = options.get("choices")
    if choices is not None and value not in choices:
        return f"{value!r} is not one of its choices"
    low, high = options.get("min"), options.get("max")
    if number and ((low is not None and value < low) or (high is not None and value > high)):
        return f"{value!r} is outside [{low}, {high}]"
    return None


def _allowed(dist: Distribution, param: Mapping[str, Any]) -> None:
    """Raise unless every value ``dist`` can draw is one the parameter allows."""
    options = param.get("options") or {}
    if isinstance(dist, Choice):
        values: tuple[Any, ...] = dist.values
    else:
        if param.get("type") not in ("int", "float") or options.get("choices") is not None:
            raise ValueError(f"{dist!r} draws numbers, but the parameter is a {param.get('type')} "
                             "parameter" + (" with choices" if options.get("choices") is not None else ""))
        if isinstance(dist, Normal):  # truncated to the range, so it needs one
            if options.get("min") is None or options.get("max") is None:
                raise ValueError("a normal needs a range to be truncated to")
            return
        lo, hi = dist.support()
        # Draws on an int parameter are rounded; rounded bounds must be allowed.
        values = (round(lo), round(hi)) if param.get("type") == "int" else (lo, hi)
    for value in values:
        problem = _value_problem(value, param)
        if problem is not None:
            raise ValueError(problem)


def read_recommended(meta: Mapping[str, Any]) -> tuple[dict[str, Distribution], list[dict[str, Any]]]:
    """The usable recommended distributions and constraints of a generator's metadata.

    Metadata without ``recommended`` (the real service's) gives none. An entry that names an
    unknown parameter, cannot be read, or could draw a value its parameter does not allow is
    dropped with a logged warning: that parameter is then drawn over its whole range. A
    constraint naming an unknown parameter, or not an expression, is dropped alike.

    Examples
    --------
    >>> meta = {"name": "g", "params": [{"name": "camera_distance", "type": "float", "default_value": 3.0,
    ...                                  "options": {"min": 1.0, "max": 5.25}}],
    ...         "recommended": {"distributions": {
    ...             "camera_distance": {"distribution": "uniform", "low": 2.5, "high": 9.0}}}}
    >>> read_recommended(meta)   # 9.0 is out of range: dropped
    ({}, [])
    """
    block = meta.get("recommended")
    if not isinstance(block, Mapping):
        if block is not None:
            log.warning("%s: ignoring 'recommended', which is not an object", meta.get("name"))
        return {}, []
    by_name = {p["name"]: p for p in meta.get("params") or [] if isinstance(p, Mapping) and "name" in p}
    found: dict[str, Distribution] = {}
    entries = block.get("distributions") or {}
    if not isinstance(entries, Mapping):
        log.warning("%s: ignoring recommended 'distributions', which is not an object", meta.get("name"))
        entries = {}
    for name, entry in entries.items():
        try:
            if name not in by_name:
                raise ValueError("no such parameter")
            dist = read_distribution(entry)
            _allowed(dist, by_name[name])
        except ValueError as err:
            log.warning("%s: ignoring the recommended distribution of %s (%s); it is drawn over its range",
                        meta.get("name"), name, err)
            continue
        found[name] = dist
    constraints: list[dict[str, Any]] = []
    declared = block.get("constraints") or []
    for i, item in enumerate(declared if isinstance(declared, list) else []):
        try:
            if not isinstance(item, Mapping) or not isinstance(item.get("expr"), str):
                raise ValueError("it has no expression")
            unknown = [n for n in compile_expression(item["expr"]).names if n not in by_name]
            if unknown:
                raise ValueError(f"it names {', '.join(unknown)}, not a parameter")
        except ValueError as err:
            log.warning("%s: ignoring recommended constraint %d (%s)", meta.get("name"), i, err)
            continue
        constraints.append({"name": str(item.get("name", f"recommended_{i}")), "expr": item["expr"],
                            "message": str(item.get("message", ""))})
    return found, constraints


def recommended_json(distributions: Mapping[str, Distribution],
                     constraints: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The ``recommended`` block a generator serves with its metadata.

    Examples
    --------
    >>> from infinityframe.params.distributions import integers
    >>> recommended_json({"num_reps": integers(1, 10)})
    {'distributions': {'num_reps': {'distribution': 'integers', 'low': 1, 'high': 10}}, 'constraints': []}
    """
    return {"distributions": {name: distribution_json(d) for name, d in distributions.items()},
            "constraints": [dict(c) for c in constraints]}
