"""Nobody gets in, nothing leaks.

- every ``/api/`` operation of the OpenAPI document, without a token, with a wrong or malformed
  one (401), and with another account's token (404 for what belongs to the first account; lists
  and totals that never show its batches, jobs or names);
- signed result URLs past their expiry, altered in any way, or unsigned (403);
- zip-slip members and symbolic links refused (property-based, and end to end through download);
- request bodies over the size limit refused (413), with a declared length or chunked;
- the service binds to loopback unless told otherwise;
- the token absent from logs (client and service, DEBUG), reprs, errors, ``df.attrs``, parquet
  files and every other file the client writes.

Narrower cases live beside the code they test: tests/local/test_api.py (TestAuth,
TestSignedUrls, TestLimits), tests/local/test_server.py (TestServe), tests/client/test_download.py
(TestSafeExtract, TestRefusals).
"""

from __future__ import annotations

import logging
import posixpath
import random
import re
import secrets
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from _reliability import PROFILE, SHAPES, report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infinityframe as inf
from _service import RunningService, start_service, wait_for_batch
from infinityframe.client.download import safe_extract
from infinityframe.local.signing import Signer

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}


# -- every /api/ route, three kinds of stranger -------------------------------------------------


class Owner:
    """An account with a finished batch, a preview, and names that must never show elsewhere."""

    def __init__(self, service: RunningService) -> None:
        self.marker = f"owner-secret-{uuid.uuid4().hex}"
        self.token = service.add_account(self.marker, 10_000)
        body = {"name": self.marker, "job_runs": [
            {"name": SHAPES, "is_preview": False,
             "param_values": {"num_images": 1, "image_width": 64, "image_height": 64}}] * 2}
        created = service.post("batch/", body, token=self.token)
        assert created.status_code == 201, created.text
        self.batch = created.json()
        preview = service.post("batch/", {**body, "job_runs": [{**body["job_runs"][0], "is_preview": True}]},
                               token=self.token).json()
        self.runs = wait_for_batch(service, self.batch["id"], token=self.token)
        wait_for_batch(service, preview["id"], token=self.token)
        self.preview_id = preview["job_runs"][0]["id"]
        self.preview_batch = preview["id"]
        self.secrets = {self.marker, self.batch["id"], self.preview_batch, self.preview_id,
                        *(r["id"] for r in self.runs), *(str(r["result_url"]).split("?")[1] for r in self.runs)}


@pytest.fixture(scope="module")
def owner(service: RunningService) -> Owner:
    return Owner(service)


def operations(service: RunningService) -> list[tuple[str, str]]:
    spec = requests.get(f"{service.url}/openapi.json", timeout=30).json()
    found = [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
             if path.startswith("/api/")]
    assert len(found) >= 13, found
    return sorted(found)


def call(service: RunningService, owner: Owner, method: str, path: str,
         headers: dict[str, str]) -> requests.Response:
    filled = (path.replace("{batch_id}", owner.batch["id"]).replace("{generator_name}", SHAPES)
              .replace("{job_id}", owner.preview_id if "job_previews" in path else owner.runs[0]["id"]))
    assert "{" not in filled, f"a path parameter this test does not know: {path}"
    body: Any = None
    if method == "POST":
        body = {} if filled.endswith("/cancel/") else {"name": "probe", "job_runs": [
            {"name": SHAPES, "is_preview": False, "param_values": {"num_images": 1, "image_width": 64}}]}
    return requests.request(method, f"{service.url}{filled}", json=body, headers=headers, timeout=30)


def count_batches(service: RunningService) -> int:
    import sqlite3

    db = sqlite3.connect(service.data_dir / "service.db", timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])
    finally:
        db.close()


