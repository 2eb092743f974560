"""infinity-core's own unit tests (``infinity_core/*_test.py``) pass with the project's pytest.

They need no service: they pin the client's request building, parameter validation and batch
bookkeeping, which the local service's behaviour is checked against elsewhere in this folder.
Run from a temporary copy, so its own ``pyproject.toml`` (markers, no ``--strict-markers`` of
ours) is the pytest config, as in its repository.
"""

from __future__ import annotations

from pathlib import Path

from _vendorlib import CORE, copy_writable, pytest_subprocess, summary_counts, vendor_env


def test_infinity_cores_own_unit_tests_pass(tmp_path: Path) -> None:
    copy = copy_writable(CORE, tmp_path / "infinity-core")
    unit_tests = sorted(p.name for p in (copy / "infinity_core").glob("*_test.py"))
    assert unit_tests == ["api_test.py", "batch_test.py", "session_test.py"]

    code, output = pytest_subprocess(["-q", "infinity_core"], cwd=copy, env=vendor_env(copy), timeout=180)

    counts = summary_counts(output)
    assert code == 0 and counts.get("passed", 0) > 0, output[-6000:]
    assert not {"failed", "error", "skipped", "xfailed"} & counts.keys(), output[-6000:]
