"""Publishing (issue #5): the STAC catalog, quicklooks, change zips and the offline download
page of a demo run, deterministic bytes, broken products noted not fatal; the read-only
static server (traversal refused, content types). No browser here: see test_browser.py."""
from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import os
import re
import shutil
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest


pystac = pytest.importorskip("pystac")

PUBLISHED_NAMES = ("quicklook.png", "item.json", "collection.json", "catalog.json", "index.html")


# --------------------------------------------------------------------------- helpers
class Links(HTMLParser):
    """Every href/src of a page, the <html lang> and whether it has scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.lang = None
        self.scripts = 0
        self.charset = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "meta" and "charset" in a:
            self.charset = a["charset"]
        if tag == "script":
            self.scripts += 1
        for k in ("href", "src"):
            if a.get(k):
                self.urls.append(a[k])


def parse(page: Path) -> Links:
    p = Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def published(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (p.name in PUBLISHED_NAMES or p.suffix == ".zip")]


@pytest.fixture(scope="module")
def out(demo_out) -> Path:
    return demo_out


@pytest.fixture(scope="module")
def villages(demo_villages):
    return demo_villages


@pytest.fixture
def copy_out(out, tmp_path) -> Path:
    dst = tmp_path / "out"
    shutil.copytree(out, dst)
    return dst


# --------------------------------------------------------------------------- catalog
def test_catalog_reads_back_with_a_collection_per_village_and_relative_hrefs(out, villages):
    cat = pystac.Catalog.from_file(str(out / "catalog.json"))
    cols = {c.id: c for c in cat.get_children()}
    assert set(cols) == {v.id for v in villages}
    for v in villages:
        col = cols[v.id]
        assert isinstance(col, pystac.Collection)
        assert v.name_zh in col.title and v.name_en in col.title
        (bbox,) = col.extent.spatial.bboxes
        assert bbox == pytest.approx(list(v.geometry.bounds))
        items = list(col.get_items())
        # every product set; the same-season baselines are the alerts' input, not published
        manifests = [p for p in (out / v.id).rglob("manifest.json") if "baseline" not in p.parts]
        assert len(items) == len(manifests) > 0
        kinds = {i.properties["villagewatch:kind"] for i in items}
        assert kinds == {"date", "change"}
        t0, t1 = col.extent.temporal.intervals[0]
        assert t0 <= t1
        for item in items:
            manifest_links = [link for link in item.links if link.rel == "describedby"]
            assert manifest_links and Path(manifest_links[0].get_absolute_href()).name == "manifest.json"
            assert Path(manifest_links[0].get_absolute_href()).is_file()
    for path in [out / "catalog.json", *out.rglob("collection.json"), *out.rglob("item.json")]:
        text = path.read_text(encoding="utf-8")
        assert str(out) not in text and "file://" not in text, f"{path}: absolute href"
        for link in json.loads(text)["links"]:
            assert not link["href"].startswith(("/", "http")), (path, link)


def test_every_asset_resolves_to_a_file_with_its_checksum_media_type_and_projection(out):
    from flows.publish.catalog import catalog_files

    cat = pystac.Catalog.from_file(str(out / "catalog.json"))
    seen = 0
    for owner, key, asset in catalog_files(cat):
        path = Path(asset.get_absolute_href())
        assert path.is_file(), (owner.id, key, asset.href)
        assert out.resolve() in path.resolve().parents
        assert asset.extra_fields["file:checksum"] == "1220" + sha256(path), (owner.id, key)
        assert asset.extra_fields["file:size"] == path.stat().st_size
        assert asset.roles
        if path.suffix == ".tif":
            assert asset.media_type == pystac.MediaType.COG
            assert asset.extra_fields["proj:code"].startswith("EPSG:326")  # the village's UTM zone
            assert len(asset.extra_fields["proj:shape"]) == 2
        elif path.suffix == ".geojson":
            assert asset.media_type == pystac.MediaType.GEOJSON
            assert asset.extra_fields["proj:code"] == "EPSG:4326"
        elif path.suffix == ".zip":
            assert asset.media_type == "application/zip" and "archive" in asset.roles
        elif path.suffix == ".parquet":
            assert asset.media_type == "application/vnd.apache.parquet"
        seen += 1
    assert seen > 100


# --------------------------------------------------------------------------- page
def test_index_lists_every_village_chinese_name_first_offline_and_escaped(out, villages):
    page = out / "index.html"
    links = parse(page)
    text = page.read_text(encoding="utf-8")
    assert links.lang == "zh-CN" and links.charset.lower() == "utf-8"
    # the only scripts: the offline map's, from OUT/_static, and its inlined layer description
    assert re.findall(r'<script src="([^"]+)"', text) == ["_static/leaflet/leaflet.js", "_static/villagewatch-map.js"]
    assert links.scripts == 3 and text.count('<script type="application/json"') == 1
    for v in villages:
        assert v.name_zh in text and v.name_en in text and v.county in text
        assert text.index(v.name_zh) < text.index(v.name_en)
        assert f'href="{v.id}/index.html"' in text
    assert "演示数据" in text and "synthetic" in text  # demo products say so
    assert "approximate" in text.lower()


def _resolve(page: Path, url: str) -> Path:
    assert not urlsplit(url).scheme and not urlsplit(url).netloc, f"{page}: non-relative link {url}"
    assert not url.startswith("/"), f"{page}: absolute link {url}"
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def test_every_link_of_every_page_resolves_to_an_existing_file(out, villages):
    pages = [out / "index.html"] + [out / v.id / "index.html" for v in villages]
    n = 0
    for page in pages:
        assert page.is_file()
        for url in parse(page).urls:
            if url.startswith("#"):
                continue
            target = _resolve(page, url)
            assert target.is_file(), f"{page}: {url} -> {target}"
            assert out.resolve() in target.parents
            n += 1
    assert n > 100


def map_urls(page: Path) -> list[str]:
    """The image URLs of a page's map (its inlined layer description)."""
    m = re.search(r'<script type="application/json" id="vw-map-layers">(.*?)</script>',
                  page.read_text(encoding="utf-8"), re.S)
    desc = json.loads(m.group(1))
    return [e["url"] for la in desc["layers"] for e in (la.get("dates") or {}).values() if "url" in e]


