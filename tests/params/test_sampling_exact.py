"""Constraints are met by the exact conditional law, from streams that are reproducible row by row.

The samplers meet a joint constraint by re-drawing the rows that break it (rejection sampling)
or, for ``low <= high`` between two columns drawn alike, by putting each row's pair in order.
Either way a row must end up distributed as the unconstrained draw *given* every constraint:
each test compares the drawn columns with that law, worked out by hand, by a Kolmogorov-Smirnov
test on a fixed seed (so the outcome is fixed too, not flaky).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from infinityframe.local.generators import get
from infinityframe.params import _draw
from infinityframe.params.distributions import uniform
from infinityframe.params.samplers import default_sampler
from infinityframe.params.sampling import fill, sample
from infinityframe.params.spec import GeneratorSpec

N = 20_000
P_MIN = 1e-3  # a KS p-value below this on N rows means the law is not the one worked out


@pytest.fixture(scope="module")
def stickfit() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(get("stickfit-v0.1.0").metadata())


@pytest.fixture(scope="module")
def flagship() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(get("visionfit-flagship-v0.1.0").metadata())


def ks(values: pd.Series, cdf: Any) -> float:
    return float(scipy.stats.kstest(values.to_numpy(), cdf).pvalue)


class TestConditionalLaw:
    """inter_rep_delay_avg, inter_rep_delay_var and kinematic_noise_factor are each uniform on [0, 2]."""

    def test_advisory_pair_in_order(self, flagship: GeneratorSpec) -> None:
        # var <= avg on the square [0, 2]^2: uniform on the triangle below the diagonal.
        df = sample(flagship, N, seed=1)
        assert (df.inter_rep_delay_var <= df.inter_rep_delay_avg).all()
        assert ks(df.inter_rep_delay_avg, lambda a: (np.clip(a, 0, 2) / 2) ** 2) > P_MIN
        assert ks(df.inter_rep_delay_var, lambda v: 1 - (1 - np.clip(v, 0, 2) / 2) ** 2) > P_MIN
        # The pair is independent of everything else, which keeps its unconstrained law.
        free = sample(flagship, N, seed=1, advisory=False)
        pd.testing.assert_frame_equal(df.drop(columns=["inter_rep_delay_avg", "inter_rep_delay_var"]),
                                      free.drop(columns=["inter_rep_delay_avg", "inter_rep_delay_var"]))

    def test_rejection_of_a_sum(self, stickfit: GeneratorSpec) -> None:
        # avg + var <= 1.5 alone: uniform on a triangle, avg's density falls linearly to 1.5.
        df = sample(stickfit, N, seed=2, advisory=False, constraints="inter_rep_delay_avg + inter_rep_delay_var <= 1.5")
        assert (df.inter_rep_delay_avg + df.inter_rep_delay_var <= 1.5).all()
        assert ks(df.inter_rep_delay_avg, lambda a: 1 - (1.5 - np.clip(a, 0, 1.5)) ** 2 / 2.25) > P_MIN

    def test_pair_in_order_with_another_constraint_on_it(self, stickfit: GeneratorSpec) -> None:
        # var < avg (strict) and avg + var <= 1.5: uniform on the triangle (0,0), (1.5,0), (0.75,0.75),
        # whose avg has density a on [0, 0.75] and 1.5 - a on [0.75, 1.5].
        def cdf(a: np.ndarray) -> np.ndarray:
            a = np.clip(a, 0, 1.5)
            return np.where(a <= 0.75, a**2, 1.125 - (1.5 - a) ** 2) / 1.125

        df = sample(stickfit, N, seed=3, advisory=False,
                    constraints=["inter_rep_delay_var < inter_rep_delay_avg",
                                 "inter_rep_delay_avg + inter_rep_delay_var <= 1.5"])
        assert (df.inter_rep_delay_var < df.inter_rep_delay_avg).all()
        assert (df.inter_rep_delay_avg + df.inter_rep_delay_var <= 1.5).all()
        assert ks(df.inter_rep_delay_avg, cdf) > P_MIN

    def test_a_chain_of_constraints(self, stickfit: GeneratorSpec) -> None:
        # var <= avg (advisory) and avg <= kinematic_noise_factor: the three are the order
        # statistics of three uniforms, Beta(1, 3), Beta(2, 2) and Beta(3, 1) on [0, 2].
        df = sample(stickfit, N, seed=4, constraints="inter_rep_delay_avg <= kinematic_noise_factor", prior="uniform")
        assert (df.inter_rep_delay_var <= df.inter_rep_delay_avg).all()
        assert (df.inter_rep_delay_avg <= df.kinematic_noise_factor).all()
        for column, (a, b) in {"inter_rep_delay_var": (1, 3), "inter_rep_delay_avg": (2, 2),
                               "kinematic_noise_factor": (3, 1)}.items():
            assert ks(df[column], scipy.stats.beta(a, b, scale=2).cdf) > P_MIN, column

    def test_fill_draws_the_conditional_law_given_the_cells(self, stickfit: GeneratorSpec) -> None:
        # avg given as 1.0: var is uniform on [0, 1].
        df = fill(pd.DataFrame({"inter_rep_delay_avg": [1.0] * N}), stickfit, seed=5)
        assert (df.inter_rep_delay_var <= 1.0).all()
        assert ks(df.inter_rep_delay_var, scipy.stats.uniform(0, 1).cdf) > P_MIN

    def test_user_uniforms_alike_are_put_in_order(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, N, seed=6, advisory=False, constraints="relative_height >= relative_weight",
                    fixed={"relative_height": uniform(-1, 1), "relative_weight": uniform(-1, 1)})
        assert (df.relative_weight <= df.relative_height).all()
        assert ks(df.relative_height, lambda h: ((np.clip(h, -1, 1) + 1) / 2) ** 2) > P_MIN

    def test_integers_are_rejected_not_ordered(self, stickfit: GeneratorSpec) -> None:
        # Ordering two independent integers would make a tie twice as rare as rejection does.
        df = sample(stickfit, N, seed=7, constraints="image_width <= image_height",
                    fixed={"image_width": [128, 129], "image_height": [128, 129]})
        counts = df.groupby(["image_width", "image_height"]).size()
        assert set(counts.index) == {(128, 128), (128, 129), (129, 129)}
        assert scipy.stats.chisquare(counts.to_numpy()).pvalue > P_MIN  # a third each


class TestRedrawStreams:
    def test_a_rows_units_do_not_depend_on_the_other_rows(self) -> None:
        rows = np.arange(1000)
        every = _draw._units_at(12, "camera_height", 3, rows)
        some = np.array([0, 5, 6, 999])
        np.testing.assert_array_equal(_draw._units_at(12, "camera_height", 3, some), every[some])
        assert every.min() >= 0.0 and every.max() < 1.0
        assert scipy.stats.kstest(every, "uniform").pvalue > P_MIN

    def test_streams_differ_by_seed_name_and_round(self) -> None:
        rows = np.arange(100)
        base = _draw._units_at(12, "camera_height", 3, rows)
        for other in (_draw._units_at(13, "camera_height", 3, rows), _draw._units_at(12, "camera_distance", 3, rows),
                      _draw._units_at(12, "camera_height", 4, rows)):
            assert not np.isin(other, base).any()

    def test_splitmix64_outputs(self) -> None:
        # Output i of the sequence seeded with s is mix(s + (i + 1) * gamma), 53 bits of it.
        mask = 2**64 - 1
        seed = int(np.random.SeedSequence(12, spawn_key=(_draw._REDRAW_STREAM, *_draw._name_words("x"), 1))
                   .generate_state(1, np.uint64)[0])

        def reference(i: int) -> float:
            z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & mask
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            return ((z ^ (z >> 31)) >> 11) * 2.0**-53

        rows = np.array([0, 1, 2, 99_999, 2**40])
        assert _draw._units_at(12, "x", 1, rows).tolist() == [reference(int(i)) for i in rows]

    def test_redraws_keep_the_prefix_property(self, flagship: GeneratorSpec) -> None:
        constraints = ["inter_rep_delay_avg + inter_rep_delay_var <= 1.5", "camera_height <= camera_distance / 2"]
        small = sample(flagship, 500, seed=8, constraints=constraints)
        large = sample(flagship, 3000, seed=8, constraints=constraints)
        pd.testing.assert_frame_equal(large.head(500), small)

    def test_a_callable_is_redrawn_from_its_generator(self, stickfit: GeneratorSpec) -> None:
        seen: list[int] = []

        def draw(rng: np.random.Generator, n: int) -> np.ndarray:
            seen.append(n)
            return rng.uniform(0.1, 2.75, n)

        df = sample(stickfit, 400, seed=9, constraints="camera_height <= 1", fixed={"camera_height": draw})
        assert (df.camera_height <= 1).all() and seen[0] == 400 and len(seen) > 1

    def test_first_draws_are_each_columns_own_stream(self, flagship: GeneratorSpec) -> None:
        # However the frame lays out its memory, column p is p's sampler drawing from p's stream.
        df = sample(flagship, 1000, seed=10, advisory=False, prior="uniform")
        for param in flagship:
            expected = default_sampler(param).draw(_draw._stream(10, param.name, 0), 1000)
            assert df[param.name].tolist() == expected.tolist(), param.name
