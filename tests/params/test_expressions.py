"""The one evaluator of joint constraints: whole columns at once, one job as a one-row table, and
a fresh script's first sample + validate that loads neither scipy nor pandera."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from infinityframe.params.expressions import compile_expression
from infinityframe.params.rules import evaluate_constraint


class TestColumns:
    def test_whole_columns(self) -> None:
        check = compile_expression("a < b <= 2 * a and kind in ['A', 'C']")
        assert check.names == ("a", "b", "kind")
        got = check({"a": [1.0, 1.0, 1.0, 1.0], "b": [1.5, 3.0, 1.5, 0.5], "kind": ["A", "A", "B", "C"]})
        assert got.tolist() == [True, False, False, False]

    def test_agrees_with_one_job_at_a_time(self) -> None:
        rng = np.random.default_rng(0)
        cols = {"a": rng.uniform(-1, 1, 200), "b": rng.uniform(-1, 1, 200), "k": rng.choice(["x", "y"], 200)}
        for expr in ["a + b <= 0.5", "abs(a - b) < 0.3", "(a < 0) | (k == 'x')", "not (a > b) and ~(k != 'y')",
                     "a * 2 - b % 1 ** 2 >= -1", "k not in ['x']"]:
            whole = compile_expression(expr)(cols).tolist()
            single = [evaluate_constraint(expr, {n: v[i].item() for n, v in cols.items()}) for i in range(200)]
            assert whole == single, expr

    def test_missing_or_mixed_values_break_the_constraint(self) -> None:
        check = compile_expression("a <= b")
        nullable = pd.array([0.1, None, 0.9], dtype="Float64")
        assert check({"a": nullable, "b": [0.5, 0.5, 0.5]}).tolist() == [True, False, False]
        assert check({"a": np.array([0.1, "x", None], dtype=object), "b": [1, 1, 1]}).tolist() == [True, False, False]
        assert check({"a": [np.nan, 0.2], "b": [1.0, 1.0]}).tolist() == [False, True]

    def test_parsed_once(self) -> None:
        assert compile_expression("a > 1") is compile_expression("a > 1")

    @pytest.mark.parametrize("expr", ["__import__('os').system('true')", "a.real > 0", "max(a, b) > 1",
                                      "[x for x in 'ab']", "lambda: 1", "a >"])
    def test_refused_when_compiled(self, expr: str) -> None:
        with pytest.raises(ValueError):
            compile_expression(expr)

    def test_unknown_name(self) -> None:
        with pytest.raises(ValueError, match="unknown parameter 'q'"):
            compile_expression("q > 1")({"a": [1]})


def test_a_fresh_scripts_first_sample_and_validate_loads_neither_scipy_nor_pandera() -> None:
    """Validation never needs pandera, even to report failures: only asking for the schema loads it.
    A uniform draw needs no scipy; the recommended prior's normals (body height and weight) load
    ``scipy.special`` only; a Latin hypercube is drawn with numpy, and only a Sobol' design loads
    ``scipy.stats``."""
    script = textwrap.dedent("""
        import sys
        from infinityframe.local.generators import get
        from infinityframe.params.sampling import sample
        from infinityframe.params.schema import build_schema, failure_cases, validate_frame
        from infinityframe.params.spec import GeneratorSpec

        spec = GeneratorSpec.from_metadata(get("visionfit-flagship-v0.1.0").metadata())
        frame = validate_frame(sample(spec, 1000, seed=0, prior="uniform"), spec)
        print(len(frame), "scipy" in sys.modules, "pandera" in sys.modules)
        bad = frame.assign(num_reps=99)
        print(len(failure_cases(bad, spec)), "pandera" in sys.modules)
        build_schema(spec)
        print("pandera" in sys.modules)
        sample(spec, 8, seed=0)
        print("scipy.special" in sys.modules, "scipy.stats" in sys.modules)
        sample(spec, 8, seed=0, method="lhs")
        print("scipy.stats" in sys.modules)
        sample(spec, 8, seed=0, method="sobol")
        print("scipy.stats" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["1000", "False", "False", "1000", "False", "True", "True", "False", "False",
                                  "True"], \
        out.stdout
