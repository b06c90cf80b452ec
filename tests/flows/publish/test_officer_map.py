"""The pages of a demo night as an officer uses them (issue #14), in Debian's Chromium under
Playwright against ``villagewatch serve``, with every request to a non-loopback address aborted
and failing the test: the index map shows every pilot area coloured by its open suspects and
leads to the village page; the village map draws its layers, a layer toggles, the date selector
switches dates, a click on a suspect shows its figures; the field-check sheet downloads and
opens (CSV and XLSX parsed); a sheet filled and imported with ``villagewatch verify`` changes
the page and the register. Screenshots go to ``test-artifacts/screenshots/`` (git-ignored).

Expected numbers come from the products (the layer description, ``field_check.geojson``,
``field_check.json``), never from the demo's dates."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support.browser import image_widths, offline_page
from support.paths import REPO
from support.procs import stop

pytestmark = pytest.mark.slow

SHOTS = REPO / "test-artifacts" / "screenshots"
#: the index map's classes (flows.publish.webmap.INDEX_BREAKS), restated: none / 1-2 / 3 or more
INDEX_COLOURS = ((0, "#1a9850"), (2, "#fdae61"), (None, "#d7191c"))
OPEN = ("screened", "checked", "relapsed", "confirmed")


def serve(out: Path):
    """``villagewatch serve OUT --port 0`` in a subprocess: (process, URL)."""
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", str(out), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", lines.get(timeout=60))
    assert m
    return proc, m.group(1)


@pytest.fixture(scope="module")
def demo_url(demo_out):
    proc, url = serve(demo_out)
    try:
        yield url
    finally:
        stop(proc, 10)


@pytest.fixture
def page(browser):
    pg = offline_page(browser, viewport={"width": 1200, "height": 900}, accept_downloads=True)
    yield pg
    pg.context.close()
    assert not pg.outside, pg.outside  # nothing but the server, ever
    assert not pg.errors, pg.errors


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.wait_for_timeout(400)  # Leaflet fades popups in
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def description(pg) -> dict:
    return json.loads(pg.locator("#vw-map-layers").text_content())


def validate(desc: dict) -> None:
    """The page's layer description follows the map's schema (villagewatch-map/1)."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = REPO / "flows" / "publish" / "static" / "villagewatch-map.schema.json"
    jsonschema.validate(desc, json.loads(schema.read_text(encoding="utf-8")))


def wait_ready(pg, value: str) -> None:
    pg.wait_for_selector(f'#vw-map[data-vw-ready="{value}"]', timeout=30_000)


def layer(desc: dict, layer_id: str) -> dict:
    return next(la for la in desc["layers"] if la["id"] == layer_id)


def n_features(desc: dict, layer_id: str, date: str) -> int:
    la = layer(desc, layer_id)
    entry = la["dates"].get(date) if "dates" in la else la
    return len(entry["data"]["features"]) if entry else 0


def toggle(pg, layer_id: str) -> None:
    pg.locator(f'.leaflet-control-layers label:has(span[data-layer="{layer_id}"]) input').click()


def features(path: Path) -> list[dict]:
    return [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]


def village_with_suspects(out: Path) -> tuple[str, str]:
    """A village and its latest date with a suspect on the sheet."""
    for vdir in sorted(p for p in out.iterdir() if (p / "index.html").is_file()):
        for fc in sorted(vdir.glob("20*/field_check.geojson"), reverse=True):
            if any(f["on_sheet"] for f in features(fc)):
                return vdir.name, fc.parent.name
    pytest.skip("no demo village has a suspect")


# --------------------------------------------------------------------------- the index
def test_index_map_shows_every_pilot_area_by_its_open_suspects_and_leads_to_its_page(page, demo_url, demo_out,
                                                                                     demo_villages):
    page.goto(demo_url)
    validate(description(page))
    wait_ready(page, "static")
    paths = page.locator("path.vw-villages")
    assert paths.count() == len(demo_villages)
    expected = []
    for v in demo_villages:
        latest = sorted((demo_out / v.id).glob("20*/field_check.json"))[-1]
        counts = json.loads(latest.read_text(encoding="utf-8"))["counts"]
        n_open = sum(counts[s] for s in OPEN)
        expected.append(next(c for top, c in INDEX_COLOURS if top is None or n_open <= top))
    fills = page.eval_on_selector_all("path.vw-villages", "els => els.map(e => e.getAttribute('fill'))")
    assert sorted(fills) == sorted(expected)
    labels = page.locator(".vw-label").all_inner_texts()
    assert sorted(labels) == sorted(v.name_zh for v in demo_villages)
    shot(page, "officer-index-map")
    v = demo_villages[0]
    idx = [t.strip() for t in labels].index(v.name_zh)
    paths.nth(idx).click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert v.name_zh in popup.inner_text()
    if v.admin_code:
        assert popup.locator('tr[data-key="admin_code"] td').inner_text() == v.admin_code
    popup.locator("a").click()
    page.wait_for_url(f"{demo_url}{v.id}/index.html", wait_until="load")  # the click only starts it
    assert page.url == f"{demo_url}{v.id}/index.html"


