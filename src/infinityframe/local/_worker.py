"""The first code a render worker runs: the package without its front door.

A spawned worker unpickles its task, :func:`~infinityframe.local.rendering.execute_job`, and
importing ``infinityframe.local.rendering`` the ordinary way first runs
``infinityframe/__init__.py``: it registers the pandas and polars accessors and loads the
client, so pandas, polars, pyarrow and requests, most of a second of every worker's start, for
nothing a job renders with. :func:`~infinityframe.local.rendering.process_pool` has
multiprocessing run this file by path (as ``__mp_main__``) before the task is unpickled. It
puts a bare ``infinityframe`` package into ``sys.modules``: its subpackages import as usual
(``local``, ``params``, the generators), its ``__init__.py`` does not run. The first public
name asked of it (a third-party generator's ``inf.uniform``, say) runs the real
``__init__.py`` into it, so nothing is missing; it is only paid for when used.

Imported as a module (by the type checker or a test), it does nothing: :func:`install` does
the work, and running the file calls it.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["PACKAGE", "install"]

PACKAGE = "infinityframe"
_INIT = Path(__file__).resolve().parent.parent / "__init__.py"


def install() -> types.ModuleType:
    """Put the bare package into ``sys.modules`` (unless the package is imported already); returns it."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(PACKAGE, _INIT, submodule_search_locations=[str(_INIT.parent)])
    if spec is None:  # pragma: no cover - only if the file were gone
        raise ImportError(f"cannot find the package at {_INIT}")
    package = importlib.util.module_from_spec(spec)

    def complete(name: str) -> Any:
        # Probes for special names (inspect's __wrapped__, say) must not pay for the whole package.
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        del package.__dict__["__getattr__"]
        exec(compile(_INIT.read_bytes(), str(_INIT), "exec"), package.__dict__)
        return getattr(package, name)

    package.__dict__["__getattr__"] = complete
    sys.modules[PACKAGE] = package
    return package


if __name__ in ("__main__", "__mp_main__"):
    install()
