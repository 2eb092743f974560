"""coverage(): how much of each parameter's space a frame uses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from infinityframe.local.generators import get
from infinityframe.params.coverage import coverage
from infinityframe.params.sampling import sample
from infinityframe.params.spec import GeneratorSpec


@pytest.fixture(scope="module")
def shapes() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())


@pytest.fixture(scope="module")
def stickfit() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(get("stickfit-v0.1.0").metadata())


def by_parameter(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("parameter")


class TestCoverage:
    def test_columns_and_rows(self, shapes: GeneratorSpec) -> None:
        table = coverage(sample(shapes, 50, seed=1).assign(tag="x"), shapes)
        assert list(table.columns) == ["parameter", "type", "kind", "n_unique", "range_covered",
                                       "missing_choices", "discrepancy"]
        assert table.parameter.tolist() == shapes.names  # extra columns are ignored

    def test_half_a_range(self, shapes: GeneratorSpec) -> None:
        df = pd.DataFrame({"lighting_power": np.linspace(500.0, 1500.0, 20), "num_objects": [1, 10] * 10})
        t = by_parameter(coverage(df, shapes))
        assert t.loc["lighting_power", "range_covered"] == pytest.approx(0.5)
        assert t.loc["lighting_power", "kind"] == "continuous"
        assert t.loc["num_objects", "range_covered"] == pytest.approx(9 / 19)
        assert t.loc["num_objects", "kind"] == "integer" and t.loc["num_objects", "n_unique"] == 2

    def test_missing_choices(self, shapes: GeneratorSpec) -> None:
        df = pd.DataFrame({"categories": ["ALL", "STAR", "STAR"], "allow_overlap": [True, True, True],
                           "background": ["PLAIN", "NOISE", "GRADIENT"]})
        t = by_parameter(coverage(df, shapes))
        assert t.loc["categories", "missing_choices"] == ["CIRCLE", "SQUARE", "TRIANGLE"]
        assert t.loc["categories", "range_covered"] == pytest.approx(2 / 5)
        assert t.loc["categories", "kind"] == "categorical"
        assert t.loc["background", "missing_choices"] == [] and t.loc["background", "range_covered"] == 1.0
        assert t.loc["allow_overlap", "kind"] == "fixed"  # one value in the frame
        assert t.loc["allow_overlap", "missing_choices"] == [False]

    def test_fixed_and_unsampled(self, shapes: GeneratorSpec) -> None:
        t = by_parameter(coverage(sample(shapes, 30, seed=2), shapes))
        assert t.loc["state", "kind"] == "fixed" and t.loc["state", "n_unique"] == 0
        assert math.isnan(t.loc["state", "range_covered"]) and math.isnan(t.loc["state", "discrepancy"])
        assert t.loc["allow_overlap", "kind"] == "boolean"

    def test_discrepancy_is_shared_by_the_numeric_rows(self, shapes: GeneratorSpec) -> None:
        table = coverage(sample(shapes, 100, seed=3), shapes)
        numeric = table[table.kind.isin(["continuous", "integer"])]
        assert numeric.discrepancy.nunique() == 1 and numeric.discrepancy.notna().all()
        assert table[~table.kind.isin(["continuous", "integer"])].discrepancy.isna().all()
        assert table.attrs["discrepancy"] == numeric.discrepancy.iloc[0]
        assert table.attrs["discrepancy_columns"] == numeric.parameter.tolist()
        assert table.attrs["discrepancy_rows"] == 100

    def test_lhs_is_more_uniform_than_a_clumped_sample(self, shapes: GeneratorSpec) -> None:
        spread = coverage(sample(shapes, 200, seed=4, method="lhs"), shapes).attrs
        clumped_df = sample(shapes, 200, seed=4, fixed={"lighting_power": np.linspace(0, 200, 50).tolist(),
                                                       "num_objects": [1, 2]})
        clumped = coverage(clumped_df, shapes).attrs
        assert spread["discrepancy"] < clumped["discrepancy"]
        assert spread["discrepancy_random"] == clumped["discrepancy_random"]

    def test_designs_beat_random_expectation(self, shapes: GeneratorSpec) -> None:
        # No constraint in play: the uniform prior (the recommended one adds a square image).
        df = sample(shapes, 256, seed=5, method="sobol", fixed={"min_size": 0.1}, prior="uniform")
        attrs = coverage(df, shapes).attrs
        assert attrs["discrepancy"] < attrs["discrepancy_random"]

    def test_large_frames_are_subsampled(self, shapes: GeneratorSpec) -> None:
        attrs = coverage(sample(shapes, 10_000, seed=6), shapes).attrs
        assert attrs["discrepancy_rows"] == 4096 and np.isfinite(attrs["discrepancy"])

    def test_empty_and_non_parameter_frames(self, shapes: GeneratorSpec) -> None:
        assert len(coverage(pd.DataFrame({"x": [1]}), shapes)) == 0
        t = coverage(sample(shapes, 0), shapes)
        assert (t.n_unique == 0).all() and math.isnan(t.attrs["discrepancy"])

    def test_does_not_mutate(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 40, seed=7)
        before = df.copy()
        coverage(df, stickfit)
        pd.testing.assert_frame_equal(df, before)
