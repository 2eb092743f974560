"""The drawing engine behind :mod:`infinityframe.params.sampling`.

A frame being drawn is a set of numpy columns. Each parameter draws from its own stream
(derived from the seed, the parameter's name and the round), so a row's values depend only on
the seed, its position and its own history: that is what keeps frames reproducible and lets a
sweep grow without changing the rows already drawn.

Rows that break a joint constraint are drawn again, round after round. A re-draw stream is
counter-based (:func:`_units_at`): the unit number of row ``i`` in round ``k`` is computed from
``i`` directly, so a round costs the failing rows only, not every row up to the last failing
one (half the rows of a frame fail a constraint such as ``b <= a`` at first, and the rounds
then shrink geometrically). Only a callable, which takes a generator, is still re-drawn from a
sequential stream, up to its last failing row.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ValidationError
from .cells import OK, choice_dtype, read_values
from .checks import value_failures
from .distributions import Choice, Distribution, Normal, Uniform
from .rules import check_value
from .samplers import Sampler, _param_json, default_sampler
from .spec import CompiledConstraint, Constraint, GeneratorSpec, ParamSpec, compile_constraints

__all__ = ["ConstraintLike", "Method", "Seed"]

Method = Literal["uniform", "lhs", "sobol"]
Seed = int | np.random.Generator | None
ConstraintLike = str | Constraint | Callable[[pd.DataFrame], Any]
_METHODS = ("uniform", "lhs", "sobol")
_COLUMN_STREAM, _DESIGN_STREAM, _REDRAW_STREAM = 0, 1, 2


# -- seeds and streams -------------------------------------------------------------------------

def _root_entropy(seed: Seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, np.random.Generator):
        hi, lo = seed.integers(0, 2**64, size=2, dtype=np.uint64)
        return (int(hi) << 64) | int(lo)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"seed must be a non-negative int, a numpy Generator or None, got {seed!r}")


def _name_words(name: str) -> tuple[int, int]:
    # A stable 64-bit hash as two 32-bit words: SeedSequence then sees a fixed-width key.
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
    return digest >> 32, digest & 0xFFFFFFFF


def _stream(root: int, name: str, round_: int) -> np.random.Generator:
    key = (_COLUMN_STREAM, *_name_words(name), round_)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(root, spawn_key=key)))


# SplitMix64 (Steele, Lea & Flood 2014; Java's SplittableRandom): output i of a sequence seeded
# with s is mix(s + (i + 1) * gamma), so any row's number is one hash away.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))


def _units_at(root: int, name: str, round_: int, rows: np.ndarray) -> np.ndarray:
    """Unit numbers in [0, 1) for ``rows`` of the parameter's re-draw stream of ``round_``.

    Row ``i`` gets output ``i`` of a SplitMix64 sequence seeded from the seed, the name and
    the round, whatever other rows are asked for: 53 random bits, as ``Generator.random``
    gives, computed for the failing rows only.
    """
    key = (_REDRAW_STREAM, *_name_words(name), round_)
    seed = np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)[0]
    z = rows.astype(np.uint64)  # row positions are never negative
    z += np.uint64(1)
    z *= _GAMMA
    z += seed
    shifted = np.empty_like(z)
    for shift, multiplier in zip(_SHIFTS[:2], _MIX, strict=True):
        np.right_shift(z, shift, out=shifted)
        z ^= shifted
        z *= multiplier
    np.right_shift(z, _SHIFTS[2], out=shifted)
    z ^= shifted
    z >>= np.uint64(11)
    units = z.astype(np.float64)
    units *= 2.0**-53
    return units


def _design(root: int, method: str, n: int, d: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(root, spawn_key=(_DESIGN_STREAM, _METHODS.index(method)))))
    if method == "lhs":
        return latin_hypercube(rng, n, d)
    # Loaded here, not at import: scipy costs a fresh process about a second, and only the
    # Sobol design needs it (a uniform draw is numpy's, and so is a Latin hypercube).
    from scipy.stats import qmc

    try:
        design = qmc.Sobol(d, rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        design = qmc.Sobol(d, seed=rng)
    with warnings.catch_warnings():
        # Sobol balance is exact for powers of two; other n are still low-discrepancy prefixes.
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        return np.asarray(design.random(n), dtype=np.float64)


def latin_hypercube(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``n`` points of a scrambled Latin hypercube in ``[0, 1)^d``: each column hits each of ``n`` strata once.

    The very draws of ``scipy.stats.qmc.LatinHypercube(d, rng=rng).random(n)`` (strength 1, no
    optimization), without importing scipy (a second of a fresh process): like scipy, it draws
    from a child spawned off ``rng``'s seed sequence, a uniform jitter per cell, then shuffles
    each column's strata in turn.

    >>> latin_hypercube(np.random.default_rng(0), 4, 2).shape
    (4, 2)
    """
    bits = rng.bit_generator
    seeds: Any = bits.seed_seq  # a SeedSequence for every generator numpy makes from a seed
    rng = np.random.Generator(type(bits)(seeds.spawn(1)[0]))
    jitter = rng.uniform(size=(n, d))
    strata = np.tile(np.arange(1, n + 1), (d, 1))
    for column in range(d):
        rng.shuffle(strata[column, :])
    return np.asarray((strata.T - jitter) / n, dtype=np.float64)


