"""The offline map (issue 14): flows/publish/static/ (vendored Leaflet + villagewatch-map.js) in a
real browser, Debian's Chromium under Playwright for Python (no browser is downloaded).

The static folder is served on 127.0.0.1 by a thread of this process; every request the page
makes to any other address is recorded and aborted by a route handler, and the tests fail if
there is one. ``demo.html`` embeds a hand-made layer description: the expected numbers of
layers, paths and figures below are read from that description and its GeoJSON files, not from
the script. Screenshots go to ``test-artifacts/screenshots/``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest



from support.browser import image_widths, offline_page  # noqa: E402
from support.paths import REPO  # noqa: E402
STATIC = REPO / "flows" / "publish" / "static"
SHOTS = REPO / "test-artifacts" / "screenshots"


def _description() -> dict:
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="vw-layers">(.*?)</script>', html, re.S)
    assert m, "demo.html embeds no layer description"
    return json.loads(m.group(1))


def _layer(desc: dict, layer_id: str) -> dict:
    (layer,) = [la for la in desc["layers"] if la["id"] == layer_id]
    return layer


def _features(layer: dict, date: str | None) -> list[dict]:
    entry = layer["dates"][date] if "dates" in layer else layer
    data = entry.get("data") or json.loads((STATIC / entry["url"]).read_text(encoding="utf-8"))
    return data["features"]


# --------------------------------------------------------------------------- without a browser
def test_vendored_leaflet_matches_the_pinned_npm_release():
    pkg = json.loads((STATIC / "package.json").read_text(encoding="utf-8"))
    pinned = pkg["vendored"]["leaflet"]
    assert pkg["dependencies"]["leaflet"] == pinned["version"]
    assert re.fullmatch(r"1\.9\.\d+", pinned["version"])
    js = (STATIC / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert f't.version="{pinned["version"]}"' in js
    assert "Redistribution and use in source and binary forms" in \
        (STATIC / "leaflet" / "LICENSE").read_text(encoding="utf-8")  # Leaflet's BSD-2-Clause
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    assert pinned["integrity"] in readme and pinned["version"] in readme
    # the README's per-file sha256 match the vendored files
    listed = {name: digest for digest, name in re.findall(r"\| `([0-9a-f]{64})` \| `leaflet/([^`]+)` \|", readme)}
    files = sorted(str(p.relative_to(STATIC / "leaflet")) for p in (STATIC / "leaflet").rglob("*") if p.is_file())
    assert sorted(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC / "leaflet" / name).read_bytes()).hexdigest() == digest, name


def test_no_file_of_the_map_names_a_cdn():
    for path in [STATIC / "villagewatch-map.js", STATIC / "villagewatch-map.css", STATIC / "demo.html"]:
        text = path.read_text(encoding="utf-8")
        for host in ("unpkg", "jsdelivr", "cdnjs", "googleapis", "bootcdn", "staticfile"):
            assert host not in text, (path.name, host)
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(not re.match(r"^[a-z]+:", s) and not s.startswith("//") for s in srcs), srcs


def test_demo_description_follows_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((STATIC / "villagewatch-map.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    desc = _description()
    jsonschema.validate(desc, schema)
    bad = dict(desc, basemap={"kind": "tianditu"})  # a Tianditu basemap needs the user's key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# --------------------------------------------------------------------------- in Chromium
class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on the test output
        pass


@pytest.fixture(scope="module")
def static_url():
    """The static folder served on 127.0.0.1 (any free port) by a thread of this process."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(STATIC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def page(browser):
    pg = offline_page(browser, viewport={"width": 1200, "height": 800})  # pg.outside: non-loopback requests (aborted)
    yield pg
    pg.context.close()


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _open_demo(page, static_url):
    resp = page.goto(static_url + "demo.html")
    assert resp.status == 200
    desc = _description()
    page.wait_for_selector(f'#vw-map[data-vw-ready="{desc["date"]}"]', timeout=20_000)
    return desc


def _count(page, selector: str) -> int:
    return page.locator(selector).count()


def _toggle(page, layer_id: str) -> None:
    page.locator(f'.leaflet-control-layers label:has(span[data-layer="{layer_id}"]) input').click()


