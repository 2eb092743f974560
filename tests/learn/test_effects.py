"""effects: a known answer on a synthetic objective, and the real results of a real batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import infinityframe as inf
from infinityframe.learn.effects import COLUMNS, effects

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


def known_answer(n: int, seed: int) -> pd.DataFrame:
    """y depends on a and b only (with measurement noise); three parameters of every kind do nothing."""
    rng = np.random.default_rng(seed)
    jobs = pd.DataFrame({
        "a": rng.uniform(0, 1, n), "b": rng.uniform(-2, 2, n),
        "noise_float": rng.uniform(0, 10, n), "noise_int": rng.integers(1, 20, n),
        "noise_choice": rng.choice(["BEDROOM", "GYM", "OFFICE"], n), "noise_bool": rng.random(n) < 0.5,
    })
    jobs["y"] = 2 * jobs.a + np.sin(1.5 * jobs.b) + rng.normal(0, 0.1, n)
    return jobs


class TestKnownAnswer:
    @pytest.mark.parametrize("method", ["sobol", "permutation"])
    def test_the_two_that_matter_first_with_intervals_off_zero_and_the_noise_last(self, method: str) -> None:
        table = effects(known_answer(120, seed=3), "y", method=method, n_boot=12, seed=0)
        assert list(table.columns) == COLUMNS
        assert set(table["parameter"][:2]) == {"a", "b"}
        assert (table["low"][:2] > 0).all(), table
        noise = table.iloc[2:]
        assert set(noise["parameter"]) == {"noise_float", "noise_int", "noise_choice", "noise_bool"}
        assert noise["effect"].max() < table["effect"][:2].min() / 3, table
        assert (table["method"] == method).all() and (table["n"] == 120).all()
        assert (table["low"] <= table["effect"]).all() and (table["effect"] <= table["high"]).all()

    def test_permutation_intervals_of_noise_hold_zero(self) -> None:
        table = effects(known_answer(120, seed=4), "y", method="permutation", n_boot=12, seed=0).set_index("parameter")
        for name in ("noise_float", "noise_int", "noise_choice", "noise_bool"):
            assert table.loc[name, "low"] <= 0 <= table.loc[name, "high"] + 0.01, table

    def test_auto_picks_sobol_only_when_the_jobs_fill_the_space(self) -> None:
        assert effects(known_answer(120, 0), "y", n_boot=3)["method"].iloc[0] == "sobol"
        assert effects(known_answer(30, 0), "y", n_boot=3)["method"].iloc[0] == "permutation"

    def test_same_seed_same_table_and_the_input_is_untouched(self) -> None:
        jobs = known_answer(60, 1)
        before = jobs.copy()
        first = effects(jobs, "y", n_boot=4, seed=7)
        pd.testing.assert_frame_equal(first, effects(jobs, "y", n_boot=4, seed=7))
        pd.testing.assert_frame_equal(jobs, before)
        assert 0.5 < first.attrs["r2"] <= 1

    def test_a_series_target_and_sobol_first_order_at_most_total(self) -> None:
        jobs = known_answer(120, 2)
        table = effects(jobs.drop(columns="y"), jobs["y"].rename("error"), method="sobol", n_boot=5)
        assert set(table["parameter"][:2]) == {"a", "b"}
        assert (table["first_order"] <= table["effect"] + 0.05).all()


class TestBadInput:
    def test_unknown_target_names_the_columns(self) -> None:
        with pytest.raises(inf.InfinityError, match=r"No column 'nope'.*noise_float"):
            effects(known_answer(20, 0), "nope")

    def test_text_target_is_refused_with_the_value(self) -> None:
        jobs = known_answer(20, 0)
        with pytest.raises(inf.InfinityError, match=r"numeric or boolean; it holds '(BEDROOM|GYM|OFFICE)'"):
            effects(jobs, "noise_choice", ["a", "b"])

    def test_too_few_jobs(self) -> None:
        with pytest.raises(inf.InfinityError, match="Only 5 job"):
            effects(known_answer(5, 0), "y")

    def test_nothing_varies(self) -> None:
        jobs = known_answer(20, 0).assign(a=1.0)
        with pytest.raises(inf.InfinityError, match="varies"):
            effects(jobs, "y", ["a"])


@pytest.fixture(scope="module")
def distance_results(sesh: inf.Session, tmp_path_factory: pytest.TempPathFactory) -> inf.Results:
    """12 real previews where only the camera distance and the light change."""
    rng = np.random.default_rng(0)
    jobs = pd.DataFrame({"camera_distance": rng.uniform(1.5, 5.0, 12), "lighting_power": rng.uniform(50, 1500, 12),
                         **SMALL})
    batch = jobs.infinity.submit(sesh, preview=True, name="effects: distance and light")
    batch.wait(progress=False)
    return batch.results(tmp_path_factory.mktemp("effects") / "batch")


class TestOnResults:
    def test_box_height_is_driven_by_the_camera_distance_counted_per_job(self, distance_results: inf.Results) -> None:
        table = distance_results.effects("bbox_h", level="objects", n_boot=10, method="permutation")
        assert table["parameter"].tolist()[0] == "camera_distance"
        assert set(table["parameter"]) == {"camera_distance", "lighting_power"}  # the rest never varied
        assert (table["n"] == len(distance_results.jobs)).all()  # jobs, not objects, are the replicates

    def test_a_column_of_another_table_says_which_level(self, distance_results: inf.Results) -> None:
        with pytest.raises(inf.InfinityError, match=r"res\.objects: pass level='objects'"):
            distance_results.effects("bbox_h")

    def test_a_series_by_job_id(self, distance_results: inf.Results) -> None:
        jobs = distance_results.jobs
        error = pd.Series(jobs["lighting_power"].to_numpy() / 100, index=jobs["job_id"].astype(str)).iloc[::-1]
        table = distance_results.effects(error, n_boot=8, method="permutation")
        assert table["parameter"].iloc[0] == "lighting_power"

    def test_plot_effects_draws_every_parameter(self, distance_results: inf.Results) -> None:
        fig = distance_results.plot_effects("mean_bbox_h", n_boot=4, method="permutation")
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels[0] == "camera_distance" and len(labels) == 2
