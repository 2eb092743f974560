"""Schemathesis against the service's own /openapi.json: no 5xx, and every answer as documented.

Runs the schemathesis CLI in a subprocess (examples, coverage, fuzzing and stateful phases) with
the account's token supplied, checking: no server error, the status code, the content type, the
response headers and the response body against the schema of that status.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _reliability import PROFILE, report

from _service import start_service

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")


def schemathesis_command() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[dev]'")
    return [found]


def test_openapi_contract_holds_under_schemathesis(tmp_path: Path) -> None:
    # A small balance: generated batches that are valid get accepted and rendered, then 402s.
    svc = start_service(tmp_path / "service", "--workers", "1", "--rate-limit", "0", "--balance", "300")
    try:
        out = subprocess.run(
            [*schemathesis_command(), "run", f"{svc.url}/openapi.json",
             "--header", f"Authorization: Token {svc.token}", "--checks", ",".join(CHECKS),
             "--max-examples", str(PROFILE.schemathesis_examples), "--seed", "20261122", "--workers", "1",
             "--request-timeout", "60", "--report", "junit", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=1500, cwd=tmp_path,
        )
    finally:
        svc.stop()
    tail = out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0, tail
    summary = next((line for line in out.stdout.splitlines() if " generated, " in line), "")
    report("schemathesis", examples=PROFILE.schemathesis_examples, summary=summary.strip(), checks=CHECKS,
           held=True)