def test_village_page_links_every_cog_geojson_quicklook_and_change_zip(out, villages):
    for v in villages:
        vdir = out / v.id
        page = vdir / "index.html"
        linked = {_resolve(page, u) for u in parse(page).urls + map_urls(page) if not u.startswith("#")}
        products = [p.resolve() for p in vdir.rglob("*") if p.suffix in (".tif", ".geojson", ".png", ".zip")
                    and "baseline" not in p.relative_to(vdir).parts]  # the alerts' input, not published
        missing = sorted(str(p.relative_to(vdir.resolve())) for p in products if p not in linked)
        assert not missing, missing
        assert vdir.joinpath("indicators.parquet").resolve() in linked
        text = page.read_text(encoding="utf-8")
        assert v.name_zh in text and "<table>" in text and "疑似黑臭" in text
        assert "approximate" in text.lower() and "演示数据" in text


def test_change_zip_holds_the_whole_package_deterministically(out, villages):
    from flows.products.inventory import scan_village

    vp = scan_village(out, villages[0].id)
    assert vp.changes
    for ps in vp.changes:
        z = ps.package_path()
        assert z.parent == ps.folder.parent and z.name == f"{ps.key}.zip"
        with zipfile.ZipFile(z) as zf:
            assert zf.testzip() is None
            names = zf.namelist()
            assert names == sorted(names)
            assert {n.split("/", 1)[1] for n in names} == {p.name for p in ps.package_files()}
            assert all(n.startswith(f"{ps.item_id}/") for n in names)
            assert {"manifest.json", "quicklook.png", "vegetation_change.tif"} <= {n.split("/")[1] for n in names}
            for info in zf.infolist():
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                assert zf.read(info) == (ps.folder / info.filename.split("/", 1)[1]).read_bytes()


