"""A client that trusts no server: a real Session against a hostile one on loopback.

Each attack of issue 13 that once got through, and its neighbours: job and batch ids shaped as
paths, zip bombs (one member, many members, many small ones), gzip-bomb and oversized JSON,
slow-loris replies (status line, headers, body; on a poll and on a download), redirect loops,
redirects off the server or to ``file://``, and result URLs that are not http(s). Every test
checks what the client raised (an ``InfinityError`` saying what and where, never the token or a
URL's signature), that nothing outside the download folder changed, and that no staging folder
or half-written job is left. The limits are shrunk where the defaults would make a test slow.
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
import traceback
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import infinityframe as inf
from _hostile import (
    GENERATOR,
    SIGNATURE,
    TOKEN,
    HostileServer,
    Job,
    deflated,
    gzip_bomb,
    job_zip,
    redirect,
    send,
    send_json,
    snapshot,
    trickle,
)
from _service import FIXTURES
from infinityframe.client import Limits, RetryPolicy
from infinityframe.client.download import STAGING, safe_extract

GOOD = "1b3f73c9-0e95-46f7-93c3-ce0ae516b413"
OTHER = "cd588005-8b14-4e0e-a501-8f469c7b5255"
BATCH = "5291a594-f9b4-4b67-a7e7-e32e4c92b7aa"
JSON = {"Content-Type": "application/json"}


def session(server: HostileServer, **limits: Any) -> inf.Session:
    return inf.Session(TOKEN, GENERATOR, server=server.url, timeout=(2, 5),
                       retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05), limits=Limits(**limits))


def secret_free(err: BaseException) -> str:
    """The error's whole story (causes, args, traceback); asserts it holds no credential."""
    text = "".join(traceback.format_exception(err))
    seen: BaseException | None = err
    while seen is not None:
        text += repr(seen.args)
        seen = seen.__cause__ or seen.__context__
    assert TOKEN not in text, "the token is in an error"
    assert SIGNATURE not in text, "a result URL's signature is in an error"
    return str(err)


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@dataclasses.dataclass
class Scene:
    """tmp_path with a bystander folder beside the download folder, and what it held before."""

    root: Path
    folder: Path
    outside: Path
    before: dict[str, tuple[str, int, str]]

    def check(self, whole: tuple[str, ...] = ()) -> None:
        """Nothing outside changed; no staging; the folder holds only the marker and ``whole`` jobs."""
        assert snapshot(self.root, skip=self.folder) == self.before, "something outside the download folder changed"
        assert not (self.folder / STAGING).exists(), "a staging folder was left behind"
        held = sorted(p.name for p in self.folder.iterdir()) if self.folder.exists() else []
        assert held == sorted({*whole, "batch_id.txt"} if held else whole), held
        for job_id in whole:
            assert sorted(p.name for p in (self.folder / job_id).iterdir()) == ["job.json", "labels.json"]


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    outside = tmp_path / "outside"
    (outside / "victim.d").mkdir(parents=True)
    (outside / "victim.d" / "precious.txt").write_text("not yours to delete")
    (outside / "keep.txt").write_text("keep")
    return Scene(tmp_path, tmp_path / "dl", outside, snapshot(tmp_path, skip=tmp_path / "dl"))


@pytest.fixture
def good() -> Job:
    return Job(GOOD, job_zip(GOOD))


def serve(*jobs: Job, **kw: Any) -> HostileServer:
    return HostileServer(list(jobs), batch_id=BATCH, **kw)


@pytest.fixture
def big_zeros() -> Iterator[bytes]:
    """64 MiB of zeros in one member: about 64 KiB packed, a ratio near 1000."""
    yield zip_of({f"{OTHER}/labels.json": bytes(64 << 20)})


# -- the control: a well-behaved batch downloads whole --------------------------------------------------


