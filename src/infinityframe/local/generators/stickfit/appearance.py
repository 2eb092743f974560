"""Who the avatar is and what it wears: skin tone, clothing colours and coverage, footwear.

``stickfit-v0.1.0`` draws an identity and a random palette from the job's random generator
(:func:`random_look`). The VisionFit-named stand-ins take them from the parameters
(:func:`visionfit_look`):

* ``avatar_identity`` (0–24) fixes the skin tone (one of five, ``identity % 5``) and, through
  :func:`skeleton.make_body`, small per-identity differences in limb and torso proportions;
  ``randomize_skin_tone`` draws a skin tone between those five from the job's seed instead.
* ``outfit`` 0–4 is a fixed outfit from :data:`OUTFITS` (colours, which parts it covers, and
  the attire names of labels.json); −1 draws the outfit's cut and its colours from the seed.
* ``hide_shoes`` takes the shoes off. The feet are then bare (skin), or in socks when
  ``add_socks`` is also true; with shoes on, ``add_socks`` changes nothing (socks are inside).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .skeleton import PARTS

__all__ = ["OUTFITS", "Look", "Outfit", "random_look", "visionfit_look"]

RGB = tuple[float, float, float]

SKIN: list[RGB] = [(0.96, 0.80, 0.69), (0.87, 0.67, 0.52), (0.72, 0.52, 0.38), (0.55, 0.38, 0.26),
                   (0.36, 0.24, 0.16)]
TOPS: list[RGB] = [(0.80, 0.15, 0.15), (0.15, 0.35, 0.75), (0.20, 0.60, 0.30), (0.90, 0.75, 0.20),
                   (0.55, 0.25, 0.60), (0.92, 0.92, 0.92), (0.15, 0.15, 0.17), (0.95, 0.50, 0.15)]
BOTTOMS: list[RGB] = [(0.12, 0.14, 0.25), (0.20, 0.20, 0.22), (0.35, 0.30, 0.25), (0.10, 0.25, 0.45),
                      (0.45, 0.45, 0.48)]
SHOES: list[RGB] = [(0.9, 0.9, 0.9), (0.1, 0.1, 0.1), (0.7, 0.2, 0.2), (0.3, 0.3, 0.6)]
SOCKS: list[RGB] = [(0.97, 0.97, 0.97), (0.08, 0.08, 0.09), (0.55, 0.55, 0.58), (0.85, 0.2, 0.25)]


@dataclass(frozen=True)
class Outfit:
    """A cut of clothes: names for labels.json, colours, and what the arms and legs show.

    ``upper_arm``, ``forearm`` and ``shin`` are ``"top"``, ``"bottom"`` or ``"skin"``: a tank
    top bares the upper arms, a long sleeve covers the forearms, shorts bare the shins.
    """

    top: str
    bottom: str
    top_rgb: RGB
    bottom_rgb: RGB
    upper_arm: str = "top"
    forearm: str = "skin"
    shin: str = "bottom"


OUTFITS: list[Outfit] = [
    Outfit("tshirt", "jeans", (0.88, 0.88, 0.85), (0.16, 0.26, 0.48)),
    Outfit("tank_top", "shorts", (0.82, 0.14, 0.16), (0.10, 0.10, 0.12), upper_arm="skin", shin="skin"),
    Outfit("long_sleeve", "leggings", (0.18, 0.56, 0.36), (0.12, 0.12, 0.16), forearm="top"),
    Outfit("hoodie", "sweatpants", (0.46, 0.47, 0.52), (0.30, 0.30, 0.34), forearm="top"),
    Outfit("polo", "trousers", (0.95, 0.72, 0.16), (0.36, 0.31, 0.24)),
]
"""The outfits ``outfit`` 0–4 name, in order."""

# stickfit-v0.1.0's look: a t-shirt (upper arms covered) and trousers, reported as such.
_STICKFIT_ATTIRE = ("tshirt", "trousers")


@dataclass(frozen=True)
class Look:
    """The avatar's appearance.

    Attributes
    ----------
    identity : int
        The identity reported as ``info.avatar_identity``.
    colors : dict
        RGB in [0, 1] of ``"skin"``, ``"top"``, ``"bottom"`` and ``"feet"``.
    wear : tuple of str
        For each of :data:`skeleton.PARTS`, what its surface shows: ``"skin"``, ``"top"``,
        ``"bottom"``, ``"shoes"`` or ``"socks"`` (bare feet are ``"skin"``).
    attire_top, attire_bottom, footwear : str
        Names for labels.json (``footwear`` is ``"shoes"``, ``"socks"`` or ``"barefoot"``).
    """

    identity: int
    colors: dict[str, RGB]
    wear: tuple[str, ...]
    attire_top: str
    attire_bottom: str
    footwear: str

    def color_of(self, part_index: int) -> RGB:
        """The RGB colour part ``part_index`` of :data:`skeleton.PARTS` is painted in."""
        kind = self.wear[part_index]
        return self.colors["feet" if kind in ("shoes", "socks") else kind]


def random_look(rng: np.random.Generator) -> Look:
    """stickfit-v0.1.0's look: identity, top, bottom and shoes drawn from ``rng`` in that order."""
    identity = int(rng.integers(0, 25))
    colors = {"skin": SKIN[identity % len(SKIN)], "top": TOPS[int(rng.integers(len(TOPS)))],
              "bottom": BOTTOMS[int(rng.integers(len(BOTTOMS)))], "feet": SHOES[int(rng.integers(len(SHOES)))]}
    wear = tuple(part.clothing for part in PARTS)
    return Look(identity, colors, wear, *_STICKFIT_ATTIRE, "shoes")