# -- checks of the arguments -------------------------------------------------------------------

def _known(spec: GeneratorSpec, name: str) -> str:
    if name not in spec:
        close = difflib.get_close_matches(str(name), spec.names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{name!r} is not a parameter of {spec.name}{hint}")
    return name


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _check_method(method: Any) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    return str(method)


def _compile(spec: GeneratorSpec, constraints: Any, advisory: bool = True,
             recommended: Sequence[Constraint] = ()) -> list[CompiledConstraint]:
    """The generator's rules, its advisory constraints (unless ``advisory`` is false), the
    ``recommended`` constraints of its prior, and the user's."""
    if constraints is None:
        constraints = ()
    elif isinstance(constraints, (str, Constraint)) or callable(constraints):
        constraints = (constraints,)
    constraints = [*(spec.advisory if advisory else ()), *recommended, *constraints]
    for item in constraints:
        expr = item.expr if isinstance(item, Constraint) else item
        if isinstance(expr, str):
            for node in ast.walk(ast.parse(expr, mode="eval")):
                if isinstance(node, ast.Name) and node.id not in ("True", "False"):
                    _known(spec, node.id)
    return compile_constraints(spec, list(constraints))


def _advisory_hint(constraints: Sequence[CompiledConstraint]) -> str:
    names = [c.name for c in constraints if c.advisory]
    if not names:
        return ""
    return (f" {', '.join(map(repr, names))} only advises (the service accepts jobs that break it): "
            "advisory=False draws without the generator's advisory constraints.")


def _comparison(constraint: CompiledConstraint) -> tuple[str, ast.cmpop, str] | None:
    """``(a, op, b)`` when the constraint is exactly one comparison between two parameters."""
    if len(constraint.columns) != 2:
        return None
    try:
        node = ast.parse(constraint.description, mode="eval").body
    except SyntaxError:
        return None
    if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name)
            and isinstance(node.comparators[0], ast.Name)):
        return node.left.id, node.ops[0], node.comparators[0].id
    return None


def _equality(constraint: CompiledConstraint) -> tuple[str, str] | None:
    """``(a, b)`` when the constraint is exactly ``a == b`` between two parameters."""
    found = _comparison(constraint)
    return (found[0], found[2]) if found and isinstance(found[1], ast.Eq) else None