# --------------------------------------------------------------------------- a village's map
def test_village_map_draws_its_layers_toggles_and_switches_dates(page, demo_url, demo_out):
    village, _ = village_with_suspects(demo_out)
    page.goto(f"{demo_url}{village}/index.html")
    desc = description(page)
    validate(desc)
    date = desc["dates"][-1]
    wait_ready(page, date)
    # one <img> for the true colour (NDVI and change classes start hidden), no basemap tile
    assert page.locator("img.leaflet-image-layer").count() == 1
    src = page.eval_on_selector("img.leaflet-image-layer", "e => e.getAttribute('src')")
    assert src == f"{demo_url}{village}/{date}/map_true_colour.png"
    assert image_widths(page, "img.leaflet-image-layer")[0] > 0
    assert page.locator(".leaflet-tile").count() == 0
    for kind, layer_id in (("water", "water"), ("suspects", "suspects"), ("boundary", "boundary")):
        assert page.locator(f"path.vw-{kind}").count() == n_features(desc, layer_id, date), kind
    assert n_features(desc, "suspects", date) > 0
    names = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [n.strip() for n in names] == [f'{la["label"]["zh"]} {la["label"]["en"]}' for la in desc["layers"]]
    shot(page, f"officer-village-map-{village}")
    # toggles: water off, NDVI on (a second image, its ramp in the legend)
    toggle(page, "water")
    assert page.locator("path.vw-water").count() == 0
    toggle(page, "ndvi")
    assert page.locator("img.leaflet-image-layer").count() == 2
    assert page.locator('.vw-legend [data-layer="ndvi"] .vw-ramp').count() == 1
    # another date: that date's suspects and images
    first = desc["dates"][0]
    page.select_option(".vw-date select", first)
    wait_ready(page, first)
    assert page.locator("path.vw-suspects").count() == n_features(desc, "suspects", first)
    srcs = page.eval_on_selector_all("img.leaflet-image-layer", "els => els.map(e => e.getAttribute('src'))")
    assert sorted(srcs) == sorted(f"{demo_url}{village}/{first}/{n}" for n in ("map_true_colour.png", "map_ndvi.png"))
    # the overlay sits on the village: its lon/lat box holds the boundary's
    from shapely.geometry import shape

    bound = shape(layer(desc, "boundary")["data"]["features"][0]["geometry"]).bounds
    w, s, e, n = layer(desc, "truecolour")["dates"][first]["bbox"]
    assert w <= bound[0] and s <= bound[1] and e >= bound[2] and n >= bound[3]


def test_a_click_on_a_suspect_shows_its_figures(page, demo_url, demo_out):
    village, date = village_with_suspects(demo_out)
    page.goto(f"{demo_url}{village}/index.html")
    desc = description(page)
    if date != desc["dates"][-1]:
        wait_ready(page, desc["dates"][-1])
        page.select_option(".vw-date select", date)
    wait_ready(page, date)
    props = {f["properties"]["wb_id"]: f["properties"] for f in layer(desc, "suspects")["dates"][date]["data"]["features"]}
    paths = page.locator("path.vw-suspects")
    assert paths.count() == len(props)
    paths.first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    cell = {k: popup.locator(f'tr[data-key="{k}"] td').inner_text() for k in
            ("wb_id", "status", "area_m2", "list", "methods_agreeing", "dates")}
    p = props[cell["wb_id"]]
    assert cell["area_m2"] == f"{p['area_m2']:,.0f} m² ({p['area_m2'] / 1e4:.2f} ha)"
    assert cell["list"].startswith("国家监管清单" if p["area_m2"] >= 2000 else "省级清单")
    assert cell["methods_agreeing"] == ", ".join(p["methods_agreeing"].split(","))
    assert cell["status"] == {"screened": "已筛查待核查 Screened, not checked"}.get(p["status"], cell["status"])
    assert cell["dates"] == ", ".join(p["dates"])
    shot(page, f"officer-suspect-popup-{village}")


