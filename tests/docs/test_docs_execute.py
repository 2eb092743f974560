"""Every ```python block of README.md and docs/**/*.md runs, page by page, as a reader would run it.

A page's blocks run in order in one namespace, as if pasted one after another into one
notebook, in a fresh temporary working directory, against the embedded local service on a
temporary data dir (``$INFINITYFRAME_DATA_DIR``, so ``inf.Session.local()`` without a
``data_dir`` finds it), with submission records and the results cache in a temporary cache
dir. Tracebacks point at the page's own lines.

What a page assumes (a finished batch, a downloaded folder) is declared in ``ASSUMES`` and
must be said on the page, in a paragraph with "assume" that names each thing in backticks.
The line before a block (blank lines aside) may hold a marker:

- ``<!-- skip: reason -->``: the block is not run; a marker without a reason fails the test;
- ``<!-- script -->``: the block is run on its own as a ``.py`` file by a fresh interpreter,
  for what only holds in a script (worker processes that import it again);
- ``<!-- run -->`` before a ``bash`` block: it is run by bash (``-euo pipefail``), with this
  Python's ``infinityframe`` command on the PATH, on the same service.

A marker not right before a block of its kind fails the test. Other ``bash`` blocks, and
``text`` and output blocks, are not run.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# The small settings of the fixtures' batches: a stickfit job then renders in well under a second.
SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}

# What each page assumes it is given, as the page says: names put into its namespace, and
# paths (with a "/") made in its working directory.
ASSUMES: dict[str, tuple[str, ...]] = {
    "docs/client.md": ("previews",),
    "docs/plots.md": ("batch", "res", "previews"),
    "docs/results.md": ("batch",),
    "docs/scale-out.md": ("downloads/batch-0",),
}

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>skip|script|run)\b(?P<rest>.*?)-->\s*$")
_MARKS = {"skip": "python", "script": "python", "run": "bash"}  # the block each marker goes with


@dataclass(frozen=True)
class Block:
    """One fenced code block: where its code starts (1-based), its language, its code, and the
    marker before it, if any (``skip``, with its reason; ``script``; ``run``)."""

    line: int
    lang: str
    code: str
    marker: str | None = None
    reason: str = ""

    @property
    def runs(self) -> bool:
        """Whether the test runs it: an unskipped python block, or a bash block marked ``run``."""
        return (self.lang == "python" and self.marker != "skip") or (self.lang == "bash" and self.marker == "run")


def read_blocks(page: Path) -> list[Block]:
    """The page's fenced blocks, with their markers; a skip marker without a reason, or a
    marker not right before a block of its language, is an error naming its line."""
    lines = page.read_text().split("\n")
    blocks: list[Block] = []
    marker: tuple[int, str, str] | None = None  # (line, kind, reason) of a marker waiting for its block

    def stray() -> ValueError:
        assert marker is not None
        return ValueError(f"{page.name}:{marker[0]}: a {marker[1]} marker not followed by a {_MARKS[marker[1]]} block")

    i = 0
    while i < len(lines):
        if (found := _MARKER.match(lines[i])) is not None:
            if marker is not None:
                raise stray()
            reason = found["rest"].strip().removeprefix(":").strip()
            if found["kind"] == "skip" and not reason:
                raise ValueError(f"{page.name}:{i + 1}: a skip marker needs a reason: <!-- skip: why it cannot run -->")
            marker = (i + 1, found["kind"], reason)
        elif (fence := _FENCE.match(lines[i])) is not None:
            start, indent = i + 1, len(fence["indent"])
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                i += 1
            lang = fence["lang"] or "text"
            if marker is not None and lang != _MARKS[marker[1]]:
                raise stray()
            code = "\n".join(line[indent:] for line in lines[start:i])
            blocks.append(Block(start + 1, lang, code, *(marker[1:] if marker else ())))
            marker = None
        elif marker is not None and lines[i].strip():
            raise stray()
        i += 1
    if marker is not None:
        raise stray()
    return blocks


def as_source(block: Block) -> str:
    """The block's code, preceded by blank lines so that its line numbers are the page's."""
    return "\n" * (block.line - 1) + block.code + "\n"


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


# -- what the pages assume, made once --------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The embedded service on a temporary data dir, and the batches the pages assume: ``batch``
    (six small stickfit videos, finished, read as ``res``), ``previews`` (six finished previews)
    and ``folder``, ``batch`` downloaded."""
    root = tmp_path_factory.mktemp("docs-world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFINITYFRAME_DATA_DIR", str(root / "data"))
        mp.setenv("INFINITYFRAME_CACHE_DIR", str(root / "cache"))
        mp.setenv("MPLBACKEND", "Agg")
        mp.delenv("INFINITY_TOKEN", raising=False)
        mp.delenv("INFINITY_SERVER", raising=False)
        mp.delenv("INFINITYFRAME_MAX_SAMPLES", raising=False)
        mp.delenv("INFINITYFRAME_FAIL_RATE", raising=False)
        import infinityframe as inf
        from infinityframe.client.local_services import local_services

        before = local_services.roots()
        sesh = inf.Session.local("stickfit-v0.1.0")
        jobs = sesh.sample(6, seed=0, method="lhs", exercise="SQUAT", **SMALL)
        batch = jobs.infinity.submit(name="docs: a finished batch")
        previews = jobs.infinity.submit(name="docs: finished previews", preview=True)
        batch.wait(progress=False)
        previews.wait(progress=False)
        folder = batch.download(root / "batch", quiet=True)
        world = {"sesh": sesh, "batch": batch, "res": inf.read_results(folder), "previews": previews,
                 "folder": folder, "root": root}
        yield world
        sesh.close()
        stop_services_started_since(before)  # the shared service: its workers end with this module