def test_every_api_route_refuses_strangers(service: RunningService, owner: Owner) -> None:
    stranger = service.add_account(f"stranger-{uuid.uuid4().hex[:8]}", 0)  # 0 samples: its POSTs create nothing
    wrong = secrets.token_hex(20)
    tried = 0
    for method, path in operations(service):
        where = f"{method} {path}"
        own = call(service, owner, method, path, {"Authorization": f"Token {owner.token}"})
        assert own.status_code < 300, f"{where}: the owner got {own.status_code}, the probe is wrong"

        before = count_batches(service)
        for headers, expected in (
            ({}, NOT_PROVIDED),
            ({"Authorization": f"Token {wrong}"}, {"detail": "Invalid token."}),
            ({"Authorization": f"Bearer {owner.token}"}, None),
            ({"Authorization": "Token"}, None),
            ({"Authorization": f"Token {owner.token[:-1]}"}, {"detail": "Invalid token."}),
            ({"Authorization": f"token {owner.token}"}, None),
        ):
            r = call(service, owner, method, path, headers)
            assert r.status_code == 401, f"{where} with {list(headers.values())[:1]}: {r.status_code}"
            assert expected is None or r.json() == expected, (where, r.text)
            assert r.headers.get("WWW-Authenticate") == "Token"
            assert owner.token not in r.text and wrong not in r.text
            tried += 1
        assert count_batches(service) == before, f"{where}: an unauthenticated request created a batch"

        r = call(service, owner, method, path, {"Authorization": f"Token {stranger}"})
        tried += 1
        if "{" in path and "{generator_name}" not in path:
            assert r.status_code == 404 and r.json() == {"detail": "Not found."}, (where, r.status_code, r.text)
        else:
            assert r.status_code in (200, 400, 402), (where, r.status_code, r.text)
        leaked = sorted(s for s in owner.secrets if s in r.text)
        assert not leaked, f"{where} showed the other account's {leaked}"
    # The filter of a list is no way around it either.
    for path in ("job_runs/", "job_previews/"):
        r = service.get(path, token=stranger, params={"batch_id": owner.batch["id"]})
        assert r.status_code == 200 and r.json() == []
        tried += 1
    report("security_routes", operations=len(operations(service)), requests=tried, held=True)


# -- signed result URLs ---------------------------------------------------------------------------


