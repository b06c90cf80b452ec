"""The download page in a real browser (issue #5): headless Chromium (Debian's, via Playwright
for Python; no browser is downloaded) against ``villagewatch serve`` started as a subprocess.

The index lists every village, a village page shows its quicklooks, a COG and a GeoJSON
downloaded through the page open as a valid COG / GeoJSON, a traversal attempt is refused,
and the page loads nothing from outside the server. Screenshots of each page are saved to
``test-artifacts/screenshots/``."""
from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading

import pytest

from support.browser import image_widths
from support.procs import stop

pytestmark = pytest.mark.slow

from support.paths import REPO  # noqa: E402
SHOTS = REPO / "test-artifacts" / "screenshots"
#: the two villages whose pages are opened (the index must list all three of the demo output)
OPENED = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei")


@pytest.fixture(scope="module")
def server_url(demo_out):
    """``villagewatch serve OUT --port 0`` in a subprocess; its printed URL."""
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", str(demo_out), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=60)
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert m, f"no URL in the server's first line: {line!r}"
        yield m.group(1)
    finally:
        stop(proc, 10)


@pytest.fixture
def page(browser, server_url):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.outside = []  # requests to anywhere but the server
    pg.on("request", lambda r: r.url.startswith(server_url) or r.url.startswith("data:") or pg.outside.append(r.url))
    yield pg
    ctx.close()


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_index_lists_every_village(page, server_url, demo_villages):
    resp = page.goto(server_url)
    assert resp.status == 200 and "charset=utf-8" in resp.headers["content-type"]
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    rows = page.locator("tbody tr")
    assert rows.count() == len(demo_villages)
    text = page.locator("body").inner_text()
    for v in demo_villages:
        assert v.name_zh in text and v.name_en in text
    shot(page, "index")
    assert not page.outside, page.outside


@pytest.mark.parametrize("village_id", OPENED)
def test_village_page_shows_its_quicklooks_and_downloads_open(page, server_url, demo_villages, village_id,
                                                              tmp_path):
    (v,) = [v for v in demo_villages if v.id == village_id]
    page.goto(server_url)
    page.get_by_role("link", name=v.name_zh).click()
    page.wait_for_url(f"{server_url}{village_id}/index.html", wait_until="load")  # fails on timeout
    assert page.url == f"{server_url}{village_id}/index.html"
    assert v.name_zh in page.locator("h1").inner_text()
    imgs = page.locator("img")
    assert imgs.count() >= 5
    widths = image_widths(page, "img")
    assert all(w > 0 for w in widths), widths
    shot(page, village_id)

    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    cog = next(h for h in hrefs if h.endswith("/ndvi_change.tif"))
    geo = next(h for h in hrefs if h.endswith("/water_bodies.geojson"))
    zipped = next(h for h in hrefs if h.endswith(".zip"))

    from flows.products.rasters import is_valid_cog

    r = page.request.get(cog)
    assert r.status == 200 and r.headers["content-type"].startswith("image/tiff")
    tif = tmp_path / "download.tif"
    tif.write_bytes(r.body())
    ok, errors, _ = is_valid_cog(tif)
    assert ok, errors

    r = page.request.get(geo)
    assert r.headers["content-type"] == "application/geo+json"
    fc = json.loads(r.body())
    assert fc["type"] == "FeatureCollection"

    with page.expect_download() as dl:
        page.locator(f'a[href$="{zipped.rsplit("/", 1)[1]}"]').first.click()
    path = tmp_path / "package.zip"
    dl.value.save_as(path)
    import zipfile

    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None and any(n.endswith("manifest.json") for n in zf.namelist())
    assert not page.outside, page.outside


def test_traversal_attempts_are_refused(page, server_url):
    for path in ("%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fetc%2fpasswd", "../../etc/passwd"):
        r = page.request.get(server_url + path)
        assert r.status in (403, 404), (path, r.status)
        assert b"root:" not in r.body()
    resp = page.goto(server_url + "%2e%2e/%2e%2e/etc/passwd")
    assert resp.status in (403, 404)
