"""The rules a job's parameters must follow, as the service and the client apply them to jobs
given as dicts: infinity-core's names over the one backend (:mod:`.validation`).

The service checks every job it receives (it never trusts the client); the client checks the
same way before it sends anything, so a bad job fails early with the job and parameter named.
Metadata is the REST API's: ``params`` (``name``, ``type``, ``default_value``, ``options``) and
optional joint ``constraints`` (``{"name", "expr", "message"}``). A batch is checked as one
table, so a job gets the very failures, worded the same, as its row of a frame would.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .cells import CELL_CHECKS, NULL, OK, classify_value
from .checks import value_failures
from .expressions import compile_expression
from .report import cell_problem
from .spec import GeneratorSpec, ParamSpec
from .validation import Records

__all__ = [
    "JobError",
    "check_jobs",
    "check_value",
    "coerce_value",
    "complete_params",
    "evaluate_constraint",
    "generator_spec",
    "job_errors",
    "validate_job",
    "validate_jobs",
]

JSON = dict[str, Any]


class JobError(dict[str, Any]):
    """One validation failure, in the DRF-style body: ``{"job", "param", "message"}``, plus the
    failure table's ``check`` and ``value``."""

    def __init__(self, job: int, param: str | None, message: str, check: str = "", value: Any = None) -> None:
        super().__init__(job=job, param=param, message=message, check=check, value=value)


def complete_params(generator: Any, given: JSON) -> JSON:
    """The generator's defaults overlaid with the given values, in the generator's order."""
    out = {p.name: p.default for p in generator_spec(generator)}
    out.update(given)
    return out


def generator_spec(generator: Any) -> GeneratorSpec:
    """The :class:`GeneratorSpec` of a generator plugin or of its API metadata (a mapping).

    Advisory constraints (``"advisory": true``) are not rules: no job is refused for them.
    """
    if isinstance(generator, GeneratorSpec):
        return generator
    if isinstance(generator, Mapping):
        return GeneratorSpec.from_metadata(generator)
    try:
        cached = _SPECS.get(generator)
    except TypeError:  # an object that cannot be referred to weakly: read every time
        cached = None
    if cached is None:
        cached = GeneratorSpec.from_metadata({"name": generator.name, "params": generator.params,
                                              "constraints": generator.constraints})
        with contextlib.suppress(TypeError):  # a plugin's rules are fixed: read its metadata once
            _SPECS[generator] = cached
    return cached


_SPECS: weakref.WeakKeyDictionary[Any, GeneratorSpec] = weakref.WeakKeyDictionary()  # by plugin object


@functools.lru_cache(maxsize=1024)
def _param(name: str, kind: Any, default: Any, lo: Any, hi: Any, choices: Any) -> ParamSpec:
    return ParamSpec(name, kind, default, min=lo, max=hi, choices=choices)


def _param_of(spec: JSON) -> ParamSpec:
    options = spec.get("options") or {}
    choices = options.get("choices")
    try:
        return _param(spec.get("name", "value"), spec["type"], spec.get("default_value"), options.get("min"),
                      options.get("max"), tuple(choices) if choices is not None else None)
    except TypeError:  # an unhashable default
        return ParamSpec.from_metadata({**spec, "name": spec.get("name", "value")})


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
    >>> coerce_value({"type": "int", "default_value": 1, "options": {"min": 1, "max": 5}}, 9)
    (9, 'must be between 1 and 5 (inclusive), got 9')
    """
    param = _param_of(spec)
    code, converted = classify_value(value, param.type)
    if code == NULL and param.nullable:
        return None, None
    if code != OK:
        return value, cell_problem(param, CELL_CHECKS[code], value)
    column = np.array([converted], dtype=object if param.type in ("str", "uuid") else None)
    for check, _rows in value_failures(param, column, None):
        return value, cell_problem(param, check, value)
    return converted, None


def check_jobs(generator: Any, jobs: Sequence[Any], start: int = 0, *,
               by_column: Mapping[str, Sequence[Any]] | None = None,
               types: Mapping[str, set[type]] | None = None) -> Records:
    """Check a batch of jobs' ``param_values`` as one table: job ``i`` is numbered ``start + i``.

    The :class:`~infinityframe.params.validation.Records` it returns holds the failure table
    (``.failures``), which jobs passed (``.valid``) and the converted values by column
    (``.columns``); :func:`job_errors` splits its failures by job. ``by_column`` and ``types``:
    the jobs' cells by column, as :class:`~infinityframe.params.validation.Records` takes them.
    """
    return Records(jobs, generator_spec(generator), start=start, by_column=by_column, types=types)


def job_errors(checked: Records) -> list[list[JobError]]:
    """The failures of :func:`check_jobs`, job by job, each naming the job and the parameter."""
    start = checked.start
    errors: list[list[JobError]] = [[] for _ in range(checked.height)]
    if not checked.blocks:  # nothing failed: no table to build
        return errors
    table = checked.failures
    if len(table):
        rows = table["row"].to_numpy() - start
        for row, column, check, value, message in zip(rows.tolist(), table["column"].tolist(),
                                                      table["check"].tolist(), table["value"].tolist(),
                                                      table["message"].tolist(), strict=True):
            errors[row].append(JobError(row + start, column or None, message, check, value))
    return errors


def validate_jobs(generator: Any, jobs: Sequence[Any], start: int = 0) -> list[tuple[JSON | None, list[JobError]]]:
    """Check a batch of jobs' ``param_values`` as one table: job ``i`` is numbered ``start + i``.

    Returns, per job, its completed and converted parameters (``None`` when invalid) and its
    failures, each naming the job and the parameter, worded as the frame checks word them.

    >>> meta = {"name": "g", "params": [{"name": "n", "type": "int", "default_value": 1, "options": {"max": 2}}]}
    >>> [[e["message"] for e in errors] for _, errors in validate_jobs(meta, [{"n": 2}, {"n": "3"}])]
    [[], ["row 1, n: must be ≤ 2, got '3'"]]
    """
    checked = check_jobs(generator, jobs, start)
    return list(zip(checked.params, job_errors(checked), strict=True))


def validate_job(generator: Any, index: int, given: Any) -> tuple[JSON | None, list[JobError]]:
    """Check one job's ``param_values`` against a generator or its API metadata.

    The service runs this on every job it receives (it never trusts the client); the client
    runs it too, to fail before any request. Returns the completed parameters (``None`` when
    invalid) and the failures found, each naming the job index and the parameter.
    """
    return validate_jobs(generator, [given], start=index)[0]


# -- joint constraints: one compiled evaluator (expressions.py), here on a one-row table ----------

def evaluate_constraint(expr: str, params: JSON) -> bool:
    """Evaluate a constraint expression for one job (see :mod:`.expressions` for the grammar).

    >>> evaluate_constraint("a + b <= 0.9", {"a": 0.5, "b": 0.3})
    True
    """
    compiled = compile_expression(expr)
    return bool(compiled({n: [params[n]] for n in compiled.names if n in params})[0])
