"""What makes two jobs, or two submissions, the same: content keys.

A job's key hashes where it goes (the service and account, :func:`infinityframe.client.records.origin`),
its generator, whether it is a preview, and its parameters, with ``3`` and ``3.0`` alike (the
service takes them as the same value). The client keys its submission records by them, so a
re-run script reattaches instead of paying twice, and ``df.infinity.join`` matches the rows of a
submitted frame to their results by them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["content_key", "job_key"]


def content_key(origin: str, generator: str, preview: bool, name: str, jobs: Sequence[dict[str, Any]],
                derived_from: dict[str, Any] | None = None) -> str:
    """The hash that makes two submissions the same one (64 hex characters).

    ``origin`` is :func:`infinityframe.client.records.origin`'s answer. ``derived_from`` (the
    jobs a promotion or a retry derives from) is part of the content, so that retrying a
    batch's failed jobs never reattaches to the batch where they failed.
    """
    content: dict[str, Any] = {"origin": origin, "generator": generator, "preview": bool(preview),
                               "name": name, "jobs": [{k: _canonical(v) for k, v in job.items()} for job in jobs]}
    if derived_from:
        content["derived_from"] = derived_from
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(canonical).hexdigest()


def _canonical(value: Any) -> Any:
    # 3 and 3.0 are the same parameter value to the service, so they must hash alike.
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def job_key(origin: str, generator: str, preview: bool, params: dict[str, Any]) -> str:
    """The hash that makes two jobs the same job: where (:func:`~infinityframe.client.records.origin`),
    generator, preview or not, parameters."""
    canonical = orjson.dumps(
        {"origin": origin, "generator": generator, "preview": bool(preview),
         "params": {k: _canonical(v) for k, v in params.items()}},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()
