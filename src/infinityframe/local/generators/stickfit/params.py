"""The parameters of ``stickfit-v0.1.0`` and of the VisionFit-named stand-ins, in the REST API's ``params`` shape.

:data:`PARAMS` (stickfit-v0.1.0) mirrors VisionFit v0.4.0 (names, ranges, defaults) where
VisionFit has an equivalent, and keeps its order so job.json files read alike.
:data:`VISIONFIT_PARAMS` (``visionfit-v0.4.0`` and ``visionfit-flagship-v0.1.0``) is VisionFit
v0.4.0's full set of 28 keys in its job.json order, followed by the flagship's three booleans.
"""

from __future__ import annotations

import copy
from typing import Any

from ....params.distributions import Distribution, choice, integers, normal, uniform
from .appearance import OUTFITS
from .poses import EXERCISES, VISIONFIT_EXERCISES

__all__ = ["CONSTRAINTS", "PARAMS", "RECOMMENDED", "RECOMMENDED_CONSTRAINTS", "STICKFIT_SCENES", "VISIONFIT_PARAMS",
           "VISIONFIT_RECOMMENDED", "VISIONFIT_SCENES", "WALL_ART_TYPES"]

WALL_ART_TYPES = ["non_human", "misc_human"]
STICKFIT_SCENES = ["BEDROOM_2", "BEDROOM_4", "GYM_1", "LIVINGROOM_1", "OFFICE_1"]
"""stickfit-v0.1.0's rooms; the three added for the VisionFit names are not among its choices."""
VISIONFIT_SCENES = ["BEDROOM_2", "BEDROOM_4", "BEDROOM_5", "BEDROOM_6", "GYM_1", "LIVINGROOM_1", "LIVINGROOM_2",
                    "OFFICE_1"]
"""The eight VisionFit v0.4.0 scene names (rooms of :data:`scene.SCENES`)."""


def _num(name: str, kind: str, default: float | int, lo: float | int, hi: float | int, text: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": default,
            "options": {"min": lo, "max": hi}, "description": text}


def _choice(name: str, kind: str, default: Any, choices: list[Any], text: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": default,
            "options": {"choices": list(choices)}, "description": text}


PARAMS: list[dict[str, Any]] = [
    _choice("scene", "str", "BEDROOM_2", STICKFIT_SCENES, "Room the avatar exercises in."),
    _choice("exercise", "str", "SQUAT", list(EXERCISES), "Exercise the avatar repeats."),
    _choice("gender", "str", "MALE", ["MALE", "FEMALE"], "Presenting gender; changes body proportions."),
    _num("num_reps", "int", 2, 1, 20, "Number of repetitions of the exercise."),
    _num("inter_rep_delay_avg", "float", 0.5, 0.0, 2.0,
         "Mean pause between repetitions, in seconds."),
    _num("inter_rep_delay_var", "float", 0.1, 0.0, 2.0,
         "Half-width of the uniform spread of each pause around the mean, in seconds."),
    _num("rel_baseline_speed", "float", 1.0, 0.33, 3.0, "Exercise speed relative to its natural tempo."),
    _num("max_rel_speed_change", "float", 0.0, 0.0, 1.0,
         "Largest per-repetition speed change, as a fraction (0.5: each rep runs at 1/1.5x to 1.5x)."),
    _num("kinematic_noise_factor", "float", 1.0, 0.0, 2.0,
         "Scales the smooth random wobble added to every joint angle and rep depth."),
    _num("camera_distance", "float", 3.0, 1.0, 5.25, "Horizontal distance from camera to avatar, metres."),
    _num("camera_height", "float", 1.0, 0.1, 2.75, "Camera height above the floor, metres."),
    {"name": "add_wall_art", "type": "bool", "default_value": False, "options": None,
     "description": "Hang framed pictures on the walls as distractors."},
    _choice("wall_art_type", "str", "non_human", WALL_ART_TYPES,
            "Picture content: abstract shapes, or painted human figures."),
    _num("relative_height", "float", 0.0, -4.0, 4.0, "Body height offset (about 4% per unit)."),
    _num("relative_weight", "float", 0.0, -4.0, 4.0, "Body girth offset (about 9% per unit)."),
    _num("relative_camera_pitch_deg", "float", 0.0, -45.0, 45.0,
         "Camera pitch away from looking at the avatar, degrees; positive looks up."),
    _num("lighting_power", "float", 100.0, 0.0, 2000.0,
         "Power of the ceiling light; frames get brighter as it rises and saturate at high power."),
    _num("relative_avatar_angle_deg", "float", 0.0, -180.0, 180.0,
         "Avatar heading relative to facing the camera, degrees counter-clockwise seen from above."),
    _choice("frame_rate", "int", 12, [30, 24, 12, 8, 6], "Video frames per second."),
    _num("image_width", "int", 256, 128, 512, "Frame width, pixels."),
    _num("image_height", "int", 256, 128, 512, "Frame height, pixels."),
    {"name": "enable_sensor_noise", "type": "bool", "default_value": True, "options": None,
     "description": "Add signal-dependent sensor noise to the frames."},
    {"name": "state", "type": "uuid", "default_value": None, "options": None,
     "description": "ID of a previous job whose scene state seeds this one (the service seeds the "
                    "random generator from it); null for a fresh scene."},
    _num("relative_camera_yaw_deg", "float", 0.0, -45.0, 45.0,
         "Camera yaw away from looking at the avatar, degrees; positive turns left."),
]

