"""Infinity AI's own clients, unchanged, against a temporary local service (issue 14, item 1).

The clients are the verbatim copies in ``../shared/vendor`` (see its README): infinity-core (the
official Python client, its unit tests, its integration test and its docs) and
infinity-workflows (the VisionFit notebooks and their ``visionfit.utils``). Every test here is
skipped, with the reason, only when that folder is absent.

One service serves this folder. It is started while the tests are collected, because the tests
that run once per generator are parametrised over what that service lists at ``GET /api/jobs/``
(so a generator that joins the service joins these tests), and it is stopped when the session ends.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from _vendorlib import CORE, MISSING, WORKFLOWS, IntegrationRuns, generator_names, start_integration_runs

from _service import RunningService, start_service

HERE = Path(__file__).resolve().parent

if MISSING is None:  # in-process tests import infinity_core and visionfit from the vendored folders
    for folder in (WORKFLOWS, CORE):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    # Their docstrings' and regexes' "\s" and "\d" warn once, when first compiled: not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in ("infinity_core.batch", "infinity_core.session", "visionfit.utils.sampling"):
            importlib.import_module(module)

_started: dict[str, object] = {}


def _vendor_service() -> RunningService:
    if "service" not in _started:
        root = Path(tempfile.mkdtemp(prefix="infinityframe-vendor-"))
        _started["root"] = root
        # A balance no test here can run out of (the bulk tests have a service of their own).
        _started["service"] = start_service(root / "service", "--workers", "2", "--rate-limit", "0",
                                            "--balance", "1000000000")
    service = _started["service"]
    assert isinstance(service, RunningService)
    return service


def _served_generators() -> list[str]:
    if "generators" not in _started:
        svc = _vendor_service()
        _started["generators"] = generator_names(svc.url, svc.token)
    names = _started["generators"]
    assert isinstance(names, list)
    return names


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    service = _started.pop("service", None)
    if isinstance(service, RunningService):
        service.stop()
    root = _started.pop("root", None)
    if isinstance(root, Path):
        shutil.rmtree(root, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``generator``: every generator the service lists; ``visionfit``: those named visionfit-*."""
    for fixture, wanted in (("generator", lambda name: True), ("visionfit", lambda name: name.startswith("visionfit"))):
        if fixture not in metafunc.fixturenames:
            continue
        if MISSING is not None:
            metafunc.parametrize(fixture, [pytest.param("-", marks=pytest.mark.skip(reason=MISSING))])
            continue
        names = [name for name in _served_generators() if wanted(name)]
        metafunc.parametrize(fixture, names or [pytest.param("-", marks=pytest.mark.skip(
            reason=f"the service lists no generator for {fixture!r}"))])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    _started["integration selected"] = any(item.path.name == "test_core_integration.py" for item in mine)
    if MISSING is None:
        return
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="session")
def vendor_service() -> RunningService:
    """The service of this folder (the one whose generator list parametrised the tests)."""
    if MISSING is not None:
        pytest.skip(MISSING)
    return _vendor_service()


@pytest.fixture(scope="session")
def served_generators() -> list[str]:
    if MISSING is not None:
        pytest.skip(MISSING)
    return _served_generators()


@pytest.fixture(scope="session")
def integration_runs(vendor_service: RunningService, served_generators: list[str],
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntegrationRuns]:
    """infinity-core's integration test, running once per generator (test_core_integration.py waits)."""
    runs = start_integration_runs(vendor_service, served_generators, tmp_path_factory.mktemp("integration"))
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="session", autouse=True)
def _integration_runs_start_first(request: pytest.FixtureRequest) -> None:
    """Start those runs with this folder's first test: they mostly sleep (infinity-core polls every
    10 s), so they overlap the other tests here instead of adding ~40 s of their own."""
    if MISSING is None and _started.get("integration selected"):
        request.getfixturevalue("integration_runs")
