"""Result zips are served the same whether they are read into memory (small) or streamed (large)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infinityframe.client.asgi import ASGIAdapter
from infinityframe.local.routes import results
from infinityframe.local.server import in_process_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Any, requests.Session]]:
    with in_process_app(tmp_path / "data") as (application, _):
        session = requests.Session()
        session.mount("http://local.test", ASGIAdapter(application))
        yield application, session


@pytest.mark.parametrize("size", [0, 100_000, results.SENT_FROM_MEMORY, results.SENT_FROM_MEMORY + 1, 3_000_000])
def test_small_and_large_zips_are_sent_alike(app: tuple[Any, requests.Session], size: int) -> None:
    application, session = app
    state = application.state.service
    job_id = str(uuid.uuid4())
    data = os.urandom(size)
    (state.data_dir / "results").mkdir(exist_ok=True)
    (state.data_dir / "results" / f"{job_id}.zip").write_bytes(data)
    reply = session.get(state.signer.url("http://local.test", job_id), timeout=30)
    assert reply.status_code == 200 and reply.content == data
    assert reply.headers["content-type"] == "application/zip"
    assert reply.headers["content-length"] == str(size)
    assert reply.headers["content-disposition"] == f'attachment; filename="{job_id}.zip"'


def test_a_missing_zip_is_404_and_a_bad_signature_403(app: tuple[Any, requests.Session]) -> None:
    application, session = app
    signer = application.state.service.signer
    job_id = str(uuid.uuid4())
    assert session.get(signer.url("http://local.test", job_id), timeout=30).status_code == 404
    tampered = signer.url("http://local.test", job_id).replace("signature=", "signature=0")
    assert session.get(tampered, timeout=30).status_code == 403