# --------------------------------------------------------------------------- the field-check loop
def test_sheet_downloads_and_a_verify_round_trip_changes_the_page_and_register(browser, copy_night, tmp_path):
    out = copy_night
    village, date = village_with_suspects(out)
    fc = features(out / village / date / "field_check.geojson")
    on_sheet = sorted(f["wb_id"] for f in fc if f["on_sheet"])
    proc, url = serve(out)
    pg = offline_page(browser, viewport={"width": 1200, "height": 900}, accept_downloads=True)
    try:
        pg.goto(f"{url}{village}/index.html")
        wait_ready(pg, description(pg)["dates"][-1])
        # the sheet of the date, downloaded through the page: CSV and XLSX
        with pg.expect_download() as dl:
            pg.locator(f'a[download="{village}_{date}_field_check.csv"]').click()
        sheet = tmp_path / dl.value.suggested_filename
        dl.value.save_as(sheet)
        rows = list(csv.reader(io.StringIO(sheet.read_bytes().decode("utf-8-sig"))))
        header, body = rows[0], rows[1:]
        assert header[:3] == ["村 village", "遥感日期 screening date", "水体编号 water body id"]
        assert "透明度 transparency (cm)" in header and "结论 verdict" in header
        ids = header.index("水体编号 water body id")
        assert sorted(r[ids] for r in body) == on_sheet
        with pg.expect_download() as dl:
            pg.locator(f'a[download="{village}_{date}_field_check.xlsx"]').click()
        xlsx = tmp_path / dl.value.suggested_filename
        dl.value.save_as(xlsx)
        from openpyxl import load_workbook

        wb = load_workbook(xlsx, read_only=True)
        xrows = list(wb.worksheets[0].iter_rows(values_only=True))
        assert list(xrows[0]) == header and sorted(r[ids] for r in xrows[1:]) == on_sheet
        assert "说明 notes" in wb.sheetnames
        wb.close()

        # filled on site: the first body confirmed
        wb_id = body[0][ids]
        col = {h: i for i, h in enumerate(header)}
        check_date = (dt.date.fromisoformat(date) + dt.timedelta(days=3)).isoformat()
        for h, v in (("核查日期 check date (YYYY-MM-DD)", check_date), ("核查人 inspector", "李工"),
                     ("透明度 transparency (cm)", "15"), ("溶解氧 dissolved oxygen (mg/L)", "0.8"),
                     ("氨氮 ammonia nitrogen (mg/L)", "21"), ("结论 verdict", "confirmed"),
                     ("照片 photo files", "IMG_0101.jpg")):
            body[0][col[h]] = v
        filled = tmp_path / "filled.csv"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([header, body[0]])
        filled.write_text(buf.getvalue(), encoding="utf-8-sig")
        done = subprocess.run([sys.executable, "-m", "flows.cli", "verify", str(out), str(filled)], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        reg = json.loads((out / village / "fieldcheck" / "register.json").read_text(encoding="utf-8"))
        assert [(c["wb_id"], c["verdict"], c["check_date"]) for c in reg["checks"]] == [(wb_id, "confirmed", check_date)]

        # the same page, reloaded: the suspect is confirmed, the precision counts it
        pg.reload()
        desc = description(pg)
        if date != desc["dates"][-1]:
            wait_ready(pg, desc["dates"][-1])
            pg.select_option(".vw-date select", date)
        wait_ready(pg, date)
        feats = layer(desc, "suspects")["dates"][date]["data"]["features"]
        i = [f["properties"]["wb_id"] for f in feats].index(wb_id)
        assert feats[i]["properties"]["status"] == "confirmed"
        path = pg.locator("path.vw-suspects").nth(i)
        assert path.get_attribute("fill") == "#c0001a"  # the map's colour of confirmed bodies
        path.click()
        popup = pg.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator('tr[data-key="status"] td').inner_text() == "确认黑臭 Confirmed black-odorous"
        assert check_date in popup.locator('tr[data-key="last_check"] td').inner_text()
        assert pg.locator(f'.precision[data-village="{village}"]').inner_text() == "1 / 1 = 100%"
        assert pg.locator(f'table.register tr[data-wb="{wb_id}"] td.status').inner_text() == \
            "确认黑臭 confirmed black-odorous"
        shot(pg, f"officer-after-verify-{village}")
    finally:
        pg.context.close()
        stop(proc, 10)
    assert not pg.outside, pg.outside
    assert not pg.errors, pg.errors