def test_a_well_behaved_server_downloads_whole(scene: Scene, good: Job) -> None:
    with serve(good, Job(OTHER, job_zip(OTHER))) as server:
        sesh = session(server)
        batch = sesh.batch(BATCH)
        assert list(batch.wait(poll=0.05, progress=False)["status"]) == ["succeeded"] * 2
        assert batch.download(scene.folder, progress=False) == scene.folder
    scene.check(whole=(GOOD, OTHER))
    assert (scene.folder / "batch_id.txt").read_text() == BATCH
    fetched = [s for s in server.seen if s.path.startswith("/results/")]
    assert len(fetched) == 2 and not any("Authorization" in s.headers for s in fetched)


# -- ids shaped as paths ------------------------------------------------------------------------------

BAD_IDS = ["<abs>", "../x", "../outside/victim", "batch_id.txt", STAGING, "", ".", "a" * 5000,
           GOOD.upper(), GOOD + "\n", " " + GOOD, GOOD.replace("-", ""), f"{GOOD}/../{OTHER}", 123, None]


class TestPathLikeIds:
    @pytest.mark.parametrize("overwrite", [False, True])
    @pytest.mark.parametrize("bad", BAD_IDS, ids=lambda b: repr(b)[:20])
    def test_a_job_id_is_never_a_path(self, scene: Scene, good: Job, bad: Any, overwrite: bool) -> None:
        bad = str(scene.outside / "victim") if bad == "<abs>" else bad
        truncated = job_zip(str(bad))[:-40]  # as in the attack: a cut zip, whose clean-up once deleted `<id>.d/`
        flat = zip_of({"job.json": b"{}"})  # a flat archive once landed in `<abs path>.old/`
        with serve(good, Job(bad, truncated if not overwrite else flat)) as server:
            if not isinstance(bad, str) or not bad:
                # Not even an id: the batch itself is refused as the service described it.
                with pytest.raises(inf.ServiceError, match=f"Batch {BATCH}: job run 1 .* has no id") as info:
                    session(server).batch(BATCH)
            else:
                batch = session(server).batch(BATCH)
                with pytest.raises(inf.DownloadError) as info:
                    batch.download(scene.folder, overwrite=overwrite, progress=False)
                assert "not a UUID" in str(info.value) and repr(bad)[:60] in str(info.value)
            assert server.hits("/results/") == 0, "nothing is fetched for a batch with a bad id"
        message = secret_free(info.value)
        assert BATCH in message
        assert len(message) < 400
        assert not scene.folder.exists(), "nothing was written"
        scene.check()

    @pytest.mark.parametrize("reported", ["../../evil", "<abs>", "batch_id.txt", "", GOOD.upper(), 7])
    def test_a_batch_id_is_never_a_path(self, scene: Scene, good: Job, reported: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
        reported = str(scene.outside / "victim") if reported == "<abs>" else reported
        cwd = scene.root / "cwd"
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        before = snapshot(scene.root)
        with serve(good, reported_id=reported) as server:
            if not isinstance(reported, str) or not reported:
                # Not even an id: refused where the batch is read, before any folder is named after it.
                with pytest.raises(inf.ServiceError, match="a batch that has no usable id"):
                    session(server).batch(BATCH)
            else:
                batch = session(server).batch(BATCH)
                asked = len(server.seen)
                # The default folder is infinity-batches/<batch id>: Batch.download builds it.
                for path in (None, scene.folder):
                    with pytest.raises(inf.DownloadError, match=r"the batch id .* not a UUID") as info:
                        batch.download(path, progress=False)
                    assert repr(reported)[:60] in secret_free(info.value)
                assert len(server.seen) == asked, "nothing was asked with a bad batch id"
        assert snapshot(scene.root) == before

    def test_a_job_listed_twice(self, scene: Scene, good: Job) -> None:
        with serve(good, Job(GOOD, job_zip(GOOD))) as server, \
                pytest.raises(inf.DownloadError, match=f"listed job {GOOD} twice"):
            session(server).batch(BATCH).download(scene.folder, progress=False)
        assert not scene.folder.exists()
        scene.check()

    def test_a_marker_that_is_a_folder(self, scene: Scene, good: Job) -> None:
        (scene.folder / "batch_id.txt").mkdir(parents=True)  # what the old client left for a job "batch_id.txt"
        with serve(good) as server, pytest.raises(inf.DownloadError, match="not a plain file"):
            session(server).batch(BATCH).download(scene.folder, progress=False)
        assert [p.name for p in scene.folder.iterdir()] == ["batch_id.txt"]
        assert snapshot(scene.root, skip=scene.folder) == scene.before

    def test_a_staging_link_is_not_followed(self, scene: Scene, good: Job) -> None:
        scene.folder.mkdir()
        (scene.folder / STAGING).symlink_to(scene.outside / "victim.d")
        with serve(good) as server:
            session(server).batch(BATCH).download(scene.folder, progress=False)
        scene.check(whole=(GOOD,))

    def test_a_job_folder_linked_outside_is_not_overwritten(self, scene: Scene, good: Job) -> None:
        scene.folder.mkdir()
        (scene.folder / GOOD).symlink_to(scene.outside / "victim.d")
        with serve(good) as server, pytest.raises(inf.DownloadError, match="leads out of the download folder"):
            session(server).batch(BATCH).download(scene.folder, overwrite=True, progress=False)
        assert snapshot(scene.root, skip=scene.folder) == scene.before
        assert (scene.folder / GOOD).is_symlink() and not (scene.folder / STAGING).exists()


# -- archives that unpack past belief ----------------------------------------------------------------


class TestZipBombs:
    def refused(self, scene: Scene, good: Job, bomb: bytes, match: str, **limits: Any) -> None:
        with serve(good, Job(OTHER, bomb)) as server:
            started = time.monotonic()
            with pytest.raises(inf.DownloadError, match=match) as info:
                session(server, **limits).batch(BATCH).download(scene.folder, progress=False)
            assert time.monotonic() - started < 10
        message = secret_free(info.value)
        assert OTHER in message and "1 of 2 job(s)" in message
        scene.check(whole=(GOOD,))

    def test_one_member_at_1000_to_1(self, scene: Scene, good: Job, big_zeros: bytes) -> None:
        assert len(big_zeros) < 100_000
        self.refused(scene, good, big_zeros, r"would unpack from .* to 64 MiB \(a zip bomb\? Limits.max_ratio")

    def test_many_small_members_each_under_the_floor(self, scene: Scene, good: Job) -> None:
        members = {f"{OTHER}/part{i}.bin": bytes((1 << 20) - 1) for i in range(48)}
        self.refused(scene, good, zip_of(members), r"would unpack to 48 MiB \(a zip bomb\?")

    def test_many_members(self, scene: Scene, good: Job) -> None:
        members = {f"{OTHER}/{i}": b"" for i in range(10_001)}
        self.refused(scene, good, zip_of(members, zipfile.ZIP_STORED), r"declares 10,001 members")

    def test_unpacked_size(self, scene: Scene, good: Job) -> None:
        bomb = zip_of({f"{OTHER}/video.mp4": os.urandom(2 << 20)}, zipfile.ZIP_STORED)
        self.refused(scene, good, bomb, r"unpack to 2 MiB \(Limits.max_unpacked_bytes is 1 MiB\)",
                     max_unpacked_bytes=1 << 20)

    @pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
    def test_download_size(self, scene: Scene, good: Job, chunked: bool) -> None:
        big = zip_of({f"{OTHER}/video.mp4": os.urandom(1 << 20)}, zipfile.ZIP_STORED)
        with serve(good, Job(OTHER, big)) as server:
            server.route("/results/1.zip", lambda h: send(h, big, headers={"Content-Type": "application/zip"},
                                                          chunked=chunked))
            with pytest.raises(inf.DownloadError, match=r"more than 256 KiB \(Limits.max_download_bytes\)") as info:
                session(server, max_download_bytes=256 << 10).batch(BATCH).download(scene.folder, progress=False)
        secret_free(info.value)
        scene.check(whole=(GOOD,))

    def test_limits_can_be_raised(self, scene: Scene, good: Job, big_zeros: bytes) -> None:
        with serve(good, Job(OTHER, big_zeros)) as server:
            session(server, max_ratio=2000).batch(BATCH).download(scene.folder, progress=False)
        assert (scene.folder / OTHER / "labels.json").stat().st_size == 64 << 20


# -- JSON replies past their cap ---------------------------------------------------------------------


def peak_while(call: Any) -> tuple[BaseException, int]:
    """The error ``call`` raised and the peak of memory traced while it ran."""
    tracemalloc.start()
    try:
        try:
            call()
        except inf.InfinityError as err:
            return err, tracemalloc.get_traced_memory()[1]
        raise AssertionError("no error was raised")
    finally:
        tracemalloc.stop()


class TestJsonReplies:
    def test_gzip_bomb(self, scene: Scene, good: Job) -> None:
        bomb = gzip_bomb(256)
        assert len(bomb) < 400_000  # 256 MiB once inflated
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/",
                         lambda h: send(h, bomb, headers={**JSON, "Content-Encoding": "gzip"}))
            batch = session(server, max_json_bytes=1 << 20).batch(BATCH)
            err, peak = peak_while(batch.status)
            assert isinstance(err, inf.ServiceError)
            assert "more than 1 MiB (Limits.max_json_bytes, counted after decoding)" in secret_free(err)
            assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB held while refusing"
            with pytest.raises(inf.ServiceError, match="max_json_bytes"):
                batch.download(scene.folder, progress=False)
        scene.check()

    def test_gzip_bomb_in_an_error_reply(self, good: Job) -> None:
        bomb = gzip_bomb(256)
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/",
                         lambda h: send(h, bomb, 404, headers={**JSON, "Content-Encoding": "gzip"}))
            batch = session(server).batch(BATCH)
            err, peak = peak_while(batch.status)
        assert isinstance(err, inf.BatchNotFoundError) and BATCH in secret_free(err)
        assert peak < 16 << 20

    @pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
    def test_oversized(self, good: Job, chunked: bool) -> None:
        body = b'{"job_runs": [], "pad": "' + b" " * (3 << 20) + b'"}'
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/", lambda h: send(h, body, headers=JSON, chunked=chunked))
            batch = session(server, max_json_bytes=1 << 20).batch(BATCH)
            with pytest.raises(inf.ServiceError, match=r"more than 1 MiB \(Limits.max_json_bytes") as info:
                batch.status()
        assert f"/api/batch/{BATCH}/summary/" in secret_free(info.value)

    def test_nested_past_the_stack(self, good: Job) -> None:
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/", lambda h: send(h, b"[" * 200_000, headers=JSON))
            with pytest.raises(inf.ServiceError, match="not JSON"):
                session(server).batch(BATCH).status()

    @pytest.mark.parametrize("coding", ["gzip", "deflate", "raw deflate"])
    def test_encoded_replies_are_decoded(self, good: Job, coding: str) -> None:
        import gzip
        import json

        body = json.dumps({"job_runs": [{"id": GOOD, "in_progress": False, "result_url": None}]}).encode()
        encoded = gzip.compress(body) if coding == "gzip" else deflated(body, raw=coding == "raw deflate")
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/", lambda h: send(
                h, encoded, headers={**JSON, "Content-Encoding": coding.split()[-1]}, chunked=True))
            status = session(server).batch(BATCH).status()
        assert list(status["job_id"]) == [GOOD] and list(status["status"]) == ["failed"]

    def test_an_encoding_not_asked_for(self, good: Job) -> None:
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/",
                         lambda h: send(h, b"\x00" * 100, headers={**JSON, "Content-Encoding": "br"}))
            with pytest.raises(inf.ServiceError, match="Content-Encoding 'br'"):
                session(server).batch(BATCH).status()
            assert "br" not in server.seen[-1].headers.get("Accept-Encoding", "")

    def test_a_gzip_encoded_result_zip(self, scene: Scene, good: Job) -> None:
        import gzip

        with serve(good) as server:
            headers = {"Content-Type": "application/zip", "Content-Encoding": "gzip"}
            server.route("/results/0.zip", lambda h: send(h, gzip.compress(good.archive), headers=headers))
            session(server).batch(BATCH).download(scene.folder, progress=False)
        scene.check(whole=(GOOD,))


