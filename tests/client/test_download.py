"""Downloads: whole job folders only, resumable, refusing archives that would escape."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

import infinityframe as inf
from _service import RunningService, extracted_jobs
from infinityframe.client import download as download_module
from infinityframe.client.download import safe_extract

SHAPES = "shapes-v0.1.0"


def expected_files(service: RunningService, job_id: str) -> set[str]:
    with zipfile.ZipFile(service.data_dir / "results" / f"{job_id}.zip") as zf:
        return {n.split("/", 1)[1] for n in zf.namelist() if not n.endswith("/")}


def folder_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def big_batch(service: RunningService) -> inf.Batch:
    """Jobs with multi-megabyte zips, so a download takes long enough to be interrupted."""
    sesh = inf.Session(service.token, SHAPES, server=service.url)
    jobs = [{"num_images": 12, "image_width": 512, "image_height": 512, "background": "NOISE",
             "num_objects": 2 + i % 5} for i in range(16)]
    batch = sesh.submit(jobs, name="big", mode="force")
    batch.wait(progress=False)
    return batch


class TestResume:
    def test_killed_download_resumes_without_refetching(self, service: RunningService, big_batch: inf.Batch,
                                                        tmp_path: Path) -> None:
        folder = tmp_path / "dl"
        script = textwrap.dedent(f"""
            import infinityframe as inf
            from infinityframe.client import download
            sesh = inf.Session({service.token!r}, {SHAPES!r}, server={service.url!r})
            batch = sesh.batch({big_batch.id!r})
            download.download_batch(batch, __import__("pathlib").Path({str(folder)!r}), progress=False, workers=1)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = [p for p in folder.glob("*") if p.is_dir() and not p.name.startswith(".")] if folder.exists() else []
            if len(done) >= 3:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        assert 3 <= len(first) < big_batch.num_jobs, "the kill must land mid-download"
        for job_id in first:  # every folder that exists is whole
            assert folder_files(folder / job_id) == expected_files(service, job_id)

        with extracted_jobs() as fetched:
            big_batch.download(folder, progress=False)
        assert not set(fetched) & set(first)
        assert sorted(fetched) == sorted(set(big_batch.job_ids) - set(first))
        for job_id in big_batch.job_ids:
            assert folder_files(folder / job_id) == expected_files(service, job_id)
        assert not (folder / download_module.STAGING).exists()


class TestRefusals:
    def test_another_batchs_folder(self, big_batch: inf.Batch, tmp_path: Path) -> None:
        (tmp_path / "batch_id.txt").write_text("5291a594-f9b4-4b67-a7e7-e32e4c92b7aa")
        with pytest.raises(inf.DownloadError, match="holds batch 5291a594"):
            big_batch.download(tmp_path, progress=False)
        assert [p.name for p in tmp_path.iterdir()] == ["batch_id.txt"]

    def test_zip_slip_end_to_end(self, service: RunningService, tmp_path: Path) -> None:
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        batch = sesh.submit([{"num_images": 1, "image_width": 64, "num_objects": n} for n in (1, 2)],
                            name="slip", mode="force")
        batch.wait(progress=False)
        evil_job, good_job = batch.job_ids
        # The service serves whatever zip is in its results folder: plant a malicious one.
        with zipfile.ZipFile(service.data_dir / "results" / f"{evil_job}.zip", "w") as zf:
            zf.writestr(f"{evil_job}/job.json", "{}")
            zf.writestr(f"{evil_job}/../../escaped.txt", "gotcha")
        target = tmp_path / "deep" / "dl"
        with pytest.raises(inf.DownloadError, match=f"{evil_job}.*escape") as info:
            batch.download(target, progress=False)
        assert "1 of 2" in str(info.value)
        assert not list(tmp_path.rglob("escaped.txt"))
        assert not (target / evil_job).exists()
        assert folder_files(target / good_job) == expected_files(service, good_job)

    def test_corrupt_zip_is_refused_and_others_kept(self, service: RunningService, tmp_path: Path) -> None:
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        batch = sesh.submit([{"num_images": 2, "image_width": 64, "num_objects": n} for n in (3, 4, 5)],
                            name="crc", mode="force")
        batch.wait(progress=False)
        bad = batch.job_ids[1]
        path = service.data_dir / "results" / f"{bad}.zip"
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as zf:
            info = next(i for i in zf.infolist() if i.filename.endswith("labels.json"))
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(inf.DownloadError, match=bad):
            batch.download(tmp_path, progress=False)
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(set(batch.job_ids) - {bad})


class TestSafeExtract:
    def make(self, tmp_path: Path, members: dict[str, str], symlink: str | None = None) -> Path:
        archive = tmp_path / "job.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for name, text in members.items():
                zf.writestr(name, text)
            if symlink is not None:
                info = zipfile.ZipInfo(symlink)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, "/etc/passwd")
        return archive

    @pytest.mark.parametrize("name", ["j/../../x", "/abs/x", "..\\x", "C:/x", "j/a/../../../x"])
    def test_escaping_members(self, tmp_path: Path, name: str) -> None:
        archive = self.make(tmp_path, {"j/ok.txt": "ok", name: "bad"})
        with pytest.raises(inf.DownloadError, match="refused"):
            safe_extract(archive, "j", tmp_path / "out")
        assert not (tmp_path / "x").exists()

    def test_symlink_member(self, tmp_path: Path) -> None:
        archive = self.make(tmp_path, {"j/ok.txt": "ok"}, symlink="j/link")
        with pytest.raises(inf.DownloadError, match="symbolic link"):
            safe_extract(archive, "j", tmp_path / "out")

    def test_other_folders(self, tmp_path: Path) -> None:
        archive = self.make(tmp_path, {"j/ok.txt": "ok", "k/other.txt": "no"})
        with pytest.raises(inf.DownloadError, match="another job's folder"):
            safe_extract(archive, "j", tmp_path / "out")

    def test_a_path_both_file_and_folder(self, tmp_path: Path) -> None:
        archive = self.make(tmp_path, {"j/ok.txt": "ok", "j/a": "a file", "j/a/b.txt": "inside a folder"})
        with pytest.raises(inf.DownloadError, match=r"Job j: .*'a' is both a file and a folder"):
            safe_extract(archive, "j", tmp_path / "out")
        assert not (tmp_path / "out" / "j" / "ok.txt").exists(), "refused before anything was written"

    def test_flat_archive_goes_into_the_job_folder(self, tmp_path: Path) -> None:
        archive = self.make(tmp_path, {"job.json": "{}", "labels.json": "{}"})
        folder = safe_extract(archive, "j", tmp_path / "out")
        assert folder_files(folder) == {"job.json", "labels.json"}

    def test_not_a_zip(self, tmp_path: Path) -> None:
        archive = tmp_path / "job.zip"
        archive.write_bytes(b"<html>AccessDenied</html>")
        with pytest.raises(inf.DownloadError, match="not a whole zip"):
            safe_extract(archive, "j", tmp_path / "out")
