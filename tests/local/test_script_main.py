"""A plain script (no ``if __name__ == "__main__":`` guard) that starts the embedded service.

Spawned workers re-run the parent's main script by default; the service's workers must not,
or every worker would submit the script's batch again (and wait on it, starving the pool).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent('''
    import sys
    import infinityframe as inf

    print("ran as", __name__, flush=True)
    sesh = inf.Session.local("shapes-v0.1.0", data_dir=sys.argv[1])
    batch = sesh.sample(3).infinity.submit(sesh, name="unguarded", preview=True)
    batch.wait(progress=False, timeout=120)
    print("batches", len(sesh.batches()), flush=True)
''')


def test_an_unguarded_script_runs_once_and_submits_once(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "data")], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["ran as __main__", "batches 1"]