# -- slow-loris ------------------------------------------------------------------------------------------


class TestSlowLoris:
    """One byte every 0.1 s, each well inside the 5 s read timeout: only the deadline ends it."""

    @pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
    @pytest.mark.parametrize("call", ["status", "wait"])
    def test_a_poll(self, good: Job, in_headers: bool, call: str) -> None:
        with serve(good) as server:
            batch = session(server, request_seconds=1.0).batch(BATCH)
            server.route(f"/api/batch/{BATCH}/summary/", trickle(0.1, in_headers=in_headers))
            started = time.monotonic()
            with pytest.raises(inf.ServiceError, match=r"did not finish within 1 s \(Limits.request_seconds\)") as info:
                batch.status() if call == "status" else batch.wait(poll=0.05, progress=False)
            elapsed = time.monotonic() - started
            assert elapsed < 3.0, f"held for {elapsed:.1f} s"
            assert f"/api/batch/{BATCH}/summary/" in secret_free(info.value)
            deadline = time.monotonic() + 2
            while not server.gave_up and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.gave_up, "the client hung up"

    @pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
    def test_a_download(self, scene: Scene, good: Job, in_headers: bool) -> None:
        with serve(good, Job(OTHER, job_zip(OTHER))) as server:
            server.route("/results/1.zip", trickle(0.1, in_headers=in_headers))
            started = time.monotonic()
            with pytest.raises(inf.DownloadError, match=r"did not finish within 1 s \(Limits.download_seconds\)") \
                    as info:
                session(server, download_seconds=1.0).batch(BATCH).download(scene.folder, progress=False)
            assert time.monotonic() - started < 3.0
        assert OTHER in secret_free(info.value)
        scene.check(whole=(GOOD,))


    def test_a_retry_after_past_the_deadline_is_the_answer(self, good: Job) -> None:
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/", lambda h: send(
                h, b'{"detail": "Slow down."}', 429, headers={**JSON, "Retry-After": "30"}))
            sesh = session(server, request_seconds=2.0)
            sesh._transport.retry = RetryPolicy(attempts=5, backoff=0.01, max_backoff=60)
            started = time.monotonic()
            with pytest.raises(inf.RateLimitError, match="Slow down") as info:
                sesh.batch(BATCH).status()
            assert time.monotonic() - started < 1.0, "no wait that the deadline cannot afford"
            assert info.value.retry_after == 30 and server.hits(f"/api/batch/{BATCH}/summary/") == 1


