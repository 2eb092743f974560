"""mkdocs hook: links that leave docs/ (to benchmarks/ or examples/) point at their pages in the site.

The Markdown files link to ``../benchmarks/results/*.md`` and ``../examples/*`` so that they work
when read in the repository; in the built site those files do not exist, so such links go to
the performance page and the examples page instead.
"""

from __future__ import annotations

import re
from typing import Any

_OUTSIDE = re.compile(r"\]\((?P<up>(?:\.\./)+)(?P<dir>benchmarks|examples)/(?P<rest>[^)\s]*)\)")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    depth = page.file.src_uri.count("/")

    def repoint(match: re.Match[str]) -> str:
        if len(match["up"]) // 3 != depth + 1:
            return match[0]
        target = "performance.md" if match["dir"] == "benchmarks" else "examples.md"
        return f"]({'../' * depth}{target})"

    return _OUTSIDE.sub(repoint, markdown)
