"""Server-side job validation against generator metadata: never trust the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from infinityframe.local.generators.base import Generator, evaluate_constraint, validate_job


class Toy(Generator):
    name = "toy-v0.1.0"
    params: ClassVar[list[dict[str, Any]]] = [
        {"name": "n", "type": "int", "default_value": 1, "options": {"min": 1, "max": 5}, "description": ""},
        {"name": "x", "type": "float", "default_value": 0.5, "options": {"min": 0.0, "max": 1.0}, "description": ""},
        {"name": "y", "type": "float", "default_value": 0.1, "options": {"min": 0.0, "max": 1.0}, "description": ""},
        {"name": "kind", "type": "str", "default_value": "A", "options": {"choices": ["A", "B"]}, "description": ""},
        {"name": "flag", "type": "bool", "default_value": False, "options": None, "description": ""},
        {"name": "state", "type": "uuid", "default_value": None, "options": None, "description": ""},
    ]
    constraints: ClassVar[list[dict[str, Any]]] = [
        {"name": "budget", "expr": "x + y <= 1.2", "message": "x and y together may not exceed 1.2"}]

    def estimate(self, params: dict[str, Any], preview: bool) -> int:
        return 1

    def render(self, params: dict[str, Any], preview: bool, out_dir: Path, rng: np.random.Generator) -> int:
        return 1


class TestValidateJob:
    def test_defaults_fill_in(self) -> None:
        params, errors = validate_job(Toy(), 0, {"n": 3})
        assert errors == []
        assert params == {"n": 3, "x": 0.5, "y": 0.1, "kind": "A", "flag": False, "state": None}

    def test_integral_float_is_an_int(self) -> None:
        params, _ = validate_job(Toy(), 0, {"n": 3.0})
        assert params is not None and params["n"] == 3 and isinstance(params["n"], int)

    def test_numeric_strings_are_read_as_numbers(self) -> None:
        params, errors = validate_job(Toy(), 0, {"n": " 3 ", "x": "0.25"})
        assert errors == []
        assert params is not None and params["n"] == 3 and type(params["n"]) is int and params["x"] == 0.25

    @pytest.mark.parametrize(("given", "param"), [
        ({"n": 1.5}, "n"), ({"n": True}, "n"), ({"n": "3.5"}, "n"), ({"n": None}, "n"), ({"n": 9}, "n"),
        ({"n": "9"}, "n"), ({"x": float("nan")}, "x"), ({"x": "nan"}, "x"), ({"x": "-0.1"}, "x"),
        ({"x": -0.1}, "x"),
        ({"kind": "C"}, "kind"), ({"kind": 1}, "kind"), ({"flag": "false"}, "flag"), ({"flag": 0}, "flag"),
        ({"state": 5}, "state"), ({"zzz": 1}, "zzz"),
    ])
    def test_refused(self, given: dict[str, Any], param: str) -> None:
        params, errors = validate_job(Toy(), 7, given)
        assert params is None
        assert [(e["job"], e["param"]) for e in errors] == [(7, param)]
        assert param in errors[0]["message"]

    def test_constraint_names_the_values(self) -> None:
        params, errors = validate_job(Toy(), 2, {"x": 0.9, "y": 0.9})
        assert params is None
        assert errors[0]["job"] == 2 and errors[0]["param"] == "x"
        assert "x=0.9" in errors[0]["message"] and "y=0.9" in errors[0]["message"]

    def test_not_an_object(self) -> None:
        params, errors = validate_job(Toy(), 0, [1, 2])
        assert params is None and "object" in errors[0]["message"]


class TestConstraintExpressions:
    @pytest.mark.parametrize(("expr", "expected"), [
        ("a + b <= 1", True), ("a < b < 0.9", True), ("a > b or kind == 'B'", False),
        ("kind in ['A', 'C']", True), ("not (a > 0.2)", True), ("(a < 1) & (b < 1)", True),
        ("~(a < 1) | (b > 1)", False), ("a * 2 - b % 1 ** 2 >= -1", True),
    ])
    def test_evaluates(self, expr: str, expected: bool) -> None:
        assert evaluate_constraint(expr, {"a": 0.1, "b": 0.5, "kind": "A"}) is expected

    @pytest.mark.parametrize("expr", ["__import__('os').system('true')", "a.real > 0", "[x for x in 'ab']",
                                      "open('f')", "lambda: 1"])
    def test_refuses_anything_else(self, expr: str) -> None:
        with pytest.raises(ValueError):
            evaluate_constraint(expr, {"a": 1})

    def test_unknown_name(self) -> None:
        with pytest.raises(ValueError, match="unknown parameter"):
            evaluate_constraint("q > 1", {"a": 1})
