"""What a generator plugin is, and how the service checks jobs against it.

A generator declares its parameters in the REST API's ``params`` shape::

    {"name": "camera_distance", "type": "float", "default_value": 3.0,
     "options": {"min": 1.0, "max": 5.25}, "description": "metres from the avatar"}

plus optional joint ``constraints``, each ``{"name", "expr", "message"}`` where ``expr``
is a boolean expression over parameter names (``"inter_rep_delay_var <= inter_rep_delay_avg"``)
that pandas ``DataFrame.eval`` and :func:`evaluate_constraint` both understand. A constraint
with ``"advisory": true`` is a recommendation the service never enforces: the samplers of
the client honour it, nothing refuses a job for it.

and optionally the distributions a sensible sweep starts from (:attr:`Generator.recommended`,
with :attr:`Generator.recommended_constraints`), served as the ``recommended`` extension of the
metadata (see :mod:`infinityframe.params.priors`): the client's ``sample`` draws from them by
default. Each must draw only values its parameter allows.

It estimates what a job costs (``estimate``) and renders it into a folder (``render``).
Rendering must depend only on the parameters and the random generator it is given, so
the same job renders the same bytes on any worker.

The service checks every job with :func:`validate_job`: the shape first (parameter names and
string values bounded in length and free of control characters, values nested at most
:data:`MAX_DEPTH` deep, storable as JSON), then the rules the client shares
(``params/rules.py``). Whatever arrives, the answer is a list of errors naming the job and the
parameter, never an exception.
"""

from __future__ import annotations

import abc
import re
import reprlib
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import orjson

if TYPE_CHECKING:
    from ...params.distributions import Distribution
    from ...params.rules import JobError, complete_params, evaluate_constraint
    from ...params.validation import Records

__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT",
    "Generator",
    "JobError",
    "check_batch",
    "complete_params",
    "encoded_params",
    "evaluate_constraint",
    "shown",
    "text_problem",
    "validate_batch",
    "validate_job",
]

MAX_DEPTH = 32  # lists and objects inside a parameter value; every built-in parameter is flat
MAX_TEXT = 1024  # characters in a parameter name or a string value, wherever it sits

# Unicode's category Cc, exactly: one regex search, not a Python loop over every character of every
# name and value in a batch of up to 100,000 jobs.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

# The rules the client shares read pandas and polars columns, so importing them loads both: a
# render worker imports this module for Generator alone and must not pay for them (the service,
# which checks jobs, has them loaded anyway). They are imported where a job is checked.
_FROM_RULES = ("JobError", "complete_params", "evaluate_constraint")