# -- redirects and result URLs that are not http(s) -----------------------------------------------------


def trickle_forever(h: Any) -> None:
    try:
        for _ in range(300):
            time.sleep(0.1)
            h.wfile.write(b" ")
            h.wfile.flush()
    except OSError:
        pass


def next_hop(h: Any) -> str:
    return f"/loop/{int(h.path.split('?')[0].rsplit('/', 1)[1]) + 1}?signature={SIGNATURE}"


class TestRedirects:
    def test_a_result_url_loop(self, scene: Scene, good: Job) -> None:
        with serve(good, Job(OTHER, b"", result_url="")) as server:
            server.jobs[1].result_url = f"{server.url}/loop/0?signature={SIGNATURE}"
            server.route("/loop/*", redirect(next_hop))
            with pytest.raises(inf.DownloadError, match=r"redirected more than 5 times .*max_redirects") as info:
                session(server).batch(BATCH).download(scene.folder, progress=False)
            assert server.hits("/loop/") == 6
        secret_free(info.value)
        scene.check(whole=(GOOD,))

    def test_a_summary_loop_leaves_nothing(self, scene: Scene, good: Job) -> None:
        with serve(good) as server:
            server.route(f"/api/batch/{BATCH}/summary/", redirect(f"/api/batch/{BATCH}/summary/"))
            batch = session(server).batch(BATCH)
            with pytest.raises(inf.ServiceError, match="redirected more than 5 times"):
                batch.status()
            with pytest.raises(inf.ServiceError, match="redirected more than 5 times"):
                batch.download(scene.folder, progress=False)
        scene.check()
        assert not scene.folder.exists()

    def test_the_token_is_not_sent_off_the_server(self, good: Job) -> None:
        with serve(good) as server, HostileServer([]) as elsewhere:
            server.route(f"/api/batch/{BATCH}/summary/", redirect(f"{elsewhere.url}/api/batch/{BATCH}/summary/"))
            with pytest.raises(inf.ServiceError, match="off the server; the token is sent only to"):
                session(server).batch(BATCH).status()
        assert elsewhere.seen == []

    def test_a_result_url_redirected_once_is_followed(self, scene: Scene, good: Job) -> None:
        with serve(good) as server:
            server.jobs[0].result_url = f"{server.url}/store/0?signature={SIGNATURE}"
            server.route("/store/*", redirect(lambda h: server.result_url(0), 307))
            session(server).batch(BATCH).download(scene.folder, progress=False)
        scene.check(whole=(GOOD,))

    def test_a_redirect_body_is_never_read(self, scene: Scene, good: Job) -> None:
        bomb = gzip_bomb(256)

        def bomb_then_go(h: Any) -> None:  # a 302 whose body is a gzip bomb, then a trickle that never ends
            h.send_response(302)
            h.send_header("Location", server.result_url(0))
            h.send_header("Content-Encoding", "gzip")
            h.send_header("Content-Length", str(len(bomb) + 10_000_000))
            h.end_headers()
            h.wfile.write(bomb)
            trickle_forever(h)

        with serve(good) as server:
            server.jobs[0].result_url = f"{server.url}/store/0?signature={SIGNATURE}"
            server.route("/store/*", bomb_then_go)
            sesh = session(server, download_seconds=5.0)
            started = time.monotonic()
            tracemalloc.start()
            try:
                sesh.batch(BATCH).download(scene.folder, progress=False)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert time.monotonic() - started < 3.0
        assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB held for a redirect"
        scene.check(whole=(GOOD,))

    @pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x.zip", "http://[::1/x"])
    def test_a_result_url_redirected_off_http(self, scene: Scene, good: Job, location: str) -> None:
        with serve(good) as server:
            server.route("/results/0.zip", redirect(location))
            with pytest.raises(inf.DownloadError, match=f"{GOOD}: .*(not an http\\(s\\) URL|invalid URL)") as info:
                session(server).batch(BATCH).download(scene.folder, progress=False)
        secret_free(info.value)
        scene.check()


