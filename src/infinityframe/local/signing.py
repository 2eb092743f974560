"""Signed, expiring result URLs: what an object store's pre-signed URL is to the cloud.

``/results/<job_id>.zip?expires=<unix seconds>&signature=<hex HMAC-SHA256>`` needs no
``Authorization`` header, stops working after ``expires`` and cannot be altered to reach
another job, because the signature covers both the job id and the expiry.

Written on the standard library's ``hmac`` rather than a signing library (itsdangerous and the
like): the URL's shape is the cloud's (an expiry and a hex signature as query parameters, which
such libraries encode their own way), and the whole scheme is one HMAC and one constant-time
comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from .private import write_private

__all__ = ["Signer"]


class Signer:
    """Signs and checks result URLs with a key kept in the data dir (mode 0600)."""

    def __init__(self, key: bytes, ttl: float = 3600.0) -> None:
        self._key = key
        self.ttl = ttl

    @classmethod
    def from_data_dir(cls, data_dir: Path, ttl: float = 3600.0) -> Signer:
        path = Path(data_dir) / "signing.key"
        if not path.exists():
            # 0600 from its first byte, and never replacing a key another process made first
            write_private(path, secrets.token_bytes(32), replace=False)
        return cls(path.read_bytes(), ttl)

    def _signature(self, job_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{job_id}.{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, base_url: str, job_id: str, now: float | None = None) -> str:
        """The signed URL of a job's result zip on the server at ``base_url``."""
        expires = int((time.time() if now is None else now) + self.ttl)
        query = urlencode({"expires": expires, "signature": self._signature(job_id, expires)})
        return f"{base_url.rstrip('/')}/results/{job_id}.zip?{query}"

    def check(self, job_id: str, expires: int, signature: str, now: float | None = None) -> str | None:
        """Why the URL is refused (``"expired"``, ``"bad signature"``), or ``None`` if valid.

        ``signature`` may be any text: it is compared as UTF-8 bytes, since
        :func:`hmac.compare_digest` refuses a ``str`` that is not ASCII.
        """
        given = signature.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(self._signature(job_id, expires).encode(), given):
            return "bad signature"
        if expires < (time.time() if now is None else now):
            return "expired"
        return None
