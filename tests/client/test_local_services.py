"""The registry of embedded services: start, reuse by data dir, stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infinityframe.client.local_services import LocalServices


@pytest.fixture
def registry() -> Iterator[LocalServices]:
    made = LocalServices()
    yield made
    made.stop()


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/", timeout=2).ok
    except requests.RequestException:
        return False


def test_one_service_per_data_dir_reused_then_stopped(registry: LocalServices, tmp_path: Path) -> None:
    first = registry.endpoint(tmp_path / "a", executor="thread")
    again = registry.endpoint(tmp_path / "a", executor="thread")
    other = registry.endpoint(tmp_path / "b", executor="thread")
    assert first.in_process and again == first
    assert other.url != first.url and other.token != first.token
    assert registry.running(tmp_path / "a") is not None and answers(first.url)
    assert first.token not in repr(first) and first.token not in repr(registry)

    registry.stop()
    assert registry.running(tmp_path / "a") is None and registry.running(tmp_path / "b") is None
    assert not answers(first.url) and not answers(other.url)

    restarted = registry.endpoint(tmp_path / "a", executor="thread")
    assert restarted.in_process and restarted.token == first.token  # the data dir keeps its token
    assert answers(restarted.url)


def test_another_registrys_service_is_used_not_started_twice(registry: LocalServices, tmp_path: Path) -> None:
    elsewhere = LocalServices()  # as another process would hold it: found through the data dir's record
    try:
        theirs = elsewhere.endpoint(tmp_path, executor="thread")
        ours = registry.endpoint(tmp_path, executor="thread")
        assert ours.url == theirs.url and not ours.in_process
        assert registry.running(tmp_path) is None
    finally:
        elsewhere.stop()


def test_stopping_some_data_dirs_stops_those_alone(registry: LocalServices, tmp_path: Path) -> None:
    a = registry.endpoint(tmp_path / "a", executor="thread")
    b = registry.endpoint(tmp_path / "b", executor="thread")
    assert registry.roots() == {tmp_path / "a", tmp_path / "b"}
    registry.stop(set())  # none named: none stopped
    assert answers(a.url) and answers(b.url)
    registry.stop([tmp_path / "a"])
    assert not answers(a.url) and answers(b.url)
    assert registry.roots() == {tmp_path / "b"}
