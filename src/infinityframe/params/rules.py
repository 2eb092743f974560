"""The rules a job's parameters must follow, shared by the client and the local service.

The service checks every job it receives (it never trusts the client); the client checks the
same way before it sends anything, so a bad job fails early with the row and column named.
Metadata is the REST API's: ``params`` (``name``, ``type``, ``default_value``, ``options``) and
optional joint ``constraints`` (``{"name", "expr", "message"}``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .expressions import compile_expression
from .numeric import MAX_NUMBER_TEXT, NumberError, coerce_number

__all__ = ["JobError", "check_value", "coerce_value", "complete_params", "evaluate_constraint", "validate_job",
           "validate_jobs"]

JSON = dict[str, Any]


class JobError(dict[str, Any]):
    """One validation failure, in the DRF-style body: ``{"job", "param", "message"}``."""

    def __init__(self, job: int, param: str | None, message: str) -> None:
        super().__init__(job=job, param=param, message=message)


def complete_params(generator: Any, given: JSON) -> JSON:
    """The generator's defaults overlaid with the given values, in the generator's order."""
    out = {p["name"]: p["default_value"] for p in _spec(generator)[1]}
    out.update(given)
    return out


def _spec(generator: Any) -> tuple[str, list[JSON], list[JSON]]:
    """Name, params and binding constraints of a generator plugin or of its API metadata (a mapping).

    Advisory constraints (``"advisory": true``) are left out: no job is refused for them.
    """
    if isinstance(generator, Mapping):
        name, params, constraints = generator["name"], generator["params"], generator.get("constraints") or []
    else:
        name, params, constraints = generator.name, generator.params, generator.constraints
    return name, params, [c for c in constraints if not c.get("advisory")]


def _is_anything(value: Any) -> bool:
    return True


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    # Text that is not valid Unicode (a lone surrogate) cannot be sent as JSON or stored.
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Numbers are read as DRF reads them (numeric.py: "2" is a fine 2); nothing else is coerced:
# True is not a number, "false" is not a bool, 3 is not a string.
_NUMBERS = {"int": "an integer", "float": "a finite number"}
_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "bool": (_is_bool, "true or false"),
    "str": (_is_str, "a string (valid Unicode)"),
    "uuid": (_is_str, "a job id string or null"),
}


def check_value(spec: JSON, value: Any) -> str | None:
    """Why ``value`` is not acceptable for the parameter ``spec``, or ``None``."""
    return coerce_value(spec, value)[1]


def coerce_value(spec: JSON, value: Any) -> tuple[Any, str | None]:
    """``value`` as the service stores it for the parameter ``spec``, and why it is refused (or ``None``).

    An ``int`` or ``float`` parameter reads numbers as DRF does (:func:`~.numeric.coerce_number`:
    ``"2"`` → 2, ``3.0`` → 3 for an int); the range and choices apply to the number read.
    Any other value comes back as it was given.

    >>> coerce_value({"type": "int", "default_value": 1, "options": {"min": 1, "max": 5}}, " 2 ")
    (2, None)
    """
    kind = spec["type"]
    if value is None:
        if kind == "uuid" or spec.get("default_value") is None:
            return None, None
        return None, f"is required and may not be null (type {kind})"
    if kind in _NUMBERS:
        try:
            value = coerce_number(kind, value)
        except NumberError as err:
            return value, f"must be {_NUMBERS[kind]}, got {_short(value)} ({err.reason})"
    else:
        accepts, expected = _TYPES.get(kind, (_is_anything, "a value"))
        if not accepts(value):
            return value, f"must be {expected}, got {value!r}"
    options = spec.get("options") or {}
    if "choices" in options and value not in options["choices"]:
        shown = ", ".join(map(str, options["choices"][:12]))
        more = "" if len(options["choices"]) <= 12 else ", …"
        return value, f"must be one of [{shown}{more}], got {value!r}"
    if "min" in options and value < options["min"]:
        return value, f"must be ≥ {options['min']}, got {value!r}"
    if "max" in options and value > options["max"]:
        return value, f"must be ≤ {options['max']}, got {value!r}"
    return value, None


def _short(value: Any) -> str:
    """``repr`` of a refused value, a string past DRF's length limit cut short."""
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        return f"{value[:40]!r}… ({len(value):,} characters)"
    return repr(value)


def _unknown(key: str, generator: str, specs: dict[str, JSON]) -> str:
    close = difflib.get_close_matches(str(key), list(specs), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{key!r} is not a parameter of {generator}{hint}"


def validate_job(generator: Any, index: int, given: Any) -> tuple[JSON | None, list[JobError]]:
    """Check one job's ``param_values`` against a generator or its API metadata.

    The service runs this on every job it receives (it never trusts the client); the client
    runs it too, to fail before any request. Returns the completed parameters (``None`` when
    invalid) and the failures found, each naming the job index and the parameter.
    """
    name, param_specs, constraints = _spec(generator)
    if not isinstance(given, dict):
        return None, [JobError(index, None, f"param_values must be an object, got {type(given).__name__}")]
    specs = {p["name"]: p for p in param_specs}
    errors = [JobError(index, key, _unknown(key, name, specs)) for key in given if key not in specs]
    params = complete_params(generator, {k: v for k, v in given.items() if k in specs})
    for key, spec in specs.items():
        value, problem = coerce_value(spec, params[key])
        if problem is not None:
            errors.append(JobError(index, key, f"{key} {problem}"))
        else:
            params[key] = value  # "2" is stored, hashed and rendered as 2
    if errors:
        return None, errors
    for constraint in constraints:
        if not evaluate_constraint(constraint["expr"], params):
            used = _names(constraint["expr"])
            names = [k for k in specs if k in used]  # the parameters' order, as the frame checks report it
            shown = ", ".join(f"{n}={params.get(n)!r}" for n in names)
            errors.append(JobError(index, names[0] if names else None,
                                   f"{constraint['message']} ({constraint['expr']}; got {shown})"))
    return (None if errors else params), errors


def validate_jobs(generator: Any, jobs: Sequence[Any], start: int = 0) -> list[tuple[JSON | None, list[JobError]]]:
    """:func:`validate_job` for a whole batch: job ``i`` is numbered ``start + i``.

    >>> meta = {"name": "g", "params": [{"name": "n", "type": "int", "default_value": 1, "options": {"max": 2}}]}
    >>> [errors for _, errors in validate_jobs(meta, [{"n": 2}, {"n": 3}])]
    [[], [{'job': 1, 'param': 'n', 'message': 'n must be ≤ 2, got 3'}]]
    """
    return [validate_job(generator, start + i, given) for i, given in enumerate(jobs)]


# -- joint constraints: one compiled evaluator (expressions.py), here on a one-row table ----------

def _names(expr: str) -> set[str]:
    return set(compile_expression(expr).names)


def evaluate_constraint(expr: str, params: JSON) -> bool:
    """Evaluate a constraint expression for one job (see :mod:`.expressions` for the grammar).

    >>> evaluate_constraint("a + b <= 0.9", {"a": 0.5, "b": 0.3})
    True
    """
    compiled = compile_expression(expr)
    return bool(compiled({n: [params[n]] for n in compiled.names if n in params})[0])