# Where a sweep starts (served as the metadata's "recommended" extension; ``sesh.sample`` draws
# from it unless prior="uniform"). These are the distributions of Infinity's own VisionFit
# sampler (infinity-workflows' ``sample_input``): the camera within ±15° yaw and ±10° pitch of
# the avatar, 2.5-5 m away, on a square image. Rendered as previews by this generator, 300 of
# 300 such jobs had the person at least half in view (97% on average), where the whole ranges
# (±45° yaw and pitch, any aspect ratio) gave 14% half in view and 63% with nobody in view.
# Parameters not named are drawn over their whole range.
RECOMMENDED: dict[str, Distribution] = {
    "num_reps": integers(1, 10),
    "rel_baseline_speed": uniform(0.8, 1.25),
    "max_rel_speed_change": uniform(0.0, 0.2),
    "kinematic_noise_factor": choice([1.0]),
    "camera_distance": uniform(2.5, 5.0),
    "relative_height": normal(0.0, 1.0),
    "relative_weight": normal(0.0, 1.0),
    "relative_camera_yaw_deg": uniform(-15.0, 15.0),
    "relative_camera_pitch_deg": uniform(-10.0, 10.0),
    "lighting_power": uniform(10.0, 1000.0),
    "image_width": choice([256, 512]),
    "enable_sensor_noise": choice([True]),
}
RECOMMENDED_CONSTRAINTS: list[dict[str, Any]] = [
    # The focal length follows the longer side, so a narrow image crops the person away.
    {"name": "square_image", "expr": "image_width == image_height",
     "message": "a non-square image narrows the view along its shorter side and crops the person"},
]


def _bool(name: str, default: bool, text: str) -> dict[str, Any]:
    return {"name": name, "type": "bool", "default_value": default, "options": None, "description": text}


_STICKFIT = {p["name"]: p for p in PARAMS}


def _same(name: str, text: str | None = None, default: Any = None) -> dict[str, Any]:
    """A stickfit parameter as the VisionFit names take it, with its text or default changed."""
    spec = copy.deepcopy(_STICKFIT[name])
    if text is not None:
        spec["description"] = text
    if default is not None:
        spec["default_value"] = default
    return spec


_ATTIRE = "; ".join(f"{i}: {o.top}/{o.bottom}" for i, o in enumerate(OUTFITS))