def __getattr__(name: str) -> Any:
    if name in _FROM_RULES:
        from ...params import rules

        return getattr(rules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 3, 60, 60, 6, 6

JSON = dict[str, Any]


class Generator(abc.ABC):
    """Base class of the service's generators (entry-point group ``infinityframe.generators``).

    Subclasses set :attr:`name`, :attr:`params` and optionally :attr:`constraints`,
    :attr:`recommended`, :attr:`recommended_constraints`, :attr:`supports_preview`,
    :attr:`description`, and implement :meth:`estimate` and :meth:`render`.
    """

    name: ClassVar[str]
    params: ClassVar[list[JSON]]
    constraints: ClassVar[list[JSON]] = []
    recommended: ClassVar[dict[str, Distribution]] = {}
    """Per parameter, the distribution a sweep should start from (``inf.uniform(2.5, 5.0)`` …);
    parameters left out are drawn over their whole range."""
    recommended_constraints: ClassVar[list[JSON]] = []
    """Joint constraints of the recommended distributions (``image_width == image_height``),
    in the shape of :attr:`constraints`; never enforced by the service."""
    supports_preview: ClassVar[bool] = True
    description: ClassVar[str] = ""

    @property
    def version(self) -> str:
        """The version part of the generator name (``"stickfit-v0.1.0"`` → ``"0.1.0"``)."""
        return self.name.rsplit("-v", 1)[-1]

    def metadata(self) -> JSON:
        """The generator in the shape of ``GET /api/jobs/{name}/``."""
        from ...params.priors import recommended_json  # the service's, not a render worker's

        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "params": [dict(p) for p in self.params],
            "options": {"preview": self.supports_preview},
            "constraints": [dict(c) for c in self.constraints],
            "recommended": recommended_json(self.recommended, self.recommended_constraints),
        }

    @property
    def defaults(self) -> JSON:
        """Every parameter at its default value."""
        return {p["name"]: p["default_value"] for p in self.params}

    @abc.abstractmethod
    def estimate(self, params: JSON, preview: bool) -> int:
        """Samples (frames) the job is expected to cost; ``params`` are complete and valid."""

    def estimate_batch(self, columns: Mapping[str, Sequence[Any]], preview: bool) -> list[int]:
        """:meth:`estimate` of every job of a batch, from the jobs' parameters by column (every
        column as long as the batch). Job by job here; a generator whose estimate is arithmetic
        answers a whole batch at once by overriding it."""
        names = list(columns)
        return [int(self.estimate(dict(zip(names, row, strict=True)), preview))
                for row in zip(*columns.values(), strict=True)]

    @abc.abstractmethod
    def render(self, params: JSON, preview: bool, out_dir: Path, rng: np.random.Generator) -> int:
        """Render one job into ``out_dir`` (which exists and is empty).

        Returns the number of samples (frames) actually rendered, which the service charges.
        """


def shown(value: Any) -> str:
    """A short repr for an error message, whatever the value: deep nesting and huge strings are cut.

    >>> shown([[[[["deep"]]]]])
    '[[[[...]]]]'
    """
    return _SHORT.repr(value)


def text_problem(text: str, limit: int) -> str | None:
    """Why ``text`` is not acceptable as a name or a string value, or ``None``.

    Longer than ``limit`` characters, or holding a control character (NUL, tab, newline,
    escape, DEL, C1): names and values are single-line labels, and a control character in one
    is far likelier an accident (or an attack on a terminal or a log) than meant.

    >>> text_problem("ok", 255) is None
    True
    >>> text_problem("a\\tb", 255)
    'holds a control character (U+0009 at position 1)'
    """
    if len(text) > limit:
        return f"is {len(text):,} characters long; at most {limit:,} are accepted"
    found = _CONTROL.search(text)
    if found is not None:
        return f"holds a control character (U+{ord(found.group()):04X} at position {found.start()})"
    return None