ODD_URLS = [f"file:///etc/passwd?signature={SIGNATURE}", "ftp://127.0.0.1/x.zip", "http:///no-host.zip",
            "javascript:alert(1)", "//127.0.0.1/no-scheme.zip", "http://[::1/x.zip", 123, {"url": "x"}, ["x"]]


@pytest.mark.parametrize("url", ODD_URLS, ids=lambda u: repr(u)[:24])
def test_result_urls_that_are_not_http(scene: Scene, good: Job, url: Any) -> None:
    with serve(good, Job(OTHER, b"", result_url=url)) as server, \
            pytest.raises(inf.DownloadError, match=f"1 of 2 job.*\n  {OTHER}: ") as info:
        session(server).batch(BATCH).download(scene.folder, progress=False)
    message = secret_free(info.value)
    assert "not an http(s) URL" in message or "not a string" in message
    scene.check(whole=(GOOD,))


def test_a_bad_port_is_a_service_error(scene: Scene, good: Job) -> None:
    bad_port = "http://127.0.0.1:99999/x.zip"
    with serve(good, Job(OTHER, b"", result_url=bad_port)) as server, \
            pytest.raises(inf.DownloadError, match=f"{OTHER}: GET '{bad_port}' failed: InvalidURL; refused") as info:
        session(server).batch(BATCH).download(scene.folder, progress=False)
    secret_free(info.value)
    scene.check(whole=(GOOD,))


