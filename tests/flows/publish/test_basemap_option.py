"""An online basemap only when configured (issue #14): off by default everywhere; ``--basemap``
of nightly/publish writes it into the pages' layer descriptions, ``serve --basemap`` offers it to
served pages through ``_static/basemap.json`` (answered by the server, never written); a page
then asks that tile server and no other."""
from __future__ import annotations

import json
import re
import threading
import urllib.request
from urllib.parse import urlsplit

import pytest

from flows.cli import _basemap, build_parser
from flows.publish.serve import make_server, url_of
from flows.publish.webmap import basemap_option
from support.browser import offline_page


def test_basemap_options_are_off_by_default_and_need_a_key_for_tianditu(monkeypatch):
    monkeypatch.delenv("VILLAGEWATCH_TIANDITU_KEY", raising=False)
    for cmd in (["nightly"], ["backfill", "--from", "2024-01-01", "--to", "2024-02-01"], ["publish", "out"],
                ["verify", "out", "s.csv"], ["serve", "out"]):
        assert _basemap(build_parser().parse_args(cmd)) is None, cmd
    assert _basemap(build_parser().parse_args(["serve", "out", "--basemap", "osm"])) == {"kind": "osm"}
    args = build_parser().parse_args(["publish", "out", "--basemap", "tianditu", "--tianditu-key", "K"])
    assert _basemap(args) == {"kind": "tianditu", "key": "K"}
    with pytest.raises(ValueError, match="Tianditu key"):
        basemap_option("tianditu", None)


def _serve(root, basemap=None):
    server = make_server(root, port=0, quiet=True, basemap=basemap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_serve_offers_its_basemap_without_writing_it(demo_out):
    for basemap in (None, {"kind": "osm"}):
        server = _serve(demo_out, basemap)
        try:
            with urllib.request.urlopen(url_of(server) + "_static/basemap.json") as r:
                assert r.headers["Content-Type"] == "application/json" and json.loads(r.read()) == basemap
        finally:
            server.shutdown()
            server.server_close()
    assert not (demo_out / "_static" / "basemap.json").exists()
    page = (demo_out / "index.html").read_text(encoding="utf-8")
    assert '"basemap"' not in page  # published without --basemap: no basemap in the description


@pytest.mark.slow
def test_a_served_page_asks_only_the_offered_tile_server(browser, demo_out):
    server = _serve(demo_out, {"kind": "osm"})
    pg = offline_page(browser, viewport={"width": 1000, "height": 800})
    try:
        pg.goto(url_of(server))
        pg.wait_for_function("() => document.querySelectorAll('#vw-map .leaflet-tile').length > 0", timeout=30_000)
        pg.wait_for_timeout(300)
        assert pg.outside and all(urlsplit(u).hostname == "tile.openstreetmap.org" for u in pg.outside), pg.outside
        assert all(re.search(r"/\d+/\d+/\d+\.png$", u) for u in pg.outside)
        assert not pg.errors, pg.errors
    finally:
        pg.context.close()
        server.shutdown()
        server.server_close()