@pytest.mark.slow
def test_map_draws_its_layers_toggles_and_switches_dates(page, static_url):
    desc = _open_demo(page, static_url)
    date = desc["date"]
    shown = [la for la in desc["layers"] if la.get("visible", True)]
    vectors = {la["id"]: len(_features(la, None if "dates" not in la else date)) for la in shown
               if la["type"] == "geojson" and ("dates" not in la or date in la["dates"])}
    images = [la for la in shown if la["type"] == "image" and date in la.get("dates", {})]
    assert vectors == {"water": 2, "change_polygons": 1, "suspects": 2, "boundary": 1}  # the hand-made JSON
    # one SVG path per feature, one <img> per visible image layer, no basemap tile
    assert _count(page, "path.vw-path") == sum(vectors.values())
    assert _count(page, "img.leaflet-image-layer") == len(images) == 1
    assert _count(page, ".leaflet-tile") == 0
    for kind, n in (("water", 2), ("suspects", 2), ("boundary", 1)):
        assert _count(page, f"path.vw-{kind}") == n
    # the switcher lists every layer, Chinese first with English beside
    names = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert len(names) == len(desc["layers"])
    for la, text in zip(desc["layers"], names):
        assert text.strip() == f'{la["label"]["zh"]} {la["label"]["en"]}'
    legend = page.locator(".vw-legend").inner_text()
    assert "疑似黑臭水体" in legend and "确认黑臭" in legend and "Confirmed black-odorous" in legend
    shot(page, "webmap-demo")

    # a layer toggle hides a layer and its legend entry, another shows one
    _toggle(page, "water")
    assert _count(page, "path.vw-water") == 0
    assert _count(page, "path.vw-path") == sum(vectors.values()) - 2
    assert _count(page, '.vw-legend [data-layer="water"]') == 0
    _toggle(page, "ndvi")
    assert _count(page, "img.leaflet-image-layer") == 2
    assert _count(page, '.vw-legend [data-layer="ndvi"] .vw-ramp') == 1
    _toggle(page, "water")
    assert _count(page, "path.vw-water") == 2

    # the date selector shows the other date's layers
    other = "2024-03-01"
    page.select_option(".vw-date select", other)
    page.wait_for_selector(f'#vw-map[data-vw-ready="{other}"]')
    assert _count(page, "path.vw-suspects") == len(_features(_layer(desc, "suspects"), other)) == 1
    assert _count(page, "path.vw-change") == 0  # no change polygons end on the first date
    assert _count(page, "path.vw-boundary") == 1  # date-independent
    imgs = page.eval_on_selector_all("img.leaflet-image-layer", "els => els.map(e => e.getAttribute('src'))")
    assert sorted(imgs) == sorted(static_url + _layer(desc, k)["dates"][other]["url"] for k in ("truecolour", "ndvi"))
    widths = image_widths(page, "img.leaflet-image-layer")
    assert all(w > 0 for w in widths)
    assert not page.errors, page.errors
    assert not page.outside, page.outside


