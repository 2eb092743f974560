"""The README's main job, ``infinityframe demo``, end to end, and its report opened in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import infinityframe as inf
from infinityframe.errors import InfinityError
from infinityframe.report import Link, Section, anchor, data_uri, render_report, write_report

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
DEMO_JOBS = 12  # as the README runs it: what docs/plots.md says of its learning round is checked
FIGURES = ("params.png", "previews.jpg", "learning_round.png", "learning_previews.jpg",
           "bbox_h_by_camera_distance.png", "brightness_by_lighting_power.png", "frames.jpg")


def chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo run once, as the README runs it: the installed ``infinityframe`` command."""
    out = tmp_path_factory.mktemp("demo")
    script = Path(sys.executable).with_name("infinityframe")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "infinityframe.cli"]
    env = {**os.environ, "INFINITYFRAME_CACHE_DIR": str(tmp_path_factory.mktemp("demo-cache")),
           "PYTHONPROFILEIMPORTTIME": "1"}  # every module imported, on stderr (see test_it_imports_no_seaborn)
    env.pop("INFINITY_TOKEN", None)
    # a relative --out, as in the README (the default is ./infinityframe-demo)
    done = subprocess.run([*command, "demo", "--out", out.name, "--jobs", str(DEMO_JOBS)], cwd=out.parent,
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (out.parent / f"{out.name}.imports").write_text(done.stderr)
    return out, done.stdout


class TestDemo:
    def test_it_says_what_it_wrote(self, demo: tuple[Path, str]) -> None:
        out, stdout = demo
        assert f"{DEMO_JOBS} jobs on http://127.0.0.1:" in stdout
        wrote = stdout.split("; wrote", 1)[1]
        for name in ("report.html", *FIGURES):
            assert str(out / (name if name == "report.html" else f"figures/{name}")) in wrote
        assert f"{out / 'tables'}/" in wrote

    def test_it_imports_no_seaborn(self, demo: tuple[Path, str]) -> None:
        """No figure of the demo needs seaborn, so neither it nor what it loads (pyplot,
        scipy.stats) is imported, by the demo or its render worker; nor scikit-learn."""
        out, _ = demo
        lines = (out.parent / f"{out.name}.imports").read_text().splitlines()
        names = [line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")]
        imported = set(names)
        assert {"infinityframe.demo", "matplotlib.figure", "scipy.optimize"} <= imported  # the log is whole
        assert names.count("numpy") >= 2  # and holds both processes: the demo's and its render worker's
        assert not imported & {"seaborn", "matplotlib.pyplot", "scipy.stats", "sklearn"}

    def test_previews_then_videos_of_the_chosen_ones(self, demo: tuple[Path, str]) -> None:
        out, stdout = demo
        previews = [p for p in (out / "previews").iterdir() if p.is_dir() and not p.name.startswith(".")]
        videos = [p for p in (out / "videos").iterdir() if p.is_dir() and not p.name.startswith(".")]
        assert len(previews) == DEMO_JOBS and len(videos) == DEMO_JOBS // 2
        assert all((p / "video_preview.png").is_file() and not (p / "video.mp4").exists() for p in previews)
        assert all((v / "labels.json").is_file() and (v / "video.mp4").is_file() for v in videos)
        preview_ids = {p.name for p in previews}
        states = {json.loads((v / "job.json").read_text())["params"]["state"] for v in videos}
        assert states <= preview_ids and len(states) == len(videos)  # each video starts from its preview
        for batch in ("previews", "learning", "videos"):
            assert (out / batch / "batch_id.txt").read_text().strip() in stdout
        assert not (out / "service" / "service.json").exists(), "the service stopped cleanly"

    def test_the_tables_are_parquet_of_the_videos(self, demo: tuple[Path, str]) -> None:
        out, _ = demo
        saved = inf.read_results(out / "tables")
        fresh = inf.read_results(out / "videos", cache=False)
        for name in ("jobs", "frames", "objects", "keypoints"):
            assert len(getattr(saved, name)) == len(getattr(fresh, name)) > 0
        assert list((out / "tables").glob("objects/**/*.parquet"))
        # the physics the figures show: boxes shrink as the camera moves away
        by_distance = saved.jobs.sort_values("camera_distance")["mean_bbox_h"].to_numpy()
        assert by_distance[0] > by_distance[-1]

    def test_the_report_is_self_contained(self, demo: tuple[Path, str]) -> None:
        out, _ = demo
        page = (out / "report.html").read_text(encoding="utf-8")
        sources = re.findall(r'<img src="([^"]+)"', page)
        assert len(sources) == len(FIGURES)
        for source, name in zip(sources, FIGURES, strict=True):
            # plots as PNG; the sheets of rendered frames, photographs, as JPEG
            photo = name.endswith(".jpg")
            assert source.startswith("data:image/jpeg;base64," if photo else "data:image/png;base64,")
            embedded = base64.b64decode(source.split(",", 1)[1])
            assert embedded == (out / "figures" / name).read_bytes()
            assert embedded.startswith(JPEG if photo else PNG)
        assert not re.search(r'(src|href)="(?!data:|#)', page) and "<script" not in page  # in-page links only
        assert page.count("<table>") == 4

    def test_the_learning_round_lands_where_it_says(self, demo: tuple[Path, str]) -> None:
        """What the demo prints and reports about its learning round is what the downloaded previews show."""
        out, stdout = demo
        sweep = inf.read_results(out / "previews", cache=False).jobs
        learned = inf.read_results(out / "learning", cache=False).jobs
        assert len(learned) == DEMO_JOBS // 2 and (learned["num_frames"] == 1).all()  # one-frame previews
        assert not set(learned["job_id"]) & set(sweep["job_id"])  # new jobs, not the sweep's again
        def landed(jobs: pd.DataFrame) -> int:  # 25-90% of the person in view; no box at all is none in view
            share = jobs["mean_percent_in_fov"].astype(float).fillna(0.0)
            return int(((share >= 25) & (share < 90)).sum())
        found, before = landed(learned), landed(sweep)
        claim = (f"{found} of {len(learned)} of the learning round's previews have 25-90% of the person in view, "
                 f"against {before} of {len(sweep)} of the sweep's")
        assert claim in stdout
        page = (out / "report.html").read_text(encoding="utf-8")
        assert f"{found} of {len(learned)} landed there, against {before} of {len(sweep)} of the sweep" in page
        # the model found the edge of the frame more often than the even sweep did, as the docs say
        assert found / len(learned) > before / len(sweep)
        docs = " ".join((Path(__file__).resolve().parents[1] / "docs" / "plots.md").read_text().split())
        said = re.search(r"With the defaults, (\d+) of its (\d+) previews land with the person partly out of the "
                         r"frame, against (\d+) of the sweep's (\d+)", docs)
        assert said is not None and tuple(map(int, said.groups())) == (found, len(learned), before, len(sweep))
        # and why the round asks where to look rather than what matters: an effects ranking of the
        # sweep's previews explains their share in view worse than its mean does (docs/plots.md)
        assert "has an out-of-bag R² below zero" in docs
        previews = inf.read_results(out / "previews", cache=False)
        share = previews.jobs.set_index("job_id")["mean_percent_in_fov"].astype(float).fillna(0.0)
        assert previews.effects(share, seed=0).attrs["r2"] < 0
        # the report's table of both rounds says the same, row by row
        table = page.split("Previews of both rounds", 1)[1].split("</table>", 1)[0]
        assert table.count("<tr") - 1 == len(sweep) + len(learned)
        assert table.count("<td>True</td>") == found + before

    def test_each_video_links_to_the_row_of_its_preview(self, demo: tuple[Path, str]) -> None:
        out, _ = demo
        page = (out / "report.html").read_text(encoding="utf-8")
        rows = set(re.findall(r'<tr id="([^"]+)">', page))
        links = re.findall(r'<a href="#([^"]+)">([0-9a-f]{8})</a>', page)
        videos = [p for p in (out / "videos").iterdir() if p.is_dir() and not p.name.startswith(".")]
        starts = {json.loads((v / "job.json").read_text())["params"]["state"] for v in videos}
        assert len(links) == len(videos) and len(rows) == DEMO_JOBS  # a row per preview, a link per video
        by_anchor = {anchor(s): s for s in starts}
        assert {target for target, _ in links} == set(by_anchor) and set(by_anchor) <= rows
        assert all(by_anchor[target].startswith(text) for target, text in links)  # the id prefix, as in the grid
        assert "those chosen for videos outlined" in page


def test_report_opens_in_headless_chromium(demo: tuple[Path, str], tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("no chromium binary (/usr/bin/chromium or chromium on PATH); install it with "
                    "`apt-get install chromium` to check the report renders")
    from playwright.sync_api import sync_playwright

    out, _ = demo
    report = (out / "report.html").resolve()
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({src: i.src.slice(0, 22), complete: i.complete, "
                "width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width}))")
            title = page.title()
            shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert title == "infinityframe demo: a stickfit sweep"
    assert len(images) == len(FIGURES)
    for image in images:
        assert image["complete"] and image["width"] > 300 and image["height"] > 200 and image["shown"] > 300, image
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing fetched from elsewhere

    import cv2

    assert shot[:8] == PNG
    pixels = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
    height, width = pixels.shape[:2]
    assert width >= 1200 and height > 3000  # the whole page: seven figures and four tables
    colours = np.unique(pixels.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 2000 and float(pixels.std()) > 20  # rendered frames and plots, not a blank page


class TestReport:
    def test_figures_tables_and_paths_are_embedded(self, tmp_path: Path) -> None:
        fig = Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, 1], [1, 0])
        png_file = tmp_path / "a.png"
        fig.savefig(png_file)
        table = pd.DataFrame({"name": ["<script>alert(1)</script>", "b"], "value": [1.23456, np.nan]})
        path = write_report(tmp_path / "out" / "r.html", "A & B", [
            Section("Figures", text=["one", "two < three"], figures={"from a figure": fig, "from a file": png_file,
                                                                  "from bytes": png_file.read_bytes()}),
            Section("Tables", tables={"small": table, "polars": __import__("polars").from_pandas(table)},
                    max_rows=1),
        ], subtitle="sub")
        page = path.read_text(encoding="utf-8")
        assert page.count("data:image/png;base64,") == 3
        assert "<title>A &amp; B</title>" in page and "<p>two &lt; three</p>" in page
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert "1.235" in page and page.count("first 1 of 2 rows") == 2
        assert "default-src 'none'" in page  # the page may load nothing from elsewhere

    def test_hostile_text_is_escaped_everywhere(self, tmp_path: Path) -> None:
        evil = '<script>alert("x")</script>'
        jobs = pd.DataFrame({"job_id": ["a", "b"], "lighting_power": [evil, "50"], evil: [1, 2]})
        links = pd.DataFrame({"to": [Link(evil, 'a" onclick="x'), Link("b", "b")]})
        fig = Figure(figsize=(1, 1))
        page = render_report(evil, [Section(evil, text=[evil, "plain"], figures={f'{evil}" onload="x': fig},
                                            tables={evil: jobs, "polars": __import__("polars").from_pandas(jobs),
                                                    "links": links},
                                            anchors={evil: "lighting_power"})],
                             subtitle=evil)
        assert "<script" not in page.lower(), "hostile text reached the page as markup"
        assert 'onload="x"' not in page and 'onclick="x"' not in page  # no attribute broke out of alt="" or href=""
        escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"  # Jinja's escaping
        # title, h1, subtitle, h2, paragraph, figure alt and caption, a table caption; a cell and a header per
        # table; a link's text
        assert page.count(escaped) == 13
        assert '<tr id="row-_script_alert__x____script_">' in page  # an anchor is made of safe characters alone
        assert '<a href="#row-a__onclick__x">' in page and "<p>plain</p>" in page

    def test_link_cells_point_at_anchored_rows(self, tmp_path: Path) -> None:
        targets = pd.DataFrame({"job_id": ["a-1", "b 2"], "x": [1, 2]})
        links = pd.DataFrame({"to": [Link("first", "a-1"), Link("<b>", "b 2")]})
        page = render_report("links", [Section("T", tables={"targets": targets, "links": links},
                                               anchors={"targets": "job_id"})])
        assert '<tr id="row-a-1">' in page and '<tr id="row-b_2">' in page
        assert '<a href="#row-a-1">first</a>' in page and '<a href="#row-b_2">&lt;b&gt;</a>' in page
        with pytest.raises(InfinityError, match="'targets' is anchored by column 'id', which it does not have"):
            render_report("links", [Section("T", tables={"targets": targets}, anchors={"targets": "id"})])

    def test_data_uri_round_trips_and_refuses_other_formats(self, tmp_path: Path) -> None:
        fig = Figure(figsize=(1, 1))
        uri = data_uri(fig, dpi=50)
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == PNG
        from PIL import Image

        Image.new("RGB", (4, 4), (200, 30, 30)).save(tmp_path / "x.jpg", format="jpeg")
        photo = data_uri(tmp_path / "x.jpg")
        assert photo.startswith("data:image/jpeg;base64,")
        assert base64.b64decode(photo.split(",", 1)[1]) == (tmp_path / "x.jpg").read_bytes()
        Image.new("RGB", (4, 4)).save(tmp_path / "x.gif", format="gif")
        with pytest.raises(InfinityError, match=r"x\.gif' is not a PNG or JPEG image\. Only PNG and JPEG"):
            data_uri(tmp_path / "x.gif")
        with pytest.raises(InfinityError, match=r"These bytes are not a PNG or JPEG image"):
            data_uri(b"GIF89a")
        with pytest.raises(InfinityError, match=r"Section 'Shots', figure 'photo': .*x\.gif"):
            render_report("r", [Section("Shots", figures={"photo": tmp_path / "x.gif"})])
        assert "<section>" not in render_report("empty", [])
