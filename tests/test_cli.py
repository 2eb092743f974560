"""The ``infinityframe`` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from _service import RunningService, start_service


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infinityframe.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_generators_lists_builtins() -> None:
    out = run("generators")
    assert out.returncode == 0
    assert "stickfit-v0.1.0" in out.stdout and "shapes-v0.1.0" in out.stdout
    meta = json.loads(run("generators", "--json").stdout)
    assert {m["name"] for m in meta} >= {"stickfit-v0.1.0", "shapes-v0.1.0"}


def test_serve_prints_url_and_token(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1")
    try:
        assert svc.url.startswith("http://127.0.0.1:")
        assert len(svc.token) == 40 and int(svc.token, 16) >= 0
        assert svc.get("jobs/").status_code == 200
        assert (tmp_path / "token").read_text() == svc.token
    finally:
        svc.stop()


def test_accounts_add_prints_a_working_token(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1")
    try:
        token = run("accounts", "add", "bob", "--balance", "7", "--data-dir", str(tmp_path)).stdout.strip()
        assert svc.get("account/", token=token).json()["balance"] == 7
    finally:
        svc.stop()


def test_unknown_command_fails() -> None:
    assert run("nonsense").returncode != 0


# -- submit, status, download: the real CLI against a real service ---------------------------------

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JOBS_CSV = """num_objects,min_size,max_size,allow_overlap,background,image_width,image_height,num_images
3,0.1,0.2,yes,NOISE,64,64,1
4,,0.3,false,PLAIN,64,64,1
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = start_service(tmp_path_factory.mktemp("cli-service"), "--workers", "2")
    yield svc
    svc.stop()


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with no INFINITY_* variables of the caller's, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INFINITY_", "INFINITYFRAME_"))}
    return subprocess.run([sys.executable, "-m", "infinityframe.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False, env={**clean, **(env or {})}, cwd=cwd)


def remote(svc: RunningService) -> list[str]:
    return ["--server", svc.url, "--token", svc.token]


def one_error_line(out: subprocess.CompletedProcess[str]) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def test_submit_csv_then_status_and_download(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV)
    env = {"INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")}
    out = cli("submit", str(jobs), "--generator", "shapes-v0.1.0", "--name", "cli csv", *remote(service), env=env)
    assert out.returncode == 0, out.stderr
    batch_id = out.stdout.strip()
    assert UUID.match(batch_id), out.stdout
    assert service.token not in out.stdout + out.stderr
    assert "2 jobs of shapes-v0.1.0" in out.stderr

    # every cell was parsed with the generator's types; the empty one took its default
    runs = service.get(f"batch/{batch_id}/").json()["job_runs"]
    params = [r["param_values"] for r in runs]
    assert [p["num_objects"] for p in params] == [3, 4]
    assert [p["allow_overlap"] for p in params] == [True, False]
    assert [p["min_size"] for p in params] == [0.1, 0.1]
    assert [p["background"] for p in params] == ["NOISE", "PLAIN"]
    assert all(r["name"] == "shapes-v0.1.0" and not r["is_preview"] for r in runs)

    status = cli("status", batch_id, "--wait", "--jobs", *remote(service), env=env)
    assert status.returncode == 0, status.stderr
    assert f"batch {batch_id}  'cli csv'  shapes-v0.1.0  2 jobs" in status.stdout
    assert "2 job(s): succeeded 2" in status.stdout
    assert sum(line.strip().startswith(tuple(r["id"] for r in runs)) for line in status.stdout.splitlines()) == 2

    as_json = json.loads(cli("status", batch_id, "--json", *remote(service), env=env).stdout)
    assert {j["job_id"] for j in as_json["jobs"]} == {r["id"] for r in runs}
    assert {j["status"] for j in as_json["jobs"]} == {"succeeded"}
    assert all(j["samples"] == 1 for j in as_json["jobs"])

    down = cli("download", batch_id, "--out", str(tmp_path / "down"), *remote(service), env=env)
    assert down.returncode == 0, down.stderr
    folder = Path(down.stdout.strip())
    assert folder == tmp_path / "down"
    assert (folder / "batch_id.txt").read_text().strip() == batch_id
    assert sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) == sorted(
        r["id"] for r in runs)
    assert "2 of 2 job folder(s)" in down.stderr
    assert service.token not in down.stdout + down.stderr + status.stdout + status.stderr