def _interpolated_skin(position: float) -> RGB:
    """A skin tone ``position`` of the way along the five tones (0 lightest, 4 darkest)."""
    i = min(int(position), len(SKIN) - 2)
    t = position - i
    a, b = np.array(SKIN[i]), np.array(SKIN[i + 1])
    r, g, bl = ((1.0 - t) * a + t * b).tolist()
    return (r, g, bl)


def visionfit_look(params: dict[str, Any], rng: np.random.Generator) -> Look:
    """The look of a VisionFit-named job, from its parameters and ``rng`` (see the module docstring).

    ``rng`` is drawn from the same number of times whatever the parameters, so switching one
    appearance parameter leaves the seed's other choices where they were.

    >>> params = {"avatar_identity": 3, "outfit": 1, "hide_shoes": True, "add_socks": False,
    ...           "randomize_skin_tone": False}
    >>> look = visionfit_look(params, np.random.default_rng(0))
    >>> look.attire_top, look.attire_bottom, look.footwear, look.colors["skin"] == SKIN[3]
    ('tank_top', 'shorts', 'barefoot', True)
    """
    drawn_outfit = int(rng.integers(len(OUTFITS)))
    drawn_top, drawn_bottom = TOPS[int(rng.integers(len(TOPS)))], BOTTOMS[int(rng.integers(len(BOTTOMS)))]
    shoes, socks = SHOES[int(rng.integers(len(SHOES)))], SOCKS[int(rng.integers(len(SOCKS)))]
    tone = float(rng.uniform(0.0, len(SKIN) - 1))

    identity = int(params["avatar_identity"])
    skin = _interpolated_skin(tone) if params.get("randomize_skin_tone", False) else SKIN[identity % len(SKIN)]
    chosen = int(params["outfit"])
    outfit = OUTFITS[drawn_outfit if chosen < 0 else chosen]
    top, bottom = (drawn_top, drawn_bottom) if chosen < 0 else (outfit.top_rgb, outfit.bottom_rgb)
    if not params["hide_shoes"]:
        footwear, feet = "shoes", shoes
    elif params.get("add_socks", False):
        footwear, feet = "socks", socks
    else:
        footwear, feet = "barefoot", skin
    by_part = {"upper_arm": outfit.upper_arm, "forearm": outfit.forearm, "shin": outfit.shin,
               "foot": "skin" if footwear == "barefoot" else footwear}
    wear = tuple(next((v for k, v in by_part.items() if part.name.endswith(k)), part.clothing) for part in PARTS)
    return Look(identity, {"skin": skin, "top": top, "bottom": bottom, "feet": feet}, wear,
                outfit.top, outfit.bottom, footwear)
