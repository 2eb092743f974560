"""What a benchmark ran on, printed beside its figures."""

from __future__ import annotations

import os
import platform
from datetime import datetime


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def header(title: str) -> str:
    m = machine()
    return (f"# {title}\n\n{m['date']} · {m['cpu']} · {m['cores']} cores · Python {m['python']} · "
            f"{m['platform']}\n")


def publish(lines: list[str], name: str) -> None:
    """Print a benchmark's report and write it to ``results/<name>``."""
    from pathlib import Path

    report = "\n".join(lines) + "\n"
    print(report)
    (Path(__file__).parent / "results" / name).write_text(report)