def test_environment_variables_parquet_preview_and_modes(service: RunningService, tmp_path: Path) -> None:
    path = tmp_path / "jobs.parquet"
    pd.DataFrame({"num_objects": [2, 5, 7], "image_width": 64, "image_height": 64}).to_parquet(path)
    env = {"INFINITY_SERVER": service.url, "INFINITY_TOKEN": service.token,
           "INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")}
    first = cli("submit", str(path), "-g", "shapes-v0.1.0", "--preview", env=env)
    assert first.returncode == 0, first.stderr
    again = cli("submit", str(path), "-g", "shapes-v0.1.0", "--preview", "--mode", "cached", env=env)
    forced = cli("submit", str(path), "-g", "shapes-v0.1.0", "--preview", "--mode", "force", env=env)
    assert again.stdout == first.stdout                       # the same submission reattaches
    assert forced.stdout.strip() != first.stdout.strip() and UUID.match(forced.stdout.strip())
    runs = service.get(f"batch/{first.stdout.strip()}/").json()["job_runs"]
    assert [r["param_values"]["num_objects"] for r in runs] == [2, 5, 7]
    assert all(r["is_preview"] for r in runs)


def test_a_bad_cell_is_named_by_line_and_column(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV.replace("4,,0.3", "4,small,0.3"))
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
    assert out.returncode == 2, out.stderr
    assert "line 3: row 1, min_size: must be a finite number" in out.stderr and "got 'small'" in out.stderr

    jobs.write_text(JOBS_CSV.replace("4,,0.3", "40,,0.3"))
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
    assert out.returncode == 2
    # The message df.infinity.errors() gives for the same frame, after its line in the file.
    assert "  line 3: row 1, num_objects: must be between 1 and 20 (inclusive), got 40" in out.stderr.splitlines()
    assert out.stdout == ""


def test_unknown_batch_and_refused_token_fail_with_one_line(service: RunningService) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    out = cli("status", missing, *remote(service))
    assert out.returncode == 1
    assert missing in one_error_line(out)

    bad_token = "f" * 40
    out = cli("download", missing, "--server", service.url, "--token", bad_token)
    assert out.returncode == 1
    assert bad_token not in out.stdout + out.stderr
    assert one_error_line(out).startswith("infinityframe download: error:")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "jobs.txt").write_text("num_objects\n3\n")
    out = cli("submit", str(tmp_path / "jobs.txt"), "-g", "shapes-v0.1.0")
    assert out.returncode == 2 and "jobs.txt" in one_error_line(out)
    out = cli("status", "some-batch", "--server", "http://127.0.0.1:9")
    assert out.returncode == 2 and "INFINITY_TOKEN" in one_error_line(out)


