"""Every example script runs top to bottom against the embedded service; every Python snippet in the docs parses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: str(p.relative_to(DOCS)))
def test_doc_snippets_are_python(page: Path) -> None:
    """Every ```python block in the docs is valid Python."""
    import ast
    import re

    for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
        try:
            ast.parse(block)
        except SyntaxError as exc:
            pytest.fail(f"{page.name}, python block {i + 1}, line {exc.lineno}: {exc.msg}")