def test_quicklooks_exist_with_the_expected_size_for_every_date_and_change(out, villages):
    from PIL import Image

    from flows.products.inventory import scan_village
    from flows.publish.quicklook import SIZE_PX

    for v in villages:
        for ps in scan_village(out, v.id).sets:
            png = ps.folder / "quicklook.png"
            assert png.is_file(), ps.item_id
            with Image.open(png) as im:
                assert im.size == SIZE_PX and im.format == "PNG"
                assert "Software" not in im.info
                assert len(im.getcolors(1 << 16) or range(1 << 16)) > 8  # a picture, not a blank


def test_scale_bar_lengths_are_round():
    from flows.publish.quicklook import nice_length

    assert [nice_length(s) for s in (3000, 470, 12_000, 7.0)] == [500, 50, 2000, 1]


# --------------------------------------------------------------------------- determinism and faults
def test_publishing_again_changes_no_byte_and_rewrites_nothing(copy_out, villages):
    from flows.publish import publish

    before = snapshot(copy_out)
    mtimes = {p: p.stat().st_mtime_ns for p in copy_out.rglob("*") if p.is_file()}
    publish(copy_out, villages, [])
    assert snapshot(copy_out) == before
    assert {p: p.stat().st_mtime_ns for p in copy_out.rglob("*") if p.is_file()} == mtimes


def test_publishing_from_scratch_gives_the_same_bytes(copy_out, villages):
    from flows.publish import publish

    before = snapshot(copy_out)
    gone = published(copy_out)
    assert len(gone) > 30
    for p in gone:
        p.unlink()
    publish(copy_out, villages, [])
    after = snapshot(copy_out)
    assert after == before, sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not list(copy_out.rglob("*.tmp"))


def test_broken_products_are_noted_on_the_page_and_the_other_villages_published(copy_out, villages):
    from flows.publish import publish

    broken, fine = villages[0], villages[1]
    date0 = sorted(p for p in (copy_out / broken.id).iterdir() if p.name[:2] == "20")[0]
    (date0 / "manifest.json").write_text("{not json", encoding="utf-8")
    change0 = sorted((copy_out / broken.id / "change").iterdir())[0]
    (change0 / "quicklook.png").unlink()
    (change0 / "vegetation_change.tif").write_bytes(b"not a tiff")
    (change0 / "water_change.tif").write_bytes(b"not a tiff")
    publish(copy_out, villages, [])
    page = (copy_out / broken.id / "index.html").read_text(encoding="utf-8")
    assert "发布问题" in page and "unreadable manifest" in page and change0.name in page
    index = (copy_out / "index.html").read_text(encoding="utf-8")
    assert "publishing problems" in index
    assert fine.name_zh in index and (copy_out / fine.id / "index.html").is_file()
    ids = {c.id for c in pystac.Catalog.from_file(str(copy_out / "catalog.json")).get_children()}
    assert ids == {v.id for v in villages}