def stop_services_started_since(before: set[Path]) -> None:
    """Stop the embedded services this process started on a data dir not in ``before``."""
    from infinityframe.client.local_services import local_services

    local_services.stop(local_services.roots() - before)


def provide(name: str, world: dict[str, Any], namespace: dict[str, Any], cwd: Path) -> None:
    if "/" in name:  # a downloaded batch folder at that path
        shutil.copytree(world["folder"], cwd / name)
    else:
        namespace[name] = world[name]


def says_what_it_assumes(text: str, names: tuple[str, ...]) -> list[str]:
    """The names a page does not mention in a paragraph that says what it assumes."""
    said = " ".join(p for p in re.split(r"\n\s*\n", text) if "assume" in p.lower())
    return [name for name in names if not re.search(rf"`{re.escape(name)}\b", said)]


@pytest.fixture
def page_sandbox(world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory; afterwards, the environment as it was, the services a page
    started stopped, the jobs it left queued on the shared service cancelled, figures closed."""
    from infinityframe.client.local_services import local_services

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("INFINITYFRAME_DATA_DIR", str(world["root"] / "data"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    environ = dict(os.environ)
    services = local_services.roots()
    try:
        yield cwd
    finally:
        os.environ.clear()
        os.environ.update(environ)
        stop_services_started_since(services)
        sesh = world["sesh"]
        for batch_id in sesh.batches(1)["batch_id"]:
            if sesh.batch(batch_id).remaining():
                sesh.batch(batch_id).cancel()
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_blocks_parse_and_skips_say_why(page: Path) -> None:
    """Every python block is valid Python, the skipped ones too, and every skip marker says why
    (read_blocks raises for a marker without a reason or without a python block after it)."""
    for block in read_blocks(page):
        if block.lang == "python":
            try:
                ast.parse(block.code)
            except SyntaxError as exc:
                pytest.fail(f"{page_id(page)}:{block.line + (exc.lineno or 1) - 1}: {exc.msg}")
        assert block.marker != "skip" or len(block.reason.split()) >= 3, f"{page_id(page)}:{block.line}: say why"


@pytest.mark.parametrize(("markdown", "error"), [
    ("<!-- skip -->\n```python\nx = 1\n```\n", "needs a reason"),
    ("<!-- skip: -->\n```python\nx = 1\n```\n", "needs a reason"),
    ("<!-- skip: the cloud -->\nSome words.\n\n```python\nx = 1\n```\n", "skip marker not followed by a python"),
    ("<!-- skip: the cloud -->\n```bash\nls\n```\n", "skip marker not followed by a python block"),
    ("```python\nx = 1\n```\n<!-- script -->\n", "script marker not followed by a python block"),
    ("<!-- run -->\n```python\nx = 1\n```\n", "run marker not followed by a bash block"),
])
def test_a_bad_marker_is_refused(tmp_path: Path, markdown: str, error: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(markdown)
    with pytest.raises(ValueError, match=error):
        read_blocks(page)


def test_blocks_and_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```python\nx = 1\n```\n\n<!-- skip: needs the paid cloud -->\n\n"
                    "```python\ny = 2\n```\n\n- a list\n\n    ```python\n    z = 3\n    ```\n\n"
                    "<!-- script -->\n```python\nw = 4\n```\n\n```\noutput\n```\n\n"
                    "```bash\nls\n```\n<!-- run -->\n```bash\npwd\n```\n")
    blocks = read_blocks(page)
    assert [(b.line, b.lang, b.code, b.marker, b.reason, b.runs) for b in blocks] == [
        (4, "python", "x = 1", None, "", True), (10, "python", "y = 2", "skip", "needs the paid cloud", False),
        (16, "python", "z = 3", None, "", True), (21, "python", "w = 4", "script", "", True),
        (25, "text", "output", None, "", False), (29, "bash", "ls", None, "", False),
        (33, "bash", "pwd", "run", "", True)]
    assert as_source(blocks[1]).split("\n")[9] == "y = 2"  # a traceback's line is the page's


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_runs(page: Path, world: dict[str, Any], page_sandbox: Path) -> None:
    """The page's python blocks, in order, in one namespace (a notebook's); a block marked
    ``<!-- script -->`` runs as a script of its own, by a fresh interpreter, and a bash block
    marked ``<!-- run -->`` by bash, both in the page's working directory."""
    assumed = ASSUMES.get(page_id(page), ())
    assert not (missing := says_what_it_assumes(page.read_text(), assumed)), (
        f"{page_id(page)} is given {missing} but does not say it assumes them")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for name in assumed:
        provide(name, world, namespace, page_sandbox)
    seconds: list[str] = []  # each block's time, printed for `pytest -rP` (or -s)
    for block in read_blocks(page):
        if not block.runs:
            continue
        started = time.perf_counter()
        if block.lang == "bash":
            run_in_shell(page, block, page_sandbox)
        elif block.marker == "script":
            run_as_script(page, block, page_sandbox)
        else:
            exec(compile(as_source(block), str(page), "exec"), namespace)
        seconds.append(f"line {block.line}: {time.perf_counter() - started:.1f} s")
    print(f"{page_id(page)}: {', '.join(seconds) or 'no block to run'}")


def _subprocess_env() -> dict[str, str]:
    """This environment, with this checkout's package first and this Python's scripts on PATH."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def run_in_shell(page: Path, block: Block, cwd: Path) -> None:
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=cwd, env=_subprocess_env(),
                         capture_output=True, text=True, timeout=240, check=False)
    assert run.returncode == 0, (f"{page_id(page)}, the bash block at line {block.line}, exit status "
                                 f"{run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}")


def run_as_script(page: Path, block: Block, cwd: Path) -> None:
    script = cwd / f"{page.stem}-line-{block.line}.py"
    script.write_text(as_source(block))  # its line numbers are the page's
    run = subprocess.run([sys.executable, str(script)], cwd=cwd, env=_subprocess_env(), capture_output=True, text=True,
                         timeout=240, check=False)
    assert run.returncode == 0, (f"{page_id(page)}, the block at line {block.line}, as a script "
                                 f"(line numbers are the page's):\n{run.stderr[-6000:]}")
    assert "Traceback" not in run.stderr, run.stderr[-6000:]
