"""The parameters of ``stickfit-v0.1.0``, in the REST API's ``params`` shape.

They mirror VisionFit v0.4.0 (names, ranges, defaults) where VisionFit has an equivalent,
and keep its order so job.json files read alike.
"""

from __future__ import annotations

from typing import Any

from .motion import EXERCISES
from .scene import SCENES

__all__ = ["CONSTRAINTS", "PARAMS", "WALL_ART_TYPES"]

WALL_ART_TYPES = ["non_human", "misc_human"]


def _num(name: str, kind: str, default: float | int, lo: float | int, hi: float | int, text: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": default,
            "options": {"min": lo, "max": hi}, "description": text}


def _choice(name: str, kind: str, default: Any, choices: list[Any], text: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": default,
            "options": {"choices": list(choices)}, "description": text}


PARAMS: list[dict[str, Any]] = [
    _choice("scene", "str", "BEDROOM_2", sorted(SCENES), "Room the avatar exercises in."),
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

CONSTRAINTS: list[dict[str, Any]] = [
    {"name": "inter_rep_delay_spread",
     "expr": "inter_rep_delay_var <= inter_rep_delay_avg",
     "message": "inter_rep_delay_var may not exceed inter_rep_delay_avg (pauses cannot be negative)"},
]