def test_text_is_escaped(copy_out, villages):
    from flows.publish import publish

    hostile = dataclasses.replace(villages[0], name_zh="<script>alert(1)</script>&村", county='"><b>x')
    publish(copy_out, [hostile, *villages[1:]], [])
    for page in (copy_out / "index.html", copy_out / hostile.id / "index.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;村" in text
        assert '"><b>x' not in text


def test_a_run_status_comes_from_state_json(copy_out, villages):
    from flows.publish import publish

    state = json.loads((copy_out / "state.json").read_text())
    state["villages"][villages[1].id].update(last_status="failed", last_reason="Boom: <bad> boundary")
    (copy_out / "state.json").write_text(json.dumps(state))
    publish(copy_out, villages, [])
    index = (copy_out / "index.html").read_text(encoding="utf-8")
    assert "失败 failed" in index and "Boom: &lt;bad&gt; boundary" in index


# --------------------------------------------------------------------------- the static server
@pytest.fixture(scope="module")
def served(out, tmp_path_factory):
    """A small served folder (a COG, GeoJSON, parquet, zip, PNG, pages) with a secret beside
    it and symlinks pointing outside; yields (host, port)."""
    from flows.publish.serve import make_server

    v = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("_"))[0]  # not _static
    date = sorted(p for p in v.iterdir() if p.name[:2] == "20" and (p / "ndvi.tif").is_file())[0]
    tmp_path = tmp_path_factory.mktemp("served")
    root = tmp_path / "root"
    (root / "v").mkdir(parents=True)
    for name in ("ndvi.tif", "water_bodies.geojson", "manifest.json", "quicklook.png"):
        shutil.copy(date / name, root / "v" / name)
    shutil.copy(v / "indicators.parquet", root / "v" / "indicators.parquet")
    shutil.copy(next((v / "change").glob("*.zip")), root / "v" / "package.zip")
    shutil.copy(out / "index.html", root / "index.html")
    (root / "v" / "index.html").write_text("<p>村</p>", encoding="utf-8")
    (root / ".hidden.tmp").write_text("temporary")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    os.symlink(secret, root / "link-file.txt")
    os.symlink(tmp_path, root / "link-dir")
    os.symlink(root / "v" / "ndvi.tif", root / "inside-link.tif")
    server = make_server(root, "127.0.0.1", 0, quiet=True)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def request(addr, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(*addr, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    "/../../etc/passwd", "/v/../../secret.txt", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/secret.txt",
    "/v/..%2f..%2fsecret.txt", "/v%2f..%2f..%2fsecret.txt", "/..%5c..%5csecret.txt", "//etc/passwd",
    "/./index.html", "/link-file.txt", "/link-dir/secret.txt", "/.hidden.tmp", "/v/%00", "/v/%ff",
    "http://example.org/../../etc/passwd", "/missing.tif",
])
def test_server_refuses_traversal_symlinks_out_and_hidden_files(served, path):
    status, _, body = request(served, path)
    assert status in (403, 404), (path, status)
    assert b"SECRET" not in body and b"root:" not in body


@pytest.mark.parametrize("path, ctype", [
    ("/", "text/html; charset=utf-8"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/v/", "text/html; charset=utf-8"),
    ("/v/ndvi.tif", "image/tiff; application=geotiff; profile=cloud-optimized"),
    ("/inside-link.tif", "image/tiff; application=geotiff; profile=cloud-optimized"),
    ("/v/water_bodies.geojson", "application/geo+json"),
    ("/v/manifest.json", "application/json"),
    ("/v/indicators.parquet", "application/vnd.apache.parquet"),
    ("/v/package.zip", "application/zip"),
    ("/v/quicklook.png", "image/png"),
])
def test_server_serves_files_with_their_content_types(served, path, ctype):
    status, headers, body = request(served, path)
    assert status == 200, path
    assert headers["content-type"] == ctype
    assert int(headers["content-length"]) == len(body) > 0
    status, headers, body = request(served, path, "HEAD")
    assert status == 200 and body == b"" and headers["content-type"] == ctype


def test_server_is_read_only_and_redirects_folders_to_their_slash(served):
    for method in ("POST", "PUT", "DELETE"):
        assert request(served, "/index.html", method)[0] == 405
    status, headers, _ = request(served, "/v")
    assert status == 301 and headers["location"] == "/v/"


def test_serve_subcommand_parses():
    from flows.cli import build_parser

    args = build_parser().parse_args(["serve", "some/out", "--port", "0", "--host", "127.0.0.1"])
    assert (args.out, args.port, args.host, args.func.__name__) == ("some/out", 0, "127.0.0.1", "cmd_serve")