def test_default_limits_are_far_above_a_real_job(tmp_path: Path) -> None:
    """The real fixture's jobs: a few MB, 6 members, ratios under 6 (../shared/fixtures/infinity-v0.4.0)."""
    fixture = FIXTURES / "infinity-v0.4.0"
    if not fixture.is_dir():
        pytest.skip(f"the real Infinity v0.4.0 fixture is not at {fixture}")
    for job in sorted(p for p in fixture.iterdir() if p.is_dir()):
        archive = tmp_path / f"{job.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:  # as the service packs a job
            for member in sorted(job.iterdir()):
                zf.write(member, f"{job.name}/{member.name}")
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
        assert archive.stat().st_size < 4 << 20 and len(infos) == 6
        assert sum(i.file_size for i in infos) < 8 << 20
        assert max(i.file_size / max(1, i.compress_size) for i in infos) < 6
        assert safe_extract(archive, job.name, tmp_path / "out").is_dir()  # the defaults take it whole
    limits = Limits()
    assert limits.max_download_bytes >= 500 * (4 << 20) and limits.max_members >= 1000 * 6
    assert limits.max_ratio >= 30 * 6 and limits.request_seconds >= 60 and limits.download_seconds >= 600
    with pytest.raises(ValueError, match="max_ratio must be a positive number"):
        Limits(max_ratio=0)
    assert str(uuid.UUID(BATCH)) == BATCH