def _order(constraint: CompiledConstraint) -> tuple[str, str] | None:
    """``(low, high)`` when the constraint is exactly ``low <= high`` (or ``<``, ``>=``, ``>``)
    between two parameters."""
    found = _comparison(constraint)
    if found is None:
        return None
    left, op, right = found
    if isinstance(op, (ast.LtE, ast.Lt)):
        return left, right
    if isinstance(op, (ast.GtE, ast.Gt)):
        return right, left
    return None


def _drawn_alike(a: Sampler, b: Sampler) -> bool:
    """Both draw floats from one continuous uniform: two independent draws of the same law."""
    return (a.param.type == b.param.type == "float" and isinstance(a.source, Uniform)
            and a.source == b.source and a.source.lo < a.source.hi and not a.constant and not b.constant)


# -- the drawing engine ------------------------------------------------------------------------

@dataclass
class _Draw:
    """One frame being drawn: its columns as numpy arrays, which cells are open, the rounds."""

    spec: GeneratorSpec
    samplers: dict[str, Sampler]
    n: int
    root: int
    compiled: list[CompiledConstraint]
    strict: bool  # sample(): a constraint no open cell can fix is an error; fill(): not ours
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    open: dict[str, np.ndarray | None] = field(default_factory=dict)  # None: every row open
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (leader, follower) of a == b
    # Columns drawn as indexes into their sampler's strings (see Sampler.pool): small ints
    # while drawing, one string column at the end.
    pools: dict[str, np.ndarray] = field(default_factory=dict)

    def given(self, name: str, values: np.ndarray, missing: np.ndarray) -> None:
        self.columns[name], self.open[name] = values, missing

    def open_at(self, name: str, rows: np.ndarray) -> np.ndarray:
        mask = self.open.get(name)
        return np.ones(len(rows), dtype=bool) if mask is None else mask[rows]

    def soft(self, name: str) -> bool:
        """Drawn from the parameter's default, so an equality may decide it instead."""
        sampler = self.samplers[name]
        return not sampler.user and not sampler.constant

    def run(self, method: str, max_rounds: int) -> None:
        self.plan_equalities()
        self.draw_initial(method)
        self.apply_equalities(np.arange(self.n))
        if method == "uniform":
            self.draw_in_order()
        self.enforce(max_rounds)
        followers = {f for _, f in self.pairs}
        for name in self.spec.names:
            # Followers copy values that were checked only against their leader's range.
            if not self.samplers[name].checked or name in followers:
                self.check_column(name)

    def plan_equalities(self) -> None:
        followers: set[str] = set()
        for constraint in self.compiled:
            pair = _equality(constraint)
            if pair is None or self.spec[pair[0]].type != self.spec[pair[1]].type:
                continue
            a, b = pair
            leader, follower = (a, b) if self.soft(b) else (b, a) if self.soft(a) else (None, None)
            if leader is None or follower is None or follower in followers or leader in followers:
                continue
            if self.soft(leader) and not _fits(self.samplers[leader], self.spec[follower]):
                self.samplers[leader] = _shared_sampler(self.spec[leader], self.spec[follower], constraint)
            followers.add(follower)
            self.pairs.append((leader, follower))

    def draw_initial(self, method: str) -> None:
        followers = {f for _, f in self.pairs}
        names = [name for name, mask in ((p, self.open.get(p)) for p in self.spec.names)
                 if mask is None or mask.any()]
        dims = [name for name in names if method != "uniform" and self.samplers[name].ppf is not None
                and not self.samplers[name].constant and name not in followers]
        units = _design(self.root, method, self.n, len(dims)) if dims and self.n else None
        paired = {name for pair in self.pairs for name in pair}
        every = np.arange(self.n)
        # Columns whose draws land in their unit numbers' memory share one block, allocated
        # once (a large allocation gets huge pages: a fresh process pays far fewer page
        # faults); the others' unit numbers reuse one scratch row.
        kept = [name for name in names
                if name not in dims and name not in self.open and self.samplers[name].in_place]
        block = np.empty((len(kept) + 1, self.n)) if self.n else None
        for name in names:
            sampler = self.samplers[name]
            if sampler.pool is not None and name not in self.open and name not in paired:
                self.pools[name] = sampler.pool
            if name in dims and units is not None and sampler.ppf is not None:
                u = units[:, dims.index(name)]
                values = sampler.codes(u) if name in self.pools and sampler.codes else sampler.ppf(u)
            elif block is not None and sampler.spare is not None:
                row = block[kept.index(name) if name in kept else len(kept)]
                _stream(self.root, name, 0).random(out=row)  # the unit numbers ``sampler.draw`` takes
                values = sampler.codes(row) if name in self.pools and sampler.codes else sampler.spare(row)
                if name not in kept:
                    values = values.copy() if np.may_share_memory(values, block) else values
            else:
                values = self.draw(name, _stream(self.root, name, 0), self.n)
            self.assign(name, every, values)

    def draw_in_order(self) -> None:
        """Meet ``low <= high`` between two columns drawn alike by putting each row's pair in order.

        For two independent draws ``x, y`` of one continuous law, ``(min, max)`` has exactly the
        law of ``(x, y)`` given ``x <= y`` (density ``2 f(x) f(y)`` on ``x <= y``, as rejection
        gives), so the first round needs no re-drawing. Rows re-drawn later for another
        constraint are proposed afresh and accepted only if every constraint holds, which keeps
        the result the conditional law. Ties (a strict ``<``) are left for ``enforce``.
        """
        taken = {name for pair in self.pairs for name in pair}
        for constraint in self.compiled:
            pair = _order(constraint)
            if pair is None or pair[0] == pair[1] or taken & set(pair) or self.open.keys() & set(pair):
                continue
            low, high = pair
            if not _drawn_alike(self.samplers[low], self.samplers[high]):
                continue
            taken.update(pair)
            x, y = self.columns[low], self.columns[high]  # drawn here, so ours to write
            smaller = np.minimum(x, y)
            np.maximum(x, y, out=y)
            x[...] = smaller

    def draw(self, name: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws for a column: its sampler's values, or their indexes for a coded column."""
        sampler = self.samplers[name]
        if name in self.pools and sampler.codes is not None:
            return sampler.codes(rng.random(n))  # the unit numbers ``sampler.draw`` would take
        return sampler.draw(rng, n)

    def redraw(self, name: str, rows: np.ndarray, round_: int) -> np.ndarray:
        """New draws for a column at ``rows`` (ascending), for re-draw round ``round_``."""
        sampler = self.samplers[name]
        if sampler.ppf is None:  # a callable: its own generator, drawn in order up to the last row
            drawn = self.draw(name, _stream(self.root, name, round_), int(rows[-1]) + 1)
            return np.asarray(drawn[rows])
        units = _units_at(self.root, name, round_, rows)
        if name in self.pools and sampler.codes is not None:
            return sampler.codes(units)
        return sampler.ppf(units)

    def values(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """A column's values (at ``rows``), coded columns decoded."""
        column = self.columns[name] if rows is None else self.columns[name][rows]
        pool = self.pools.get(name)
        return column if pool is None else pool[column]

    def assign(self, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        mask = self.open.get(name)
        current = self.columns.get(name)
        if current is None or (mask is None and len(rows) == self.n):
            self.columns[name] = values if len(rows) == self.n else _placed(self.n, rows, values)
            return
        keep = mask is not None and not mask[rows].all()
        if keep:
            rows, values = rows[mask[rows]], values[mask[rows]]  # type: ignore[index]
        merged = np.result_type(current.dtype, values.dtype)
        if merged != current.dtype:
            current = current.astype(merged)
        current[rows] = values
        self.columns[name] = current

    def apply_equalities(self, rows: np.ndarray) -> None:
        for leader, follower in self.pairs:
            follower_open = self.open_at(follower, rows)
            if self.soft(leader):
                back = self.open_at(leader, rows) & ~follower_open
                if back.any():  # only the follower was given on these rows: the leader copies it
                    self.assign(leader, rows[back], self.columns[follower][rows[back]])
            if follower_open.any():
                self.assign(follower, rows[follower_open], self.columns[leader][rows[follower_open]])

    def redrawable(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        """Which of ``rows`` the sampler may re-draw ``name`` at; ``None``: every one."""
        if self.samplers[name].constant or any(name == f for _, f in self.pairs):
            return np.zeros(len(rows), dtype=bool)
        mask = self.open.get(name)
        can = None if mask is None else mask[rows]
        for leader, follower in self.pairs:
            followed = self.open.get(follower)
            if leader == name and followed is not None:  # else it copies the given follower
                can = followed[rows] if can is None else can & followed[rows]
        return can

    def redraw_columns(self) -> list[list[str]]:
        """For each constraint, the columns a row that breaks it draws again.

        Those of every constraint it shares a column with, transitively (and the leaders that
        columns copy): re-drawing only the failing constraint's own columns would keep values
        that were accepted against the old draws of a shared column, which biases them (with
        ``a <= b`` and ``b <= c``, a row re-drawing only ``b, c`` keeps an ``a`` chosen for the
        old ``b``). A whole group drawn afresh and accepted only when every constraint holds
        is rejection sampling, so each row ends with the exact conditional law.
        """
        leaders = {f: leader for leader, f in self.pairs}
        own: list[set[str]] = []
        for constraint in self.compiled:
            names = list(constraint.columns) or list(self.spec.names)  # a callable may read any column
            for name in list(names):
                while name in leaders:
                    name = leaders[name]
                    names.append(name)
            own.append(set(names))
        groups: list[set[str]] = []
        for columns in own:
            joined = set(columns)
            for group in [g for g in groups if g & joined]:
                joined |= group
                groups.remove(group)
            groups.append(joined)
        order = {name: k for k, name in enumerate(self.spec.names)}
        return [sorted(next(g for g in groups if columns <= g), key=order.__getitem__) for columns in own]

    def enforce(self, max_rounds: int) -> None:
        if not self.compiled or self.n == 0:
            return
        # Checks and passes per constraint, on the first draws (column 0) and on re-draws (column 1).
        checked = np.zeros((len(self.compiled), 2), dtype=np.int64)
        passed = np.zeros((len(self.compiled), 2), dtype=np.int64)
        needed = sorted({c for k in self.compiled for c in (k.columns or self.spec.names)},
                        key=self.spec.names.index)
        rows = np.arange(self.n)
        # Expressions read the columns as they are; only a callable needs a pandas frame built.
        on_columns = all(c.expression is not None for c in self.compiled)
        redrawn = self.redraw_columns()
        for round_ in range(max_rounds + 1):
            if on_columns:
                at = None if len(rows) == self.n else rows  # the first round reads whole columns
                cols = {name: self.values(name, at) for name in needed}
            else:
                frame = self.frame(pd.Index(rows), needed, rows)
            failing: np.ndarray | None = None
            todo: dict[str, np.ndarray] = {}
            for i, constraint in enumerate(self.compiled):
                expression = constraint.expression
                held = expression(cols) if on_columns and expression is not None else constraint.check(frame)
                bad = np.logical_not(held)
                count = int(np.count_nonzero(bad))
                checked[i, min(round_, 1)] += len(rows)
                passed[i, min(round_, 1)] += len(rows) - count
                if not count:
                    continue
                fixable = {c: self.redrawable(c, rows) for c in redrawn[i]}
                if all(can is not None for can in fixable.values()):  # some rows may have no open cell
                    any_fixable = np.zeros(len(rows), dtype=bool)
                    for can in fixable.values():
                        any_fixable |= can  # type: ignore[arg-type]
                    if self.strict and (bad & ~any_fixable).any():
                        raise self.impossible(constraint, rows[bad & ~any_fixable])
                    bad &= any_fixable
                failing = bad if failing is None else failing | bad
                for c, can in fixable.items():
                    mine = bad if can is None else bad & can
                    todo[c] = todo[c] | mine if c in todo else mine
            if failing is None or not failing.any():
                return
            if round_ == max_rounds:
                stuck = rows[failing]
                raise self.hopeless(stuck, checked, passed, max_rounds, self.frame(pd.Index(stuck), needed, stuck))
            for name, mask in todo.items():
                at = rows[mask]
                if len(at):
                    self.assign(name, at, self.redraw(name, at, round_ + 1))
            rows = rows[failing]
            self.apply_equalities(rows)

    def impossible(self, constraint: CompiledConstraint, rows: np.ndarray) -> ValidationError:
        shown = ", ".join(f"{c}={_python(self.values(c, rows[:1])[0])!r}" for c in constraint.columns)
        return ValidationError(
            f"constraint {constraint.name!r} ({constraint.description}) fails on {len(rows)} of {self.n} rows "
            f"(first: row {rows[0]}, {shown}) and none of the parameters it uses is left to the sampler, "
            "so re-drawing cannot help. Change the fixed values or the constraint." + _advisory_hint([constraint]),
            failure_cases=self.failure_cases(constraint, rows))

    def hopeless(self, rows: np.ndarray, checked: np.ndarray, passed: np.ndarray, max_rounds: int,
                 frame: pd.DataFrame) -> ValidationError:
        """The error for rows still failing after every round, with each constraint's acceptance rate."""
        parts, cases, failing = [], [], []
        for i, constraint in enumerate(self.compiled):
            bad = rows[~constraint.check(frame)]
            if len(bad):
                failing.append(constraint)
                first, again = (passed[i, k] / max(checked[i, k], 1) for k in (0, 1))
                parts.append(f"constraint {constraint.name!r} ({constraint.description}) still fails on "
                             f"{len(bad)} of {self.n} rows after {max_rounds} rounds of re-drawing; it held for "
                             f"{first:.2%} of the first draws and {again:.2%} of the re-drawn rows")
                cases.append(self.failure_cases(constraint, bad))
        return ValidationError("; ".join(parts) + ". Loosen the ranges the sampler draws from (fixed=... with "
                               "wider or fewer values), give only one side of an equality (the sampler copies "
                               "it to the other), or raise max_rounds." + _advisory_hint(failing),
                               failure_cases=pd.concat(cases, ignore_index=True))

    def failure_cases(self, constraint: CompiledConstraint, rows: np.ndarray) -> pd.DataFrame:
        column = constraint.columns[0] if constraint.columns else None
        values = self.values(column, rows) if column else [None] * len(rows)
        return pd.DataFrame({"row": rows, "column": column, "check": constraint.name, "value": list(values),
                             "message": constraint.message or constraint.description})

    def check_column(self, name: str) -> None:
        param = self.spec[name]
        if name not in self.columns:
            return
        values = self.values(name)
        rows = np.flatnonzero(self.open_at(name, np.arange(self.n)))
        bad = rows[~_valid(values[rows], param)]
        if len(bad):
            problem = check_value(_param_json(param), _python(values[bad[0]])) or "is not allowed"
            raise ValidationError(
                f"{name}: {len(bad)} of {self.n} drawn values are not allowed (first: row {bad[0]}, "
                f"{name} {problem}); they came from {self.samplers[name].source!r}. Draw from inside the "
                "parameter's range (inf.normal clips to it by default) or check the callable.",
                failure_cases=pd.DataFrame({"row": bad, "column": name, "check": "value",
                                            "value": list(values[bad]), "message": f"{name} {problem}"}))

    def frame(self, index: pd.Index, names: Sequence[str] | None = None,
              rows: np.ndarray | None = None) -> pd.DataFrame:
        full = rows is None or len(rows) == self.n
        data: dict[str, Any] = {}
        for name in names if names is not None else self.spec.names:
            values = self.columns[name] if full or rows is None else self.columns[name][rows]
            pool = self.pools.get(name)
            if pool is not None:
                data[name] = _decoded(values, pool, self.spec[name], index)
            elif values.dtype == _NATIVE.get(self.spec[name].type):
                data[name] = values  # already the column's dtype: no Series to build
            elif self.samplers[name].constant and self.samplers[name].source is None and name not in self.open:
                data[name] = values  # a constant None (``state``): already the object column of None
            else:
                data[name] = _to_series(values, self.spec[name], index)
        # copy=False also skips consolidating same-dtype columns into blocks, a full copy of the data.
        return pd.DataFrame(data, index=index, copy=False)


def _placed(n: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.empty(n, dtype=values.dtype if values.dtype.kind in "iufb" else object)
    out[rows] = values
    return out


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _valid(values: np.ndarray, param: ParamSpec) -> np.ndarray:
    """Which drawn values the service would accept: the one engine's cell reading (:mod:`.cells`)
    and value checks (:mod:`.checks`), on the whole column."""
    if param.type in ("int", "float", "bool") and values.dtype.kind in ("iuf" if param.type != "bool" else "b"):
        ok = np.isfinite(values) if values.dtype.kind == "f" else np.ones(len(values), dtype=bool)
        column = values
    else:  # drawn text, or numbers held as Python objects: read as the service reads a job's cells
        read = read_values(values.tolist(), param)
        ok, column = read.codes == OK, read.column
    for _check, rows in value_failures(param, column, ok):
        ok[rows] = False
    return ok


def _fits(sampler: Sampler, follower: ParamSpec) -> bool:
    """Every value ``sampler`` draws (a recommended distribution) is one ``follower`` allows too,
    so the leader of an equality may keep it."""
    source = sampler.source
    if sampler.user or not isinstance(source, Distribution) or isinstance(source, Normal):
        return False
    if not isinstance(source, Choice) and follower.choices:
        return False
    return all(check_value(_param_json(follower), v.item() if isinstance(v, np.generic) else v) is None
               for v in source.support())


def _shared_sampler(leader: ParamSpec, follower: ParamSpec, constraint: CompiledConstraint) -> Sampler:
    """A sampler for ``leader`` over what both sides of ``leader == follower`` allow."""

    def finite(p: ParamSpec) -> tuple[Any, ...] | None:
        return p.choices or ((False, True) if p.type == "bool" else None)

    def accepts(p: ParamSpec, v: Any) -> bool:
        return check_value(_param_json(p), v) is None

    values_l, values_f = finite(leader), finite(follower)
    if values_l is not None or values_f is not None:
        pool = values_l if values_l is not None else values_f
        shared = [v for v in pool or () if accepts(leader, v) and accepts(follower, v)]
        if shared:
            return default_sampler(leader, values=shared)
    elif leader.ranged and follower.ranged:
        low, high = max(leader.min, follower.min), min(leader.max, follower.max)  # type: ignore[type-var]
        ints_left = leader.type != "int" or np.ceil(low) <= np.floor(high)  # type: ignore[arg-type]
        if low <= high and ints_left:  # type: ignore[operator]
            return default_sampler(leader, low=low, high=high)
    else:
        return default_sampler(leader)
    raise ValidationError(f"constraint {constraint.name!r} ({constraint.description}) can never hold: "
                          f"{leader.name} and {follower.name} allow no value in common.")


def _to_series(values: np.ndarray, param: ParamSpec, index: pd.Index | None = None) -> pd.Series:
    """A column with the dtype the parameter's type calls for, when that loses nothing: text
    with choices as a Categorical of the choices (:func:`~.cells.choice_dtype`)."""
    if values.dtype.kind == "O":
        series = pd.Series(values, index=index, dtype=object, name=param.name, copy=False)
        categorical = choice_dtype(param)
        if not len(values):
            empty = categorical if categorical is not None else _EMPTY_DTYPES.get(param.type, object)
            return series.astype(empty)
        if categorical is not None:
            chosen = _as_choices(values, param, categorical)
            if chosen is not None:
                return pd.Series(chosen, index=index, name=param.name, copy=False)
        strings = _as_strings(values) if param.type == "str" else None
        if strings is not None:
            return pd.Series(strings, index=index, name=param.name, copy=False)
        nulls = series.isna()
        if nulls.all():  # a constant None, as for ``state``: no NaN to turn into None
            return pd.Series(np.full(len(values), None, dtype=object), index=index, name=param.name, copy=False)
        if param.type in ("str", "uuid") or nulls.any():
            # A nullable column keeps None (JSON null), never NaN, which the service reads as a number.
            return series.where(~nulls, None)
        series = series.infer_objects()
    else:
        series = pd.Series(values, index=index, name=param.name, copy=False)
    kind = series.dtype.kind
    if param.type == "int" and kind == "f" and bool(np.all(np.mod(series.to_numpy(), 1) == 0)):
        return series.astype(np.int64)
    if param.type == "int" and kind in "iu" and series.dtype != np.int64:
        return series.astype(np.int64)
    if param.type == "float" and kind in "iuf" and series.dtype != np.float64:
        return series.astype(np.float64)
    return series


def _as_choices(values: np.ndarray, param: ParamSpec, dtype: pd.CategoricalDtype) -> pd.Categorical | None:
    """Values as a Categorical of the choices if every one is a choice (or a missing value the
    parameter allows), else ``None``: anything else keeps the column it had, for validation to
    point at."""
    strings = _as_strings(values)  # refuses non-text values: 3 is not "3"
    if strings is None:
        return None
    codes = dtype.categories.get_indexer(strings)
    if (codes < 0).any():
        return None
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _decoded(codes: np.ndarray, pool: np.ndarray, param: ParamSpec, index: pd.Index) -> pd.Series:
    """A column from indexes into ``pool``: a Categorical of the choices when the pool holds
    only choices (the codes renumbered, no string touched), else ``str`` (Arrow copies the
    strings in C)."""
    categorical = choice_dtype(param)
    if categorical is not None:
        order = categorical.categories.get_indexer(pool)
        if (order >= 0).all():
            small = np.int8 if len(categorical.categories) < 128 else np.int32
            renumbered = order.astype(small)[codes]
            return pd.Series(pd.Categorical.from_codes(renumbered, dtype=categorical, validate=False),
                             index=index, name=param.name, copy=False)
    # large_string: what pandas' str dtype holds, so it takes the array as it is.
    # 32-bit indexes: Arrow's take runs about a third faster on them than on 64-bit ones.
    small_codes = codes.astype(np.int32) if len(pool) < 2**31 else codes
    strings = pa.array(pool, type=pa.large_string()).take(pa.array(small_codes))
    return pd.Series(pd.array(strings, dtype="str"), index=index, name=param.name, copy=False)


def _as_strings(values: np.ndarray) -> Any:
    """Values as pandas' ``str`` array if every one is a Python string, else ``None``."""
    try:
        # Arrow checks the element types in C (a Python loop costs a second per million rows)
        # and refuses rather than coerces: 3 stays an int, not "3".
        arrow = pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    return None if arrow.null_count else pd.array(arrow, dtype="str")


_NATIVE: dict[str, Any] = {"int": np.dtype(np.int64), "float": np.dtype(np.float64), "bool": np.dtype(bool)}
_EMPTY_DTYPES: dict[str, Any] = {"int": np.int64, "float": np.float64, "bool": bool, "str": "str", "uuid": object}