# Ranges are those of VisionFit v0.3.1's published table where it has the parameter; the rest
# are chosen here (the real service's are unpublished) to cover what the clients draw.
VISIONFIT_PARAMS: list[dict[str, Any]] = [
    _choice("scene", "str", "BEDROOM_2", VISIONFIT_SCENES, "Room the avatar exercises in."),
    _choice("exercise", "str", "UPPERCUT-LEFT", list(VISIONFIT_EXERCISES),
            "Exercise the avatar repeats: the VisionFit names a standing stick figure can perform "
            "(numbered seed variants such as HIGH_KNEES_02 are variations of one movement)."),
    _same("gender"),
    _num("num_reps", "int", 1, 1, 20, "Number of repetitions of the exercise."),
    _num("inter_rep_delay_avg", "float", 0.5, 0.0, 2.0,
         "Mean pause between repetitions, in seconds (used when add_pauses is true)."),
    _num("inter_rep_delay_var", "float", 0.1, 0.0, 2.0,
         "Half-width of the uniform spread of each pause around the mean, in seconds; a pause "
         "drawn below zero is clipped to no pause."),
    _same("rel_baseline_speed"),
    _same("max_rel_speed_change"),
    _same("kinematic_noise_factor"),
    _same("camera_distance"),
    _same("camera_height", default=0.75),
    _same("add_wall_art"),
    _same("wall_art_type"),
    _num("avatar_identity", "int", 0, 0, 24,
         "Appearance ID: fixes the skin tone (one of five, identity mod 5) and small per-identity "
         "differences in limb, torso, shoulder and head proportions."),
    _num("outfit", "int", -1, -1, 4,
         f"Clothing ({_ATTIRE}): colours, which parts are covered, and info.avatar_attire_top/bottom "
         "in labels.json; -1 draws the outfit and its colours from the job's seed."),
    _bool("hide_shoes", False, "Take the shoes off: the feet are bare (skin), or in socks with add_socks."),
    _num("allowable_occlusion", "float", 100.0, 0.0, 100.0,
         "Most of the avatar, in percent, that the foreground furniture may hide in any frame: the "
         "furniture is lowered or left out so that every frame's percent_occlusion stays at or "
         "below it (0: never occluded)."),
    _same("relative_height"),
    _same("relative_weight"),
    _same("relative_camera_pitch_deg"),
    _same("lighting_power"),
    _same("relative_avatar_angle_deg"),
    _same("frame_rate", default=24),
    _same("image_width"),
    _same("image_height"),
    _same("enable_sensor_noise"),
    _same("state"),
    _same("relative_camera_yaw_deg"),
    _bool("randomize_skin_tone", False,
          "Draw the skin tone from the job's seed (anywhere between the five tones) instead of from "
          "avatar_identity. A flagship parameter; also taken by visionfit-v0.4.0 locally."),
    _bool("add_pauses", True,
          "Pause between repetitions for inter_rep_delay_avg ± inter_rep_delay_var seconds; false: "
          "each rep follows the last at once. A flagship parameter; also taken by visionfit-v0.4.0 locally."),
    _bool("add_socks", False,
          "Socks on the bare feet when hide_shoes is true (no effect with shoes on). A flagship "
          "parameter; also taken by visionfit-v0.4.0 locally."),
]


VISIONFIT_RECOMMENDED: dict[str, Distribution] = {
    **RECOMMENDED,
    "allowable_occlusion": uniform(0.0, 50.0),
    "randomize_skin_tone": choice([False]),
}
"""The workflows' ``sample_input`` over VisionFit's parameters (``avatar_identity``, ``outfit``,
the pauses and clothing coins are drawn over their whole range, as there)."""


# Advisory: a spread beyond the mean draws some negative pauses, which the timeline clips to
# none. infinity-core's sampler and the workflows' draw the two independently, and the real
# service takes every such job, so this one only steers our samplers.
CONSTRAINTS: list[dict[str, Any]] = [
    {"name": "inter_rep_delay_spread",
     "expr": "inter_rep_delay_var <= inter_rep_delay_avg",
     "message": "inter_rep_delay_var above inter_rep_delay_avg clips some pauses to none",
     "advisory": True},
]