def mutations(url: str, other_url: str, rng: random.Random, count: int) -> Iterator[tuple[str, str]]:
    """(what, URL) pairs: the signed URL altered in every way that must be refused."""
    base, _, query = url.partition("?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    expires, signature = fields["expires"], fields["signature"]
    other_path = other_url.split("?")[0]
    yield "another job's path", f"{other_path}?{query}"
    yield "no query", base
    yield "no signature", f"{base}?expires={expires}"
    yield "no expiry", f"{base}?signature={signature}"
    yield "empty signature", f"{base}?expires={expires}&signature="
    yield "upper-case signature", f"{base}?expires={expires}&signature={signature.upper()}"
    yield "expiry not a number", f"{base}?expires=soon&signature={signature}"
    yield "negative expiry", f"{base}?expires=-{expires}&signature={signature}"
    yield "huge expiry", f"{base}?expires={'9' * 30}&signature={signature}"
    yield "expiry later", f"{base}?expires={int(expires) + 3600}&signature={signature}"
    yield "signature twice", f"{base}?expires={expires}&signature=0&signature={signature}"
    for _ in range(count):
        pos = rng.randrange(len(signature))
        flipped = signature[:pos] + rng.choice([c for c in "0123456789abcdef" if c != signature[pos]]) \
            + signature[pos + 1:]
        yield "one character of the signature", f"{base}?expires={expires}&signature={flipped}"
        cut = rng.randrange(len(signature))
        yield "signature cut short", f"{base}?expires={expires}&signature={signature[:cut]}"
        delta = rng.choice([-1, 1]) * rng.randint(1, 10**6)
        yield "expiry moved", f"{base}?expires={int(expires) + delta}&signature={signature}"


def test_signed_urls_expired_or_altered_are_403(service: RunningService, owner: Owner) -> None:
    url, other = (str(r["result_url"]) for r in owner.runs[:2])
    assert requests.get(url, timeout=30).status_code == 200
    rng = random.Random(7)
    tried = 0
    for what, altered in mutations(url, other, rng, 20 if PROFILE.name == "quick" else 300):
        r = requests.get(altered, timeout=30)
        assert r.status_code == 403, f"{what}: {altered} answered {r.status_code}"
        assert "not valid" in r.json()["detail"]
        tried += 1
    # Past its expiry: a URL signed with the service's own key, an hour ago.
    signer = Signer.from_data_dir(service.data_dir, ttl=60)
    base = url.split("/results/")[0]
    for job in owner.runs:
        expired = signer.url(base, str(job["id"]), now=time.time() - 3600)
        r = requests.get(expired, timeout=30)
        assert r.status_code == 403 and "expired" in r.json()["detail"], r.text
        fresh = signer.url(base, str(job["id"]))
        assert requests.get(fresh, timeout=30).status_code == 200  # the same key, in time: the control
        tried += 1
    # No path reaches anything but a result zip.
    for path in ("/results/..%2Fservice.db", "/results/../signing.key", "/results/%2e%2e/token.zip",
                 f"/results/{owner.runs[0]['id']}.zip/../../token"):
        r = requests.get(base + path + "?" + url.split("?")[1], timeout=30)
        assert r.status_code in (403, 404) and b"PRIVATE" not in r.content, (path, r.status_code)
        assert not r.content.startswith(b"SQLite"), path
        tried += 1
    report("signed_urls", requests=tried, held=True)


# -- archives that would escape -------------------------------------------------------------------

PIECES = st.sampled_from(["j", "a", "b", "..", ".", "", "...", "..\\..", "C:", "c:\\x", "/", "//", "~", "%2e%2e",
                          "\u2024\u2024", "．．", "x" * 50, "y" * 300])


@st.composite
def members(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """Archive members: (name, is a symbolic link), built from pieces that tend to escape."""
    out = [("j/ok.txt", False)]
    for _ in range(draw(st.integers(1, 4))):
        parts = draw(st.lists(PIECES, min_size=1, max_size=5))
        prefix = draw(st.sampled_from(["", "j/", "/", "k/"]))
        out.append((prefix + "/".join(parts), draw(st.booleans()) and draw(st.booleans())))
    return out


def escapes(name: str, job_id: str) -> bool:
    """An independent oracle: would this member land outside ``<dest>/<job_id>``?"""
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return True
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if parts and parts[0] == job_id:
        parts = parts[1:]
    norm = posixpath.normpath("/".join(parts) or ".")
    return ".." in parts or norm == ".." or norm.startswith("../")  # "..." is a name, not a way up


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
@settings(max_examples=PROFILE.fuzz_examples, deadline=None, derandomize=PROFILE.name == "quick", database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(archive_members=members())
def test_zip_slip_and_symlinks_never_escape(archive_members: list[tuple[str, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        archive = root / "job.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for name, link in archive_members:
                info = zipfile.ZipInfo(name)
                if link:
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, "/etc/passwd" if link else "data")
        dest = root / "out"
        bad = any(link or escapes(name, "j") for name, link in archive_members)
        try:
            folder = safe_extract(archive, "j", dest)
        except inf.DownloadError as err:
            assert "j" in str(err)
            refused = True
        else:
            refused = False
            assert not any(p.is_symlink() for p in folder.rglob("*"))
        outside = [p for p in root.rglob("*") if p != archive and not p.is_relative_to(dest / "j")
                   and p not in (dest,)]
        assert outside == [], f"written outside the job folder: {outside}"
        if bad:
            assert refused, f"accepted {archive_members}"


def test_symlink_member_refused_end_to_end(service: RunningService, tmp_path: Path) -> None:
    token = service.add_account(f"symlink-{uuid.uuid4().hex[:8]}", 1000)
    sesh = inf.Session(token, SHAPES, server=service.url)
    batch = sesh.submit([{"num_images": 1, "image_width": 64, "num_objects": n} for n in (1, 2)], name="link")
    batch.wait(poll=0.1, progress=False)
    evil, good = batch.job_ids
    with zipfile.ZipFile(service.data_dir / "results" / f"{evil}.zip", "w") as zf:  # what a hostile server serves
        zf.writestr(f"{evil}/job.json", "{}")
        info = zipfile.ZipInfo(f"{evil}/labels.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(inf.DownloadError, match="symbolic link"):
        batch.download(tmp_path / "dl", progress=False)
    assert not (tmp_path / "dl" / evil).exists()
    assert (tmp_path / "dl" / good / "labels.json").is_file()
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


# -- request bodies over the limit ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = start_service(tmp_path_factory.mktemp("limit"), "--workers", "1", "--rate-limit", "0",
                        "--max-body-mb", "1")
    yield svc
    svc.stop()


def test_bodies_over_the_limit_are_413(small_limit: RunningService) -> None:
    svc = small_limit
    big = {"name": "x" * (1024 * 1024 + 10), "job_runs": [{"name": SHAPES, "param_values": {}}]}
    tried = 0
    for path in ("batch/", "batch/estimate/"):
        r = svc.post(path, big)  # Content-Length declared
        assert r.status_code == 413 and "larger than" in r.json()["detail"], r.text
        raw = (b'{"name": "' + b"y" * (2 * 1024 * 1024) + b'", "job_runs": []}')
        chunks = (raw[i:i + 65536] for i in range(0, len(raw), 65536))  # chunked: no length up front
        r = requests.post(f"{svc.api}/{path}", data=chunks, headers={**svc.headers(), "Content-Type":
                          "application/json"}, timeout=60)
        assert r.status_code == 413, r.text
        tried += 2
    assert svc.get("batch/").json() == []
    # Just under the limit is fine, and the client turns a 413 into a clear error.
    ok = svc.post("batch/estimate/", {**big, "name": "x" * (1024 * 1024 - 200)})
    assert ok.status_code == 200, ok.text
    sesh = inf.Session(svc.token, SHAPES, server=svc.url)
    frame = pd.DataFrame({"num_images": [1, 2]})
    with pytest.raises(inf.ServiceError, match="413") as info:
        sesh.submit(frame, name="too big " * 150_000)
    assert info.value.status == 413 and "split the batch" in str(info.value)
    assert svc.get("batch/").json() == []
    report("body_limit", requests=tried + 2, held=True)


# -- binding --------------------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """The addresses a TCP port listens on, from /proc (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_binds_loopback_unless_told_otherwise(service: RunningService, small_limit: RunningService,
                                              tmp_path: Path) -> None:
    # `infinityframe serve` without --host (inf.serve(): tests/local/test_server.py::TestServe)
    for svc in (service, small_limit):
        assert svc.url.startswith("http://127.0.0.1:")
        assert listening_addresses(int(svc.url.rsplit(":", 1)[1])) == {"0100007F"}  # 127.0.0.1, nothing else
    # Told otherwise, it does as told, and says so.
    proc = subprocess.Popen([sys.executable, "-m", "infinityframe.cli", "serve", "--data-dir",
                             str(tmp_path / "wide"), "--port", "0", "--host", "0.0.0.0", "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        assert proc.stdout is not None
        while not any("warning" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = next(line.split()[-1] for line in lines if "url:" in line)
        assert "not loopback" in "".join(lines)
        assert listening_addresses(int(url.rsplit(":", 1)[1])) == {"00000000"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- the token, nowhere -----------------------------------------------------------------------------


def chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def exposed(err: BaseException) -> str:
    """Everything an exception shows or keeps within reach: messages, reprs, tracebacks, requests."""
    text = "".join(traceback.format_exception(err))
    for e in chain(err):
        text += repr(e) + repr(e.args) + repr(vars(e))
        request = getattr(e, "request", None)
        if request is not None:
            text += repr(getattr(request, "headers", ""))
    return text


def test_the_token_is_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFINITYFRAME_CACHE_DIR", str(cache))
    with inf.serve(tmp_path / "service", workers=1, rate_limit=None) as service:
        broke = service.create_account("broke", 0)
        wrong = secrets.token_hex(20)
        tokens = {service.token, broke, wrong}
        caplog.set_level(logging.DEBUG)  # after the service configured its loggers
        for name in ("infinityframe", "uvicorn", "uvicorn.error", "uvicorn.access", "urllib3", "fastapi",
                     "starlette", "requests", "hypothesis"):
            caplog.set_level(logging.DEBUG, logger=name)

        sesh = inf.Session(service.token, SHAPES, server=service.url)
        frames: list[pd.DataFrame] = []
        jobs = sesh.sample(3, seed=0, num_images=1, image_width=64, image_height=64)
        frames += [jobs, jobs.infinity.validate(sesh), jobs.infinity.estimate(sesh), sesh.parameters]
        batch = jobs.infinity.submit(sesh, name="secrets")
        frames += [batch.wait(poll=0.1, progress=False), batch.status(), batch.jobs, sesh.batches(1), sesh.usage(1)]
        results = batch.results(tmp_path / "dl")
        frames += [results.jobs, results.frames, results.objects, results.keypoints]
        frames += [results.to_backend("polars").to_backend("pandas").jobs]
        saved = results.to_parquet(tmp_path / "parquet")
        assert list(saved.rglob("*.parquet")), "nothing was written to check"
        shown = [repr(x) for x in (sesh, batch, results, service, sesh._transport, sesh.records)]
        shown += [str(x) for x in (sesh, batch, results, service)]
        shown += [repr(f.attrs) for f in frames]

        errors: list[BaseException] = []
        for attempt in (
            lambda: inf.Session(wrong, SHAPES, server=service.url),
            lambda: inf.Session(service.token, "no-such-generator", server=service.url),
            lambda: sesh.batch(str(uuid.uuid4())),
            lambda: sesh.submit(jobs.assign(num_images=-1)),
            lambda: sesh.submit([{"num_images": "many"}]),
            lambda: inf.Session(broke, SHAPES, server=service.url).submit(jobs, name="no money"),
            lambda: sesh.sample(2, colour="red"),
            lambda: sesh._transport.request("GET", "api/nowhere/"),
        ):
            with pytest.raises(inf.InfinityError) as info:
                attempt()
            errors.append(info.value)
        # A download refused, with the token's session and a signed URL in play.
        (service.data_dir / "results" / f"{batch.job_ids[0]}.zip").write_bytes(b"not a zip")
        with pytest.raises(inf.DownloadError) as info:
            batch.download(tmp_path / "dl2", progress=False)
        errors.append(info.value)
        shown += [exposed(e) for e in errors]

    written = [p for p in [*tmp_path.rglob("*"), *cache.rglob("*")] if p.is_file()]
    client_files = [p for p in written if not p.is_relative_to(tmp_path / "service")]
    service_files = [p for p in written if p.is_relative_to(tmp_path / "service") and p.name != "token"]
    assert any(p.suffix == ".parquet" for p in client_files)
    assert any(p.name.startswith("service.db") for p in service_files)
    for token in tokens:
        assert token not in caplog.text, "a log line holds a token"
        for text in shown:
            assert token not in text, f"a token in: {text[:300]}"
        for path in client_files + service_files:
            data = path.read_bytes()
            assert token.encode() not in data and token.upper().encode() not in data, f"a token in {path}"
    report("token", log_records=len(caplog.records), reprs=len(shown), errors=len(errors),
           files=len(client_files) + len(service_files), held=True)