def test_embedded_service_when_no_server_is_given(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV)
    env = {"INFINITYFRAME_DATA_DIR": str(tmp_path / "data"), "INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")}
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", "--wait", env=env)
    assert out.returncode == 0, out.stderr
    batch_id = out.stdout.strip()
    assert "the embedded service in" in out.stderr and "succeeded 2" in out.stderr
    # a later command finds the batch in the same data dir
    down = cli("download", batch_id, env=env, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert Path(down.stdout.strip()) == Path("infinity-batches") / batch_id
    assert len([p for p in (tmp_path / "infinity-batches" / batch_id).iterdir() if p.is_dir()
                and not p.name.startswith(".")]) == 2
    # The same file again, in a fresh process on a new port: the batch it made, and nothing charged.
    again = cli("submit", str(jobs), "-g", "shapes-v0.1.0", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == batch_id
    # Even with this machine's records gone, the embedded service itself answers with it.
    shutil.rmtree(tmp_path / "cache")
    third = cli("submit", str(jobs), "-g", "shapes-v0.1.0", env=env)
    assert third.returncode == 0, third.stderr
    assert third.stdout.strip() == batch_id
    assert "Traceback" not in again.stderr + third.stderr


def test_a_sampled_frame_survives_a_csv_round_trip(tmp_path: Path) -> None:
    """What ``df.to_csv()`` writes (index included) reads back as the same typed, valid frame."""
    from infinityframe.cli import read_jobs
    from infinityframe.local.generators import get
    from infinityframe.params.sampling import sample
    from infinityframe.params.schema import validate_frame
    from infinityframe.params.spec import GeneratorSpec

    spec = GeneratorSpec.from_metadata(get("stickfit-v0.1.0").metadata())
    jobs = sample(spec, 25, seed=3)
    jobs.to_csv(tmp_path / "jobs.csv")
    back = validate_frame(read_jobs(tmp_path / "jobs.csv", spec), spec, ())
    assert list(back.columns) == list(jobs.columns)
    assert back.astype(object).where(back.notna(), None).values.tolist() == \
        jobs.astype(object).where(jobs.notna(), None).values.tolist()


# -- the command line's own terms ------------------------------------------------------------------

# How a Python call looks in a message: what no error of the command line may suggest.
PYTHON_CALL = re.compile(r"\w+\(\)|\b\w+=\w|\bdf\.|\bsesh\.|\binf\.|infinity\.\w+\(")


def speaks_in_flags(out: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in out.stderr, out.stderr
    assert not PYTHON_CALL.search(out.stderr), out.stderr
    return out.stderr


def test_version_from_both_entry_points() -> None:
    from infinityframe import __version__

    for module in ("infinityframe", "infinityframe.cli"):
        out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True,
                             timeout=60, check=False)
        assert out.returncode == 0 and out.stdout == f"infinityframe {__version__}\n", out


def test_help_has_no_markup() -> None:
    from click.testing import CliRunner

    from infinityframe.cli import cli, main

    assert main(["--help"]) == 0
    runner = CliRunner()
    paths = [[]] + [[name] for name in cli.commands] + [["accounts", "add"]]
    for path in paths:
        out = runner.invoke(cli, [*path, "--help"])
        assert out.exit_code == 0, out.output
        assert "`" not in out.output and "``" not in out.output, path
    assert {"serve", "demo", "generators", "accounts", "submit", "status", "download"} <= set(cli.commands)


def test_every_bad_cell_at_once_in_errors_words(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("num_objects,min_size,allow_overlap,image_width\n3,small,yes,64\n\n40,0.2,maybe,64\n2,0.1,no,9\n")
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
    assert out.returncode == 2 and out.stdout == ""
    lines = speaks_in_flags(out).splitlines()
    assert lines[0].startswith("infinityframe submit: error: jobs.csv: 4 problems in 3 jobs; nothing was sent.")
    import infinityframe as inf

    sesh = inf.Session(service.token, "shapes-v0.1.0", service.url)
    frame = pd.DataFrame({"num_objects": [3, 40, 2], "min_size": ["small", 0.2, 0.1],
                          "allow_overlap": [True, "maybe", False], "image_width": [64, 64, 9]})
    expected = frame.infinity.errors(sesh)["message"].tolist()
    assert len(lines) == 1 + len(expected) == 5
    for line, where, message in zip(lines[1:], ["line 2", "line 4", "line 4", "line 5"], expected, strict=True):
        assert line.startswith(f"  {where}: {message}"), (line, message)


def test_nan_cells_and_empty_files(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("num_objects,lighting_power,image_width,image_height,num_images\n3,NaN,64,64,1\n")
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
    assert out.returncode == 2
    assert "line 2: row 0, lighting_power: is required and may not be null" in speaks_in_flags(out)
    assert "the cell reads 'NaN'; leave it empty for the default" in out.stderr
    # nan in a parameter whose default is null (state) is that null: the job is sent
    jobs.write_text("num_objects,state,image_width,image_height,num_images\n3,nan,64,64,1\n")
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
    assert out.returncode == 0, out.stderr
    assert service.get(f"batch/{out.stdout.strip()}/").json()["job_runs"][0]["param_values"]["state"] is None
    for text, said in (("", "is empty"), ("num_objects\n", "has a header but no jobs")):
        jobs.write_text(text)
        out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service))
        assert out.returncode == 2 and said in one_error_line(out)


def test_unknown_generator_lists_the_real_ones(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV)
    out = cli("submit", str(jobs), "-g", "stickfit-v0.1", *remote(service))
    assert out.returncode == 2
    line = one_error_line(out)
    assert "--generator 'stickfit-v0.1': no such generator" in line
    assert "Did you mean --generator stickfit-v0.1.0?" in line
    assert "shapes-v0.1.0, stickfit-v0.1.0, visionfit-flagship-v0.1.0, visionfit-v0.4.0" in line


def test_spend_cap_and_dry_run_speak_in_flags(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV.replace("NOISE", "GRADIENT"))
    env = {"INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")}
    balance = service.get("account/").json()["balance"]
    out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", "--max-samples", "1", *remote(service), env=env)
    assert out.returncode == 3 and out.stdout == ""
    line = speaks_in_flags(out)
    assert "over --max-samples 1" in line and "pass --max-samples 2 (or more)" in line and "--dry-run" in line
    env_cap = cli("submit", str(jobs), "-g", "shapes-v0.1.0", *remote(service),
                  env={**env, "INFINITYFRAME_MAX_SAMPLES": "1"})
    assert env_cap.returncode == 3 and "$INFINITYFRAME_MAX_SAMPLES" in speaks_in_flags(env_cap)

    dry = cli("submit", str(jobs), "-g", "shapes-v0.1.0", "--dry-run", *remote(service), env=env)
    assert dry.returncode == 0, dry.stderr
    assert "dry run of 2 jobs of shapes-v0.1.0: 2 new" in dry.stdout and "estimated samples: 2" in dry.stdout
    over = cli("submit", str(jobs), "-g", "shapes-v0.1.0", "--dry-run", "--max-samples", "1", *remote(service),
               env=env)
    assert over.returncode == 3 and "over --max-samples 1" in over.stdout
    assert not PYTHON_CALL.search(dry.stdout + over.stdout)
    assert service.get("account/").json()["balance"] == balance  # nothing was submitted by any of them


def test_resubmitting_says_it_reattached(service: RunningService, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS_CSV.replace("PLAIN", "GRADIENT"))
    env = {"INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")}
    args = ("submit", str(jobs), "-g", "shapes-v0.1.0", "--name", "again", *remote(service))
    first = cli(*args, env=env)
    assert first.returncode == 0 and "reattached" not in first.stderr
    batch_id = first.stdout.strip()
    again = cli(*args, env=env)  # this machine's records know the batch
    shutil.rmtree(tmp_path / "cache")
    third = cli(*args, env=env)  # no records: the service answers with it for the same idempotency key
    for out in (again, third):
        assert out.returncode == 0 and out.stdout.strip() == batch_id
        assert f"reattached to batch {batch_id}" in out.stderr and "nothing new was charged" in out.stderr
    forced = cli(*args, "--mode", "force", env=env)
    assert forced.stdout.strip() != batch_id and "reattached" not in forced.stderr


def test_failed_jobs_exit_1(tmp_path: Path) -> None:
    svc = start_service(tmp_path / "data", "--workers", "1", "--fail-rate", "1")
    try:
        jobs = tmp_path / "jobs.csv"
        jobs.write_text(JOBS_CSV)
        out = cli("submit", str(jobs), "-g", "shapes-v0.1.0", "--wait", *remote(svc),
                  env={"INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache")})
        assert out.returncode == 1
        batch_id = out.stdout.strip()
        assert UUID.match(batch_id) and f"2 of 2 job(s) of batch {batch_id} failed" in speaks_in_flags(out)
        down = cli("download", batch_id, "--out", str(tmp_path / "down"), *remote(svc))
        assert down.returncode == 1 and "failed and have no results" in down.stderr
    finally:
        svc.stop()


def test_the_documented_exit_codes_are_the_codes() -> None:
    from infinityframe.cli import EXIT_CODES

    page = (Path(__file__).resolve().parents[1] / "docs" / "howto" / "cli.md").read_text()
    table = re.findall(r"^\| (\d+) \|", page, flags=re.M)
    assert sorted(int(code) for code in table) == sorted(EXIT_CODES)
