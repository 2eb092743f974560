"""The reliability suite: every test here is marked ``reliability``; the profile picks its size."""

from __future__ import annotations

from pathlib import Path

import pytest
from _reliability import PROFILE

HERE = Path(__file__).resolve().parent


def pytest_report_header(config: pytest.Config) -> str:
    return f"infinityframe reliability profile: {PROFILE.name} (INFINITYFRAME_RELIABILITY=quick|long)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
            if PROFILE.name == "long":
                item.add_marker(pytest.mark.timeout(1800))
