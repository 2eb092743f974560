"""The ```python blocks of infinity-core's docs (``docs/source/*.md``), run against the local service.

Each block runs as a script in a fresh interpreter, in a temporary working directory, changed
only to point at the local service:

* its ``infinity_core`` imports import ``local_infinity_core`` instead: the same modules, with
  every ``server`` parameter defaulting to the local service's URL (written here, below);
* the token placeholders (``"TOKEN"``, ``"MY_TOKEN"``) are the service's token, and the ``TOKEN``
  and ``SERVER`` names the docs use without defining are set first;
* the batch id placeholders (``"unique-batch-id"``, ``"UPPERCUT_BATCH_ID"``) are a real batch's;
* the generator, ``visionfit-v0.3.1`` or ``visionfit``, is ``visionfit-v0.4.0`` (the local
  service has no older VisionFit).

Most blocks are sketches that do not run as written, against any server: each of those is a
strict xfail naming the exact error, and fails if it fails any other way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _vendorlib import CORE, MISSING, KnownFailure, vendor_env

from _service import RunningService

DOCS = CORE / "docs" / "source"

SHIM = '''"""infinity_core with the local service as every server default (tests/vendor/test_core_docs.py)."""
import functools
import importlib
import inspect
import os

SERVER = os.environ["LOCAL_INFINITY_SERVER"]


def bind(name, namespace):
    module = importlib.import_module(f"infinity_core.{name}")
    for key, value in vars(module).items():
        if key.startswith("__"):
            continue
        if (inspect.isfunction(value) or key == "Session") and "server" in inspect.signature(value).parameters:
            value = _with_local_server(value)
        namespace[key] = value


def _with_local_server(fn):
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            given = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:  # a bad call: let the function itself say so
            given = {"server": None}
        if "server" not in given:
            kwargs["server"] = SERVER
        return fn(*args, **kwargs)

    return call
'''


def _blocks() -> list[tuple[str, str]]:
    """(id, code) of every ```python block, the id from the file, its index and the heading above it."""
    if MISSING is not None:
        return []
    found = []
    for md in sorted(DOCS.glob("*.md")):
        text = md.read_text()
        for i, match in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)):
            headings = re.findall(r"^#+ (.+)$", text[:match.start()], re.M)
            slug = re.sub(r"[^a-z0-9]+", "-", (headings[-1] if headings else "").lower()).strip("-")
            found.append((f"{md.stem}-{i}-{slug}", match.group(1)))
    return found


# Blocks that do not run as written, on any server: the exact last line of the error each one
# stops with, and why.
EXPECTED_ERRORS = {
    "getting_started-1-using-a-session-advanced": (
        "TypeError: Session.__init__() got an unexpected keyword argument 'name'",
        "Session(token, name=..., generator) takes no name (and truncnorm, pprint are never imported)"),
    "getting_started-2-using-a-session-api-utilities": (
        "TypeError: Session.__init__() got an unexpected keyword argument 'name'",
        "Session(token, name=..., generator) takes no name (and jp[\"image_width\": 512] is not an assignment)"),
    "getting_started-3-using-the-batch-module-directly": (
        "IndentationError: unexpected indent", "the block is indented by one space"),
    "module_summaries-0-api": (
        "NameError: name 'api' is not defined", "it imports infinity_core.api but calls api.get_openapi_schema"),
    "module_summaries-1-basic-usage": (
        "AttributeError: module 'local_infinity_core.api' has no attribute 'post_standard_job'",
        "infinity_core.api has no post_standard_job (nor does the block define token)"),
    "module_summaries-2-basic-usage": (
        "SyntaxError: invalid syntax", "assert all[e is None for e in errors] is not Python"),
    "module_summaries-3-basic-usage": (
        "IndentationError: unexpected indent", "the block is indented by one space"),
}


def _localise(code: str, token: str, url: str, batch_id: str) -> str:
    lines = []
    for line in code.splitlines():
        if re.match(r"\s*(from|import)\s+infinity_core\b", line):
            line = re.sub(r"\binfinity_core\b", "local_infinity_core", line, count=1)
        line = re.sub(r"""(["'])(MY_TOKEN|TOKEN)\1""", repr(token), line)
        line = re.sub(r"""(["'])(visionfit-v0\.3\.1|visionfit)\1""", repr("visionfit-v0.4.0"), line)
        line = re.sub(r"""(["'])(unique-batch-id|UPPERCUT_BATCH_ID)\1""", repr(batch_id), line)
        lines.append(line)
    return f"TOKEN, SERVER = {token!r}, {url!r}\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def real_batch_id(vendor_service: RunningService) -> str:
    """A real batch (two small VisionFit videos) for the docs' batch id placeholders."""
    from infinity_core.session import Session

    sesh = Session(token=vendor_service.token, generator="visionfit-v0.4.0", server=vendor_service.url)
    jobs = [{"num_reps": 1, "frame_rate": 6, "exercise": "UPPERCUT-RIGHT"}] * 2
    return sesh.submit(jobs, batch_name="a batch for the docs' id placeholders").batch_id


def _shim(root: Path) -> Path:
    package = root / "local_infinity_core"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_bind.py").write_text(SHIM)
    for name in ("api", "batch", "session", "data_structures"):
        module = f"from local_infinity_core._bind import bind\n\nbind({name!r}, globals())\n"
        (package / f"{name}.py").write_text(module)
    return root


def _params() -> list[object]:
    return [pytest.param(code, id=block_id, marks=[pytest.mark.xfail(
        strict=True, raises=KnownFailure,
        reason=f"does not run as written: {EXPECTED_ERRORS[block_id][1]} ({EXPECTED_ERRORS[block_id][0]})")]
        if block_id in EXPECTED_ERRORS else []) for block_id, code in _blocks()] or [
        pytest.param("", id="none", marks=pytest.mark.skip(reason=MISSING or "no python blocks in the docs"))]


def test_the_docs_have_python_blocks() -> None:
    if MISSING is not None:
        pytest.skip(MISSING)
    ids = [block_id for block_id, _ in _blocks()]
    assert len(ids) == 9, ids
    assert set(EXPECTED_ERRORS) <= set(ids)


@pytest.mark.slow
@pytest.mark.parametrize("code", _params())
def test_docs_block_runs_against_the_local_service(code: str, vendor_service: RunningService, real_batch_id: str,
                                                   tmp_path: Path, request: pytest.FixtureRequest) -> None:
    script = tmp_path / "block.py"
    script.write_text(_localise(code, vendor_service.token, vendor_service.url, real_batch_id))
    shim = _shim(tmp_path / "shim")
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=vendor_env(shim, CORE, LOCAL_INFINITY_SERVER=vendor_service.url))
    if run.returncode == 0:
        return
    last = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
    block_id = request.node.callspec.id
    expected = EXPECTED_ERRORS.get(block_id, (None, ""))[0]
    report = f"{block_id} failed:\n--- script\n{script.read_text()}\n--- stdout\n{run.stdout[-3000:]}\n" \
             f"--- stderr\n{run.stderr[-5000:]}"
    if expected is not None and last == expected:
        raise KnownFailure(report)
    pytest.fail(report)