@pytest.mark.slow
def test_click_on_a_suspect_shows_its_figures(page, static_url):
    desc = _open_demo(page, static_url)
    feats = _features(_layer(desc, "suspects"), desc["date"])
    paths = page.locator("path.vw-suspects")
    assert paths.count() == len(feats)
    seen = set()
    for i in range(paths.count()):
        paths.nth(i).click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        cell = {k: popup.locator(f'tr[data-key="{k}"] td').inner_text() for k in
                ("wb_id", "area_m2", "list", "methods_agreeing", "verification", "first_seen", "last_seen")}
        (props,) = [f["properties"] for f in feats if f["properties"]["wb_id"] == cell["wb_id"]]
        seen.add(props["wb_id"])
        area = props["area_m2"]
        assert cell["area_m2"] == f"{area:,.0f} m² ({area / 1e4:.2f} ha)"
        if area >= 2000:
            assert props["list"] == "national" and cell["list"] == "国家监管清单（≥ 2000 m²） National list (≥ 2,000 m²)"
        else:
            assert props["list"] == "provincial" and cell["list"] == "省级清单（< 2000 m²） Provincial list (< 2,000 m²)"
        assert cell["methods_agreeing"] == ", ".join(props["methods_agreeing"].split(","))
        assert cell["verification"] == {"confirmed": "确认黑臭 Confirmed black-odorous",
                                        "unverified": "未核查 Unverified"}[props["verification"]]
        assert (cell["first_seen"], cell["last_seen"]) == (props["first_seen"], props["last_seen"])
        assert popup.locator(".vw-popup-title").inner_text() == "疑似黑臭水体 Black-odorous suspects"
        shot(page, f"webmap-popup-{props['wb_id']}")
        page.keyboard.press("Escape")
        page.locator(".leaflet-popup").wait_for(state="detached")
    assert seen == {f["properties"]["wb_id"] for f in feats}
    # suspects are coloured by status: the confirmed one red, the screened one orange
    fills = page.eval_on_selector_all("path.vw-suspects", "els => els.map(e => e.getAttribute('fill'))")
    assert sorted(fills) == sorted(["#c0001a", "#d95f02"])
    assert not page.errors, page.errors
    assert not page.outside, page.outside


@pytest.mark.slow
def test_basemap_only_when_configured_and_foreign_urls_are_refused(page, static_url):
    desc = _open_demo(page, static_url)
    assert "basemap" not in desc and not page.outside
    # the same description with a Tianditu basemap and a user key: tiles are asked of Tianditu only
    with_basemap = dict(desc, basemap={"kind": "tianditu", "key": "TESTKEY"})
    page.evaluate("""d => { const el = document.createElement('div'); el.id = 'second'; el.style.height = '400px';
                         document.body.appendChild(el); VillagewatchMap.create(el, d); }""", with_basemap)
    page.wait_for_selector('#second[data-vw-ready]:not([data-vw-ready=""])')
    page.wait_for_function("() => document.querySelectorAll('#second .leaflet-tile').length > 0")
    page.wait_for_timeout(300)
    assert page.outside
    for url in page.outside:
        parts = urlsplit(url)
        assert re.fullmatch(r"t[0-7]\.tianditu\.gov\.cn", parts.hostname), url
        assert parse_qs(parts.query)["tk"] == ["TESTKEY"]
    page.outside.clear()
    # a layer URL on another origin is refused before any request, with a notice on the map
    foreign = dict(desc, layers=[{"id": "x", "type": "geojson", "kind": "water", "label": {"zh": "外部", "en": "Foreign"},
                                  "url": "https://example.org/water.geojson"}])
    page.evaluate("""d => { const el = document.createElement('div'); el.id = 'third'; el.style.height = '300px';
                         document.body.appendChild(el); VillagewatchMap.create(el, d); }""", foreign)
    page.wait_for_selector("#third .vw-notice")
    assert "refusing to load https://example.org/water.geojson" in page.locator("#third .vw-notice").inner_text()
    assert not page.outside, page.outside
    # a description of another schema is refused with a message in place of the map
    with pytest.raises(Exception, match="schema must be"):
        page.evaluate("() => VillagewatchMap.create(document.createElement('div'), {schema: 'other', layers: []})")


@pytest.mark.slow
def test_geojson_layers_by_relative_url_follow_the_date(page, static_url):
    desc = _open_demo(page, static_url)
    by_url = json.loads(json.dumps(desc))
    suspects = _layer(by_url, "suspects")
    suspects["dates"] = {d: {"url": f"demo/suspects-{d}.geojson"} for d in suspects["dates"]}
    page.evaluate("""d => { const el = document.createElement('div'); el.id = 'second'; el.style.height = '400px';
                         document.body.appendChild(el); VillagewatchMap.create(el, d); }""", by_url)
    for date in (desc["date"], "2024-03-01"):
        if date != desc["date"]:
            page.select_option("#second .vw-date select", date)
        page.wait_for_selector(f'#second[data-vw-ready="{date}"]')
        n = len(json.loads((STATIC / suspects["dates"][date]["url"]).read_text(encoding="utf-8"))["features"])
        assert _count(page, "#second path.vw-suspects") == n
    assert not page.errors, page.errors
    assert not page.outside, page.outside


