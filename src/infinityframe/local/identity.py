"""The service's identity: a random id kept in its data dir, the same across restarts and ports.

The embedded service listens on a free port that changes at every start, so its URL cannot
say which service a submission went to. The id in ``<data_dir>/service_id`` can: clients key
their submission records on it (see ``client/records.py``), so re-running a script against a
restarted service reattaches to the batches it already paid for. It names nothing private
(it is random, not derived from the path) and is served in the root answer, the generator
metadata and ``/api/account/``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from .private import write_private

__all__ = ["service_id"]

FILE = "service_id"


def service_id(data_dir: Path, *, create: bool = False) -> str | None:
    """The id of the service whose data dir this is; made (atomically) when ``create`` and absent."""
    path = Path(data_dir) / FILE
    try:
        found = path.read_text().strip()
    except FileNotFoundError:
        found = ""
    if found or not create:
        return found or None
    write_private(path, uuid.uuid4().hex.encode(), replace=False)  # never replaces an id another process wrote
    return path.read_text().strip()
