"""What a generator plugin is, and how the service checks jobs against it.

A generator declares its parameters in the REST API's ``params`` shape::

    {"name": "camera_distance", "type": "float", "default_value": 3.0,
     "options": {"min": 1.0, "max": 5.25}, "description": "metres from the avatar"}

plus optional joint ``constraints``, each ``{"name", "expr", "message"}`` where ``expr``
is a boolean expression over parameter names (``"inter_rep_delay_var <= inter_rep_delay_avg"``)
that pandas ``DataFrame.eval`` and :func:`evaluate_constraint` both understand.

It estimates what a job costs (``estimate``) and renders it into a folder (``render``).
Rendering must depend only on the parameters and the random generator it is given, so
the same job renders the same bytes on any worker.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...params.rules import JobError, complete_params, evaluate_constraint, validate_job

__all__ = [
    "Generator",
    "JobError",
    "complete_params",
    "evaluate_constraint",
    "validate_job",
]

JSON = dict[str, Any]


class Generator(abc.ABC):
    """Base class of the service's generators (entry-point group ``infinityframe.generators``).

    Subclasses set :attr:`name`, :attr:`params` and optionally :attr:`constraints`,
    :attr:`supports_preview`, :attr:`description`, and implement :meth:`estimate` and
    :meth:`render`.
    """

    name: ClassVar[str]
    params: ClassVar[list[JSON]]
    constraints: ClassVar[list[JSON]] = []
    supports_preview: ClassVar[bool] = True
    description: ClassVar[str] = ""

    @property
    def version(self) -> str:
        """The version part of the generator name (``"stickfit-v0.1.0"`` → ``"0.1.0"``)."""
        return self.name.rsplit("-v", 1)[-1]

    def metadata(self) -> JSON:
        """The generator in the shape of ``GET /api/jobs/{name}/``."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "params": [dict(p) for p in self.params],
            "options": {"preview": self.supports_preview},
            "constraints": [dict(c) for c in self.constraints],
        }

    @property
    def defaults(self) -> JSON:
        """Every parameter at its default value."""
        return {p["name"]: p["default_value"] for p in self.params}

    @abc.abstractmethod
    def estimate(self, params: JSON, preview: bool) -> int:
        """Samples (frames) the job is expected to cost; ``params`` are complete and valid."""

    @abc.abstractmethod
    def render(self, params: JSON, preview: bool, out_dir: Path, rng: np.random.Generator) -> int:
        """Render one job into ``out_dir`` (which exists and is empty).

        Returns the number of samples (frames) actually rendered, which the service charges.
        """
