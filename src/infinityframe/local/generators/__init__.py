"""The generator registry: built-ins plus plugins from the ``infinityframe.generators`` entry points.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."infinityframe.generators"]
    "mygen-v0.1.0" = "mypackage.generator:MyGenerator"

where ``MyGenerator`` subclasses :class:`infinityframe.local.generators.base.Generator`.
"""

from __future__ import annotations

import functools
import importlib
import logging
from importlib.metadata import entry_points

from .base import Generator

__all__ = ["Generator", "available", "get"]

log = logging.getLogger(__name__)

# Built-ins are also declared as entry points; this keeps them available when the package
# runs from a source tree whose metadata is not installed.
_BUILTIN = {
    "stickfit-v0.1.0": "infinityframe.local.generators.stickfit:StickFit",
    "visionfit-v0.4.0": "infinityframe.local.generators.stickfit:VisionFit",
    "visionfit-flagship-v0.1.0": "infinityframe.local.generators.stickfit:VisionFitFlagship",
    "shapes-v0.1.0": "infinityframe.local.generators.shapes:Shapes",
}


def _load(target: str) -> Generator:
    module, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    generator = obj() if isinstance(obj, type) else obj
    if not isinstance(generator, Generator):
        raise TypeError(f"{target} is not an infinityframe Generator")
    return generator


@functools.cache
def available() -> dict[str, Generator]:
    """Every generator the service can run, by name."""
    found: dict[str, str] = dict(_BUILTIN)
    for ep in entry_points(group="infinityframe.generators"):
        found[ep.name] = ep.value
    generators: dict[str, Generator] = {}
    for name, target in sorted(found.items()):
        try:
            generator = _load(target)
        except Exception:  # a broken plugin must not take the service down
            log.exception("could not load generator plugin %s (%s)", name, target)
            continue
        if generator.name != name:
            log.error("generator plugin %s declares the name %s; skipped", name, generator.name)
            continue
        generators[name] = generator
    return generators


def get(name: str) -> Generator | None:
    """The generator called ``name``, or ``None``."""
    return available().get(name)
