"""Re-running a script reattaches, never pays twice: across fresh processes, restarts, lost records and Ctrl-C.

Every run here is a fresh interpreter running the same user script on one data dir, as a user
re-runs ``python sweep.py``. The embedded service comes up on a new port each time, so nothing
but the service's stable identity and the submission's content can make the runs agree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

import infinityframe as inf
from infinityframe.client.records import account_digest, content_key, normalised_url, origin

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading
    import infinityframe as inf

    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=sys.argv[1])
    jobs = sesh.grid(camera_distance=[2.0, 3.0, 4.0], num_reps=[1], frame_rate=[6], image_width=[128],
                     image_height=[128])
    batch = jobs.infinity.submit(name="re-run me")
    print("BATCH", batch.id, sesh.server, flush=True)
    if sys.argv[2] == "interrupt":
        # Ctrl-C while waiting, as a user presses it: SIGINT to the process.
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    batch.wait(progress=False)
    print("DONE", flush=True)
""")


def run(script: Path, data_dir: Path, cache: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INFINITYFRAME_CACHE_DIR": str(cache), "PYTHONWARNINGS": "ignore"}
    env.pop("INFINITY_SERVER", None)
    return subprocess.run([sys.executable, str(script), str(data_dir), mode], env=env, capture_output=True,
                          text=True, timeout=240)


def account(service: inf.Service) -> dict[str, int]:
    answer = requests.get(f"{service.url}/api/account/", headers={"Authorization": f"Token {service.token}"},
                          timeout=10)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def batch_line(out: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    for line in out.stdout.splitlines():
        if line.startswith("BATCH "):
            _, batch_id, server = line.split()
            return batch_id, server
    raise AssertionError(f"the script printed no batch:\n{out.stdout}\n{out.stderr}")


@pytest.mark.slow
def test_the_same_script_twice_in_fresh_processes_is_one_batch_and_one_charge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    data_dir, cache = tmp_path / "data", tmp_path / "cache"

    interrupted = run(script, data_dir, cache, "interrupt")
    first, first_server = batch_line(interrupted)
    assert "DONE" not in interrupted.stdout, "the Ctrl-C came after the wait: nothing was tested"
    assert interrupted.returncode != 0
    assert f"Stopped waiting for batch {first}" in interrupted.stderr
    assert f"sesh.batch('{first}').wait()" in interrupted.stderr
    assert "Traceback" not in interrupted.stderr, interrupted.stderr

    finished = run(script, data_dir, cache, "wait")
    assert finished.returncode == 0, finished.stderr
    second, second_server = batch_line(finished)
    assert second_server != first_server, "the service kept its port: the test would not show anything"
    assert second == first
    assert "DONE" in finished.stdout

    shutil.rmtree(cache)  # another machine, a cleared cache: only the service can tell
    again = run(script, data_dir, cache, "wait")
    assert again.returncode == 0, again.stderr
    assert batch_line(again)[0] == first

    monkeypatch.setenv("INFINITYFRAME_CACHE_DIR", str(cache))  # the records the last run wrote
    with inf.serve(data_dir) as service:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        assert list(sesh.batches(days=1)["batch_id"]) == [first]
        status = sesh.batch(first).status()
        assert list(status["status"]) == ["succeeded"] * 3
        ledger = account(service)
        assert ledger["charged"] == int(status["samples"].sum()) > 0
        assert ledger["reserved"] == 0
        # The dry run, in yet another process state, agrees: every job is already submitted.
        jobs = sesh.grid(camera_distance=[2.0, 3.0, 4.0], num_reps=[1], frame_rate=[6], image_width=[128],
                         image_height=[128])
        dry = jobs.infinity.dry_run(sesh, name="re-run me")
        assert jobs.infinity.dry_run_summary(sesh, name="re-run me").reattach_batch_id == first
        assert dry["already_submitted"].all()


def test_the_origin_is_the_service_and_account_never_the_port_or_the_token() -> None:
    token = "0123456789abcdef0123456789abcdef01234567"
    here = origin("http://127.0.0.1:50001", token, "a" * 32)
    assert here == origin("http://127.0.0.1:61234/", token, "a" * 32)
    assert here != origin("http://127.0.0.1:50001", token, "b" * 32)
    assert here != origin("http://127.0.0.1:50001", token[::-1], "a" * 32)
    assert token not in here and account_digest(token) in here
    # Without an id (the cloud), the URL in one spelling names the service.
    assert origin("HTTPS://API.toinfinity.ai:443/", token) == origin("https://api.toinfinity.ai", token)
    assert normalised_url("http://[::1]:80/x/") == "http://[::1]/x"
    # An id that could not be one (a hostile server's answer) falls back to the URL.
    assert origin("https://h", token, "../../etc") == origin("https://h", token)
    jobs = [{"camera_distance": 3.0}]
    assert content_key(here, "g", False, "n", jobs) == content_key(here, "g", False, "n", [{"camera_distance": 3}])
    assert content_key(here, "g", False, "n", jobs) != content_key(here, "g", True, "n", jobs)


def test_the_service_id_survives_a_restart_on_another_port(tmp_path: Path) -> None:
    with inf.serve(tmp_path) as first:
        one = inf.Session(first.token, "shapes-v0.1.0", server=first.url)
        url = first.url
    with inf.serve(tmp_path) as second:
        two = inf.Session(second.token, "shapes-v0.1.0", server=second.url)
        assert second.url != url
    assert one.origin == two.origin
    assert one.metadata["service_id"] == (tmp_path / "service_id").read_text().strip()


def test_a_lost_record_is_answered_by_the_service_with_the_batch_it_made(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFINITYFRAME_CACHE_DIR", str(tmp_path / "cache"))
    with inf.serve(tmp_path / "data") as service:
        sesh = inf.Session(service.token, "shapes-v0.1.0", server=service.url)
        jobs = [{"num_images": 1, "min_size": 0.2, "lighting_power": 500}, {"num_images": 2}]
        batch = sesh.submit(jobs, name="once")
        balance = account(service)["balance"]
        shutil.rmtree(tmp_path / "cache")
        # The same content with its keys in another order and 500.0 for 500 (a float column where the
        # first run had ints), from a session that remembers nothing.
        fresh = inf.Session(service.token, "shapes-v0.1.0", server=service.url)
        same = [{k: float(v) if k == "lighting_power" else v for k, v in reversed(list(j.items()))} for j in jobs]
        again = fresh.submit(same, name="once")
        assert again.id == batch.id
        assert len(fresh.batches(days=1)) == 1
        assert account(service)["balance"] == balance
        # force still means a new batch.
        assert fresh.submit(jobs, name="once", mode="force").id != batch.id


def test_wait_interrupted_is_a_keyboard_interrupt_naming_the_batch(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with inf.serve(tmp_path, executor="thread", workers=1) as service:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        batch = sesh.submit([{"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128,
                              "camera_distance": d} for d in (2.0, 3.0, 4.0)], name="interrupted")
        polls, real_summary = [], batch.job_runs

        def summary() -> list[dict[str, object]]:  # Ctrl-C at the second poll, after one that saw jobs out
            polls.append(1)
            if len(polls) == 2:
                raise KeyboardInterrupt
            return real_summary()

        monkeypatch.setattr(batch, "job_runs", summary)
        with pytest.raises(KeyboardInterrupt) as caught:
            batch.wait(progress=False, poll=0.05)
        monkeypatch.undo()
        assert isinstance(caught.value, inf.WaitInterrupted)
        assert caught.value.batch_id == batch.id and 0 < caught.value.remaining <= 3
        assert f"sesh.batch('{batch.id}').wait()" in str(caught.value)
        assert batch.cancel() >= 0


def test_a_polars_frame_reattaches_to_the_batch_its_pandas_twin_made(tmp_path: Path) -> None:
    import polars as pl

    with inf.serve(tmp_path) as service:
        sesh = inf.Session(service.token, "shapes-v0.1.0", server=service.url)
        jobs = sesh.sample(3, seed=1, num_images=1)
        batch = jobs.infinity.submit(name="twins")
        from_polars = pl.from_pandas(jobs).infinity.submit(sesh, name="twins")
        assert from_polars.id == batch.id
        # Columns in another order are the same jobs; another name is another submission.
        assert jobs[jobs.columns[::-1]].infinity.submit(sesh, name="twins").id == batch.id
        assert jobs.infinity.submit(sesh, name="other").id != batch.id
        assert len(sesh.batches(days=1)) == 2


def test_a_categorical_frame_is_the_same_submission_as_its_plain_text_twin(tmp_path: Path) -> None:
    """Text choices are sampled as a Categorical; the service gets plain strings, and the job's
    content key does not depend on the dtype that carried them."""
    import pandas as pd
    import polars as pl

    from infinityframe.params.jobs import service_jobs

    with inf.serve(tmp_path) as service:
        sesh = inf.Session(service.token, "shapes-v0.1.0", server=service.url)
        jobs = sesh.sample(3, seed=2, num_images=1)
        text = [p.name for p in sesh.spec if p.type == "str" and p.choices]
        assert text and all(isinstance(jobs[name].dtype, pd.CategoricalDtype) for name in text)
        plain = jobs.astype({name: object for name in text})
        sent = service_jobs(jobs, sesh.spec)
        assert sent == service_jobs(plain, sesh.spec)
        assert all(type(job[name]) is str for job in sent for name in text)  # JSON strings, not categories
        batch = jobs.infinity.submit(name="dtypes")
        assert plain.infinity.submit(sesh, name="dtypes").id == batch.id
        enum = sesh.sample(3, seed=2, num_images=1, backend="polars")
        assert isinstance(enum.schema[text[0]], pl.Enum)
        assert enum.infinity.submit(sesh, name="dtypes").id == batch.id
        assert pl.from_pandas(plain).infinity.submit(sesh, name="dtypes").id == batch.id
        assert bool(plain.infinity.dry_run(sesh, name="dtypes")["already_submitted"].all())
        # What the service stored is the text itself.
        assert batch.jobs[text[0]].astype(str).tolist() == plain[text[0]].tolist()
        assert len(sesh.batches(days=1)) == 1