@pytest.mark.slow
def test_demo_opens_from_disk(browser):
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    pg = ctx.new_page()
    requests = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto((STATIC / "demo.html").as_uri())
    desc = _description()
    pg.wait_for_selector(f'#vw-map[data-vw-ready="{desc["date"]}"]', timeout=20_000)
    date = desc["date"]
    n = sum(len(_features(la, date if "dates" in la else None)) for la in desc["layers"]
            if la["type"] == "geojson" and la.get("visible", True) and ("dates" not in la or date in la["dates"]))
    assert _count(pg, "path.vw-path") == n == 6
    assert requests and all(u.startswith("file://") or u.startswith("data:") for u in requests), requests
    ctx.close()


#: the index map's classes of the number of suspects (hand-made, as the index page would give them)
BREAKS = [{"max": 0, "color": "#1a9850", "label": {"zh": "无疑似", "en": "none"}},
          {"max": 3, "color": "#fdae61", "label": {"zh": "1-3 处", "en": "1-3"}},
          {"color": "#d7191c", "label": {"zh": "4 处以上", "en": "4 or more"}}]


@pytest.mark.slow
def test_index_map_colours_pilot_areas_by_their_number_of_suspects(page, static_url):
    from aoi.registry import load_villages

    villages = load_villages()
    counts = {v.id: i % 6 for i, v in enumerate(villages)}  # 0..5 suspects
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(v.centre or v.geometry.centroid.coords[0])},
              "properties": {"id": v.id, "name_zh": v.name_zh, "name_en": v.name_en, "county": v.county,
                             "admin_code": v.admin_code, "n_black_odorous_suspects": counts[v.id],
                             "href": f"{v.id}/index.html"}} for v in villages]
    desc = {"schema": "villagewatch-map/1", "bbox": [105.5, 20.5, 117.5, 30.5], "layers": [
        {"id": "villages", "type": "geojson", "kind": "villages", "label": {"zh": "试点村", "en": "Pilot areas"},
         "colour_by": "n_black_odorous_suspects", "breaks": BREAKS,
         "data": {"type": "FeatureCollection", "features": feats}}]}
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(desc, json.loads((STATIC / "villagewatch-map.schema.json").read_text(encoding="utf-8")))
    page.goto(static_url + "demo.html")
    page.evaluate("""d => { document.body.innerHTML = '<div id="index" style="height:600px"></div>';
                         VillagewatchMap.create(document.getElementById('index'), d); }""", desc)
    page.wait_for_selector('#index[data-vw-ready="static"]')
    assert _count(page, "#index path.vw-villages") == len(villages) == 11

    def expected(n):
        return next(b["color"] for b in BREAKS if b.get("max") is None or n <= b["max"])

    fills = page.eval_on_selector_all("#index path.vw-villages", "els => els.map(e => e.getAttribute('fill'))")
    assert sorted(fills) == sorted(expected(counts[v.id]) for v in villages)
    legend = page.locator("#index .vw-legend").inner_text()
    assert all(f'{b["label"]["zh"]} {b["label"]["en"]}' in legend for b in BREAKS)
    shot(page, "webmap-index")
    # a click on Pankeng shows its figures and the link to its page
    pankeng = next(i for i, v in enumerate(villages) if v.id == "meijiang-sanjiao-pankeng")
    page.locator("#index path.vw-villages").nth(pankeng).click(force=True)
    popup = page.locator("#index .leaflet-popup-content")
    popup.wait_for()
    assert popup.locator('tr[data-key="name_zh"] td').inner_text() == "泮坑村 Pankeng"
    assert popup.locator('tr[data-key="admin_code"] td').inner_text() == "441402102205"
    assert popup.locator('tr[data-key="n_black_odorous_suspects"] td').inner_text() == str(counts["meijiang-sanjiao-pankeng"])
    assert popup.locator('tr[data-key="href"] a').get_attribute("href") == static_url + "meijiang-sanjiao-pankeng/index.html"
    assert not page.errors, page.errors
    assert not page.outside, page.outside
