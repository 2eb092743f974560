"""Sampling and validating job frames, against infinity-core's per-dict algorithm, in one run.

Run: ``python benchmarks/bench_params.py [--jobs 100000] [--rows 1000000] [--rounds 3]``.

The generator is VisionFit-flagship-like, with 30 parameters (names, types and ranges of the
reference's §3.1–3.3). The baseline follows infinity-core's algorithm: ``random_job()`` once
per job (a uniform draw per parameter with ``random``), then ``validate_job_params`` — a loop
over every dict that rebuilds ``parameter_info`` and checks type, cast, min, max and choices
one value at a time. infinityframe draws the whole frame with numpy and validates it with the
session's rules (one vectorised backend; pandera never runs). A million valid rows are also
validated by bare pandera on the same rules, pandas and polars, for the ratio.

The two sides alternate in rounds (baseline, then ours, each a best of several runs), so a load
that comes and goes on a shared machine hits both; the table gives each round's ratio, their
median and spread.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish
from infinityframe.params.rules import validate_jobs
from infinityframe.params.sampling import sample
from infinityframe.params.schema import build_polars_schema, build_schema, validate_frame
from infinityframe.params.spec import GeneratorSpec

EXERCISES = [
    "ARM_RAISE-DUMBBELL", "BEAR_CRAWL-HOLDS", "BICEP_CURL-ALTERNATING-DUMBBELL", "BICEP_CURL-BARBELL", "BIRD_DOG",
    "BRIDGE", "BURPEE", "CLAMSHELL-LEFT", "CLAMSHELL-RIGHT", "CRUNCHES", "DEADLIFT-DUMBBELL", "DONKEY_KICK-LEFT",
    "DONKEY_KICK-RIGHT", "DOWNWARD_DOG", "LEG_RAISE", "LUNGE-CROSSBACK", "PRESS-SINGLE_ARM-DUMBBELL-LEFT",
    "PRESS-SINGLE_ARM-DUMBBELL-RIGHT", "PUSHUP", "PUSHUP-CLOSE_GRIP", "PUSHUP-EXPLOSIVE", "SITUP", "SQUAT-BODYWEIGHT",
    "SQUAT-BACK-BARBELL", "SQUAT-GOBLET+SUMO-DUMBBELL", "SUPERMAN", "UPPERCUT-LEFT", "UPPERCUT-RIGHT", "V_UP",
]


def _p(name: str, kind: str, default: Any, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": default, "options": options or None, "description": ""}


METADATA: dict[str, Any] = {"name": "visionfit-flagship-like-v0.1.0", "options": {"preview": True}, "params": [
    _p("scene", "str", "BEDROOM_2", choices=["BEDROOM_2", "BEDROOM_4", "BEDROOM_5", "BEDROOM_6", "GYM_1",
                                            "LIVINGROOM_1", "LIVINGROOM_2", "OFFICE_1"]),
    _p("exercise", "str", "PUSHUP", choices=EXERCISES),
    _p("gender", "str", "MALE", choices=["MALE", "FEMALE"]),
    _p("num_reps", "int", 1, min=1, max=20),
    _p("inter_rep_delay_avg", "float", 0.5, min=0.0, max=2.0),
    _p("inter_rep_delay_var", "float", 0.1, min=0.0, max=2.0),
    _p("rel_baseline_speed", "float", 1.0, min=0.33, max=3.0),
    _p("max_rel_speed_change", "float", 0.0, min=0.0, max=1.0),
    _p("kinematic_noise_factor", "float", 1.0, min=0.0, max=2.0),
    _p("camera_distance", "float", 3.0, min=1.0, max=5.25),
    _p("camera_height", "float", 0.75, min=0.1, max=2.75),
    _p("add_wall_art", "bool", False),
    _p("wall_art_type", "str", "non_human", choices=["non_human", "misc_human"]),
    _p("avatar_identity", "int", 0, min=0, max=24),
    _p("outfit", "int", 0, min=-1, max=4),
    _p("hide_shoes", "bool", False),
    _p("allowable_occlusion", "float", 10.0, min=0.0, max=100.0),
    _p("relative_height", "float", 0.0, min=-4.0, max=4.0),
    _p("relative_weight", "float", 0.0, min=-4.0, max=4.0),
    _p("relative_camera_pitch_deg", "float", 0.0, min=-45.0, max=45.0),
    _p("lighting_power", "float", 100.0, min=0.0, max=2000.0),
    _p("relative_avatar_angle_deg", "float", 0.0, min=-180.0, max=180.0),
    _p("frame_rate", "int", 24, choices=[30, 24, 12, 8, 6]),
    _p("image_width", "int", 256, min=128, max=512),
    _p("image_height", "int", 256, min=128, max=512),
    _p("enable_sensor_noise", "bool", True),
    _p("state", "uuid", None),
    _p("relative_camera_yaw_deg", "float", 0.0, min=-45.0, max=45.0),
    _p("randomize_skin_tone", "bool", False),
    _p("add_pauses", "bool", False),
]}
assert len(METADATA["params"]) == 30

_ALLOWED = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "uuid": (str, type(None))}
_CAST: dict[str, Callable[[Any], Any]] = {"int": int, "float": float}


class PerDictBaseline:
    """infinity-core's algorithm: a dict per job, drawn and checked one value at a time."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self._metadata = metadata

    @property
    def parameter_info(self) -> dict[str, dict[str, Any]]:  # rebuilt on every access, as there
        return {p["name"]: {"type": p["type"], "default_value": p["default_value"], "options": p.get("options")}
                for p in self._metadata["params"]}

    def random_job(self) -> dict[str, Any]:
        job: dict[str, Any] = {}
        for name, info in self.parameter_info.items():
            options = info["options"]
            if options is not None and "choices" in options:
                job[name] = random.choice(options["choices"])
            elif options is not None and "min" in options and "max" in options:
                low, high = options["min"], options["max"]
                job[name] = random.randint(low, high) if info["type"] == "int" else random.uniform(low, high)
            else:
                job[name] = info["default_value"]
        return job

    def _validate(self, params: dict[str, Any]) -> str | None:
        info = self.parameter_info
        problems: list[str] = []
        for key, value in params.items():
            if key not in info:
                problems.append(f"unsupported {key}")
                continue
            kind = info[key]["type"]
            if kind in _ALLOWED and not isinstance(value, _ALLOWED[kind]):
                problems.append(f"type {key}")
                continue
            if kind in _CAST:
                try:
                    value = _CAST[kind](value)
                except ValueError:
                    problems.append(f"cast {key}")
                    continue
            options = info[key]["options"]
            if options is not None:
                if "min" in options and value < options["min"]:
                    problems.append(f"min {key}")
                if "max" in options and value > options["max"]:
                    problems.append(f"max {key}")
                if "choices" in options and value not in options["choices"]:
                    problems.append(f"choices {key}")
        return "\n".join(problems) or None

    def validate_job_params(self, jobs: list[dict[str, Any]]) -> list[str | None]:
        return [self._validate(job) for job in jobs]


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spec = GeneratorSpec.from_metadata(METADATA)
    baseline = PerDictBaseline(METADATA)
    random.seed(0)

    def run_baseline() -> int:
        jobs = [baseline.random_job() for _ in range(args.jobs)]
        errors = baseline.validate_job_params(jobs)
        assert not any(errors)
        return len(jobs)

    def run_ours(n: int) -> Any:
        return validate_frame(sample(spec, n, seed=0, prior="uniform"), spec)  # random_job's law

    rounds: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        base_s, _ = best_of(max(1, args.repeat - 1), run_baseline)
        ours_s, frame = best_of(args.repeat, lambda: run_ours(args.jobs))
        assert len(frame) == args.jobs
        rounds.append((base_s, ours_s))
    ratios = sorted(base / ours for base, ours in rounds)
    base_s = statistics.median(base for base, _ in rounds)
    ours_s = statistics.median(ours for _, ours in rounds)
    big = sample(spec, args.rows, seed=1, prior="uniform")
    sample_big_s, _ = best_of(args.repeat, lambda: sample(spec, args.rows, seed=1, prior="uniform"))
    from infinityframe.params.cells import polars_frame

    big_pl = polars_frame(big)  # as sample(..., backend="polars") gives it: text choices as an Enum
    # Bare pandera on the same rules: the schemas users get (sesh.schema), built once, validating
    # lazily (every failure collected, as validate_frame does); alternating with ours, round by round.
    pandas_schema, polars_schema = build_schema(spec), build_polars_schema(spec)
    big_validation: dict[str, list[tuple[float, float]]] = {"pandas": [], "polars": []}
    for _ in range(args.rounds):
        for kind, frame, schema in (("pandas", big, pandas_schema), ("polars", big_pl, polars_schema)):
            bare_s, _ = best_of(max(1, args.repeat - 1),
                                lambda frame=frame, schema=schema: schema.validate(frame, lazy=True))
            ours_big_s, _ = best_of(args.repeat, lambda frame=frame: validate_frame(frame, spec))
            big_validation[kind].append((bare_s, ours_big_s))

    def big_row(kind: str) -> str:
        timed = big_validation[kind]
        shares = sorted(ours / bare for bare, ours in timed)
        bare = statistics.median(b for b, _ in timed)
        ours = statistics.median(o for _, o in timed)
        return (f"| validate {args.rows:,} rows ({kind}) | {bare:.3f} | {ours:.3f} | "
                f"**{statistics.median(shares):.2f}×** ({shares[0]:.2f}–{shares[-1]:.2f}×) |")

    # One job given as a dict, as a script checks the job it is about to submit: the one-table
    # engine on a table of one row, against the per-dict loop.
    job = baseline.random_job()
    one_base_s, _ = best_of(args.repeat, lambda: [baseline.validate_job_params([job]) for _ in range(200)])
    one_ours_s, _ = best_of(args.repeat, lambda: [validate_jobs(spec, [job]) for _ in range(200)])  # as a Session does
    one_base_ms, one_ours_ms = one_base_s / 200 * 1e3, one_ours_s / 200 * 1e3

    lines = [
        header(f"Sampling and validating job frames ({spec.name}, {len(spec.params)} parameters)"),
        f"{args.rounds} rounds of baseline then infinityframe, each the best of {max(1, args.repeat - 1)} and "
        f"{args.repeat} runs; the times are the rounds' medians, the speed-up the median of their ratios "
        f"(each round: {', '.join(f'{r:.0f}×' for r in ratios)}).\n",
        "| task | infinity-core algorithm (s) | infinityframe (s) | speed-up |",
        "|---|---|---|---|",
        f"| sample + validate {args.jobs:,} jobs | {base_s:.3f} | {ours_s:.3f} | "
        f"**{statistics.median(ratios):.0f}×** ({ratios[0]:.0f}–{ratios[-1]:.0f}×) |",
        f"| sample {args.rows:,} jobs | – | {sample_big_s:.3f} | |",
        f"| validate one job given as a dict (ms) | {one_base_ms:.3f} | {one_ours_ms:.3f} | "
        f"{one_base_ms / one_ours_ms:.2f}× |",
        "",
        f"Validating {args.rows:,} valid rows, against bare pandera on the same rules (the schemas "
        "`sesh.schema` returns, `validate(df, lazy=True)`), alternating in the same rounds; the "
        "figure is infinityframe's time as a share of pandera's (lower is faster):\n",
        "| task | pandera (s) | infinityframe (s) | time of pandera's |",
        "|---|---|---|---|",
        big_row("pandas"),
        big_row("polars"),
    ]
    publish(lines, "params.md")


if __name__ == "__main__":
    main()
