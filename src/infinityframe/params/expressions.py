"""Joint-constraint expressions, parsed once and evaluated on whole columns.

One evaluator serves every path: the service's check of one job (a one-row table), the
client's list-of-dicts check, and the frame checks and samplers (all rows at once, with
numpy). The grammar is the part of ``DataFrame.eval``'s that constraints need: arithmetic,
comparisons (chained too), ``and``/``or``/``not`` and pandas' ``&``/``|``/``~``, ``in`` /
``not in`` a list literal, ``abs()``, numbers, strings, booleans and parameter names.
Anything else is refused when the expression is compiled, never executed.

>>> check = compile_expression("a + b <= 0.9")
>>> check.names, check({"a": [0.5, 0.7], "b": [0.3, 0.3]}).tolist()
(('a', 'b'), [True, False])
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Expression", "compile_expression"]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
    ast.In: lambda a, b: np.isin(a, b), ast.NotIn: lambda a, b: ~np.isin(a, b),
}
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"abs": np.abs}

Columns = Mapping[str, Any]
Node = Callable[[Columns], Any]


@dataclass(frozen=True)
class Expression:
    """A compiled constraint: call it with columns (name → sequence) for one boolean per row.

    A row whose values the expression cannot compare (a missing value, a string against a
    number) is ``False``: it breaks the constraint rather than raising.
    """

    text: str
    names: tuple[str, ...]
    _run: Node

    def __call__(self, columns: Columns) -> NDArray[np.bool_]:
        missing = [n for n in self.names if n not in columns]
        if missing:
            raise ValueError(f"constraint {self.text!r} names unknown parameter {missing[0]!r}")
        arrays = {n: np.asarray(columns[n]) for n in self.names}
        rows = len(next(iter(arrays.values()))) if arrays else 1
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(self._run(arrays))
        except (TypeError, ValueError, ZeroDivisionError):
            result = self._row_by_row(arrays, rows)  # mixed objects: judge each row on its own
        result = np.broadcast_to(result, (rows,))
        if result.dtype == object:
            return np.array([_truthy(v) for v in result.tolist()], dtype=bool)
        return np.asarray(result, dtype=bool)

    def _row_by_row(self, arrays: dict[str, np.ndarray], rows: int) -> np.ndarray:
        out = np.zeros(rows, dtype=bool)
        for i in range(rows):
            try:
                with np.errstate(all="ignore"):
                    out[i] = _truthy(self._run({n: a[i:i + 1] for n, a in arrays.items()})[0])
            except (TypeError, ValueError, ZeroDivisionError, IndexError):
                out[i] = False
        return out


def _truthy(value: Any) -> bool:
    try:
        return bool(value) and value == value  # NaN is not true
    except (TypeError, ValueError):
        return False


@functools.lru_cache(maxsize=256)
def compile_expression(text: str) -> Expression:
    """Parse ``text`` once (cached) into an :class:`Expression`; a disallowed construct raises ``ValueError``."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"constraint {text!r} is not an expression: {exc.msg}") from None
    names: list[str] = []

    def build(node: ast.AST) -> Node:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            value = node.value
            return lambda cols: value
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                flag = node.id == "True"
                return lambda cols: flag
            if node.id not in names:
                names.append(node.id)
            name = node.id
            return lambda cols: cols[name]
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [build(e) for e in node.elts]
            return lambda cols: [item(cols) for item in items]
        if isinstance(node, ast.BoolOp):
            parts = [build(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda cols: functools.reduce(combine, (_bools(p(cols)) for p in parts))
        if isinstance(node, ast.UnaryOp):
            operand = build(node.operand)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return lambda cols: np.logical_not(_bools(operand(cols)))
            if isinstance(node.op, ast.USub):
                return lambda cols: -operand(cols)
            if isinstance(node.op, ast.UAdd):
                return operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            fn, left, right = _BINARY[type(node.op)], build(node.left), build(node.right)
            if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
                return lambda cols: fn(_bools(left(cols)), _bools(right(cols)))
            return lambda cols: fn(left(cols), right(cols))
        if isinstance(node, ast.Compare):
            first = build(node.left)
            steps = [(_COMPARE[type(op)], build(c)) for op, c in zip(node.ops, node.comparators, strict=True)]

            def compare(cols: Columns) -> Any:
                left, result = first(cols), True
                for fn, right_node in steps:
                    right = right_node(cols)
                    result = np.logical_and(result, fn(left, right))
                    left = right
                return result

            return compare
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and len(node.args) == 1 and not node.keywords):
            call, arg = _FUNCTIONS[node.func.id], build(node.args[0])
            return lambda cols: call(arg(cols))
        raise ValueError(f"constraint {text!r}: {type(node).__name__} is not allowed")

    run = build(tree.body)
    return Expression(text, tuple(names), run)


def _bools(value: Any) -> Any:
    array = np.asarray(value)
    if array.dtype == object:
        return np.array([_truthy(v) for v in array.reshape(-1).tolist()], dtype=bool).reshape(array.shape)
    return array.astype(bool)