@pytest.mark.parametrize("summary", [{"job_runs": "nope"}, {"job_runs": [1, 2]}, {"job_runs": [{"state": "x"}]},
                                     [], {"nothing": True}], ids=repr)
@pytest.mark.parametrize("call", ["status", "wait", "remaining"])
def test_a_summary_of_the_wrong_shape_is_a_service_error(good: Job, summary: Any, call: str) -> None:
    with serve(good) as server:
        server.route(f"/api/batch/{BATCH}/summary/", lambda h: send_json(h, summary))
        batch = session(server).batch(BATCH)
        method = getattr(batch, call)
        with pytest.raises(inf.ServiceError, match=f"Batch {BATCH}"):
            method(progress=False) if call == "wait" else method()


@pytest.mark.parametrize("status", [400, 404, 500])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_a_server_echoing_the_token_does_not_get_it_into_the_error(good: Job, status: int, as_json: bool) -> None:
    def echo(h: Any) -> None:  # a debug page or a proxy that repeats the request's headers
        said = f"you sent {h.headers.get('Authorization', '')}; " * 40  # past the 1000 characters kept
        if as_json:
            send_json(h, {"detail": said}, status)
        else:
            send(h, said.encode(), status, headers={"Content-Type": "text/plain"})

    with serve(good) as server:
        batch = session(server).batch(BATCH)
        server.route(f"/api/batch/{BATCH}/summary/", echo)
        with pytest.raises(inf.InfinityError) as info:
            batch.status()
    assert "you sent Token <token>;" in secret_free(info.value)