def _shape_problem(value: Any) -> str | None:
    """Why a parameter value is refused before any rule sees it: too deep, a bad string, not storable."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:  # iterative: a value nested a thousand deep must not exhaust Python's stack
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item, MAX_TEXT)
            if problem is not None:
                return f"{'holds a string that ' if depth else ''}{problem}"
        elif isinstance(item, (list, dict)):
            if depth >= MAX_DEPTH:
                return f"is nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are accepted"
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
    return None


_FLAT = (int, float, bool, type(None))  # values with no shape to check


def _shape_errors(index: int, given: JSON, names: frozenset[str]) -> tuple[JSON, list[JobError]]:
    """The keys and values of one job that pass the shape checks, and the failures of the others.

    A parameter's own name holding a number, a bool or null has no shape to check: that is
    nearly every cell of a batch, so it costs one set lookup and one type test.
    """
    from ...params.rules import JobError

    errors: list[JobError] = []
    kept: JSON | None = None  # stays None while every key passes: the job is kept as it came
    for pos, (key, value) in enumerate(given.items()):
        if key in names and type(value) in _FLAT:
            problem = None
        else:
            problem = text_problem(key, MAX_TEXT)
            if problem is not None:
                errors.append(JobError(index, key[:MAX_TEXT],
                                       f"row {index}, {shown(key)}: the parameter name {problem}"))
            else:
                problem = _shape_problem(value)
                if problem is not None:
                    errors.append(JobError(index, key, f"row {index}, {key}: {problem}"))
        if problem is not None and kept is None:
            kept = dict(list(given.items())[:pos])
        elif problem is None and kept is not None:
            kept[key] = value
    return (given if kept is None else kept), errors


def _unstorable(index: int, params: JSON) -> list[JobError]:
    """Failures for values that cannot be stored as JSON (e.g. an integer past 64 bits), one dump per job."""
    try:
        orjson.dumps(params)
        return []
    except orjson.JSONEncodeError:
        pass
    from ...params.rules import JobError

    errors = []
    for key, value in params.items():
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError as err:
            errors.append(JobError(index, key, f"row {index}, {key}: cannot be stored as JSON ({err}), "
                                               f"got {shown(value)}"))
    return errors


_FLAT_TYPES = frozenset(_FLAT)


def _plain_batch(jobs: Sequence[Any], names: frozenset[str]) -> bool:
    """Whether every job passes the shape checks as nearly every batch's do: an object of known
    names holding numbers, bools, nulls or acceptable strings. Looked at a column at a time, in
    C, each distinct string once (a column of choices holds a handful)."""
    if not (set(map(type, jobs)) <= {dict} and names.issuperset(chain.from_iterable(jobs))):
        return False
    if _FLAT_TYPES.issuperset(map(type, chain.from_iterable(map(dict.values, jobs)))):
        return True
    return all(_plain_column(list(map(dict.get, jobs, repeat(name)))) is not None for name in names)


def _plain_column(cells: Sequence[Any]) -> set[type] | None:
    """The cells' types, when each is a number, a bool, a null or an acceptable string (each
    distinct string looked at once: a column of choices holds a handful); ``None`` otherwise."""
    kinds = set(map(type, cells))
    if kinds <= _FLAT_TYPES:
        return kinds
    if not kinds <= _FLAT_TYPES | {str} or any(text_problem(value, MAX_TEXT) is not None
                                               for value in set(cells) if type(value) is str):
        return None
    return kinds


_Columns = tuple[dict[str, Sequence[Any]], dict[str, set[type]]]


def _by_column(jobs: Sequence[Any], names: frozenset[str]) -> _Columns | None:
    """The jobs' cells by parameter and each column's cell types, when the jobs are as nearly every
    batch's are: objects that each name the same known parameters, holding numbers, bools, nulls
    or acceptable strings; ``None`` for any other batch (the job-by-job checks word what is wrong).

    One walk over the cells, in C: the keys are looked up job by job as the cells are gathered
    into columns, and each column's types are looked at once (each distinct string once).
    """
    if not jobs or set(map(type, jobs)) != {dict}:
        return None
    keys = tuple(jobs[0])
    if not names.issuperset(keys) or set(map(len, jobs)) != {len(keys)}:
        return None
    if not keys:
        return {}, {}
    try:  # a job with as many keys as the first that holds each of the first's holds exactly those
        cells = (list(zip(*map(itemgetter(*keys), jobs), strict=True)) if len(keys) > 1
                 else [tuple(map(itemgetter(keys[0]), jobs))])
    except KeyError:
        return None
    columns: dict[str, Sequence[Any]] = {}
    types: dict[str, set[type]] = {}
    for key, column in zip(keys, cells, strict=True):
        kinds = _plain_column(column)
        if kinds is None:
            return None
        columns[key], types[key] = column, kinds
    return columns, types


def check_batch(generator: Any, jobs: Sequence[Any], start: int = 0) -> tuple[Records, list[list[JobError]]]:
    """Check a batch's ``param_values`` as the service does: each job's shape, then the shared
    rules over the whole batch as one table (:func:`infinityframe.params.rules.check_jobs`).

    Returns the checked table (its ``.columns`` hold the converted values, its ``.params`` each
    job's completed parameters) and, per job (numbered ``start`` + its position), its failures:
    a job passed when its list is empty.
    """
    from ...params import rules

    names = frozenset(rules.generator_spec(generator).names)
    found = _by_column(jobs, names)
    if found is not None:  # nearly every batch: its cells by column, walked once
        checked = rules.check_jobs(generator, jobs, start, by_column=found[0], types=found[1])
        return checked, rules.job_errors(checked)
    kept: list[Any] = []
    shape: dict[int, list[JobError]] = {}
    if _plain_batch(jobs, names):
        kept, jobs = list(jobs), ()
    for index, given in enumerate(jobs, start):
        # Nearly every job: known names holding numbers, bools or nulls; two set operations in C.
        if type(given) is dict and names.issuperset(given) and _FLAT_TYPES.issuperset(map(type, given.values())):
            kept.append(given)
        elif isinstance(given, dict):
            clean, refused = _shape_errors(index, given, names)
            kept.append(clean)
            if refused:
                shape[index - start] = refused
        else:  # the rules word it ("param_values must be an object")
            kept.append(given)
    checked = rules.check_jobs(generator, kept, start)
    per_job = rules.job_errors(checked)
    for i, refused in shape.items():
        per_job[i] = refused + per_job[i]
    return checked, per_job


def encoded_params(params: Sequence[JSON]) -> tuple[list[bytes], list[JobError]]:
    """Each job's parameters as the JSON text the service stores, and the failures of the values
    JSON cannot hold (an integer past 64 bits), naming the job and the parameter.

    >>> encoded_params([{"n": 1}, {"n": 2**70}])[1][0]["message"]
    'row 1, n: cannot be stored as JSON (Integer exceeds 64-bit range), got 1180591620717411303424'
    """
    texts: list[bytes] = []
    errors: list[JobError] = []
    for index, job in enumerate(params):
        try:
            texts.append(orjson.dumps(job))
        except orjson.JSONEncodeError:
            errors.extend(_unstorable(index, job))
    return texts, errors


def validate_batch(generator: Any, jobs: list[Any], start: int = 0) -> list[tuple[JSON | None, list[JobError]]]:
    """Check a batch's ``param_values`` as the service does (:func:`check_batch`), values that
    cannot be stored as JSON included.

    Returns, per job (numbered ``start`` + its position), its completed parameters (``None`` when
    invalid) and its failures, each naming the job and the parameter.

    Examples
    --------
    >>> from infinityframe.local import generators
    >>> checked = validate_batch(generators.get("shapes-v0.1.0"), [{"num_images": 2}, {"num_images": 0}])
    >>> [[e["message"] for e in errors] for _, errors in checked]
    [[], ['row 1, num_images: must be between 1 and 100 (inclusive), got 0']]
    """
    checked, errors = check_batch(generator, jobs, start)
    out: list[tuple[JSON | None, list[JobError]]] = []
    for index, (params, found) in enumerate(zip(checked.params, errors, strict=True), start):
        if params is not None and not found:
            found = _unstorable(index, params)
        out.append((None if found else params, found))
    return out


def validate_job(generator: Any, index: int, given: Any) -> tuple[JSON | None, list[JobError]]:
    """Check one job's ``param_values`` as the service does (:func:`validate_batch` of one job).

    Parameters
    ----------
    generator : Generator or mapping
        The plugin, or its API metadata.
    index : int
        The job's position in the batch, named in every error.
    given : Any
        The job's ``param_values`` as decoded from JSON: anything at all.

    Returns
    -------
    tuple
        The completed parameters (``None`` when invalid) and the errors found, each naming
        the job and the parameter.

    Examples
    --------
    >>> from infinityframe.local import generators
    >>> params, errors = validate_job(generators.get("shapes-v0.1.0"), 3, {"num_images": "\\x00"})
    >>> [e["message"] for e in errors]
    ['row 3, num_images: holds a control character (U+0000 at position 0)']
    """
    return validate_batch(generator, [given], index)[0]
