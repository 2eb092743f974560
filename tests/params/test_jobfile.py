"""Jobs files: what a CSV's cells mean, and every bad cell reported at once by its line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from infinityframe.errors import ValidationError
from infinityframe.local.generators import get
from infinityframe.params.jobfile import JobFileError, read_job_file, read_jobs
from infinityframe.params.schema import failure_cases
from infinityframe.params.spec import GeneratorSpec

SHAPES = GeneratorSpec.from_metadata(get("shapes-v0.1.0").metadata())


def write(tmp_path: Path, text: str, name: str = "jobs.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_bad_cell_at_once_worded_as_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "num_objects,min_size,allow_overlap\n3,small,yes\n\n40,0.2,maybe\n2,0.1,no\n")
    found = read_job_file(path, SHAPES)
    assert found.lines == (2, 4, 5)  # the blank line 3 holds no job
    shown = found.located(failure_cases(found.jobs, SHAPES))
    # The same frame as a user would build it: its errors() messages, in the same order.
    frame = pd.DataFrame({"num_objects": [3, 40, 2], "min_size": ["small", 0.2, 0.1],
                          "allow_overlap": [True, "maybe", False]})
    expected = failure_cases(frame, SHAPES)["message"].tolist()
    assert len(shown) == len(expected) == 3
    assert [line.split(": ", 1)[1][:len(message)] for line, message in zip(shown, expected, strict=True)] == expected
    assert [line.split(":")[0] for line in shown] == ["line 2", "line 4", "line 4"]
    with pytest.raises(ValidationError) as info:  # read_jobs: the two unreadable cells, not the range
        read_jobs(path, SHAPES)
    assert len(info.value.failure_cases) == 2 and "line 2: row 0, min_size" in str(info.value)


@pytest.mark.parametrize("spelling", ["nan", "NaN", " NAN "])
def test_a_literal_nan_is_invalid_never_the_default(tmp_path: Path, spelling: str) -> None:
    path = write(tmp_path, f"num_objects,min_size,background,state\n3,{spelling},PLAIN,\n,0.2,{spelling},{spelling}\n")
    found = read_job_file(path, SHAPES)
    failures = failure_cases(found.jobs, SHAPES)
    assert list(zip(failures["row"], failures["column"], strict=True)) == [(0, "min_size"), (1, "background")]
    shown = found.located(failures)
    assert shown[0].startswith("line 2: row 0, min_size: is required and may not be null")
    assert shown[1].startswith("line 3: row 1, background: is required and may not be null")
    assert all("leave it empty for the default" in line for line in shown)
    # an empty cell takes the default; nan in a parameter whose default is null (state) is that null
    assert found.jobs.loc[1, "num_objects"] == 5 and found.jobs["state"].isna().all()


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"), ("num_objects\n", "has a header but no jobs"),
    ("num_objects\n3,4\n", "line 2 has 2 cells"), ])
def test_files_that_hold_no_jobs(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(JobFileError, match=message):
        read_job_file(write(tmp_path, text), SHAPES)
    (tmp_path / "latin1.csv").write_bytes("num_objects,background\n3,caf\xe9\n".encode("latin-1"))
    with pytest.raises(JobFileError, match="not UTF-8"):
        read_job_file(tmp_path / "latin1.csv", SHAPES)
