"""``shapes-v0.1.0``: procedural still images of simple shapes for object detection.

The generator lives in :mod:`.generator`; the image drawing (backgrounds, placement,
occlusion, lighting) in :mod:`.scene`.
"""

from .generator import Shapes

__all__ = ["Shapes"]
