"""Hostile and degenerate input: ids and names that try to leave the output folder, huge and
zero-area boundaries, NaN/inf and wrong dtypes in bands, property tests of the index functions
and of boundary parsing, and credentials that must never reach logs, manifests or item JSON."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box

from aoi import Village
from flows.params import Params
from flows.rasters import is_valid_cog, write_cog
from flows.village_run import run_village
from sensing.http import redact, strip_signed_query

from _scene_source import ArraySource, arrays_for, scene_from
from _stac_fixtures import village

PEARL = Point(113.3, 23.1)  # Guangzhou
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
UNSAFE_IDS = ["../../etc", "a/b", "/etc/passwd", "..", ".hidden", "C:\\x", "a b", "", "x" * 65, "Ünïcode"]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _forged(vid: str) -> Village:
    """A Village whose id bypassed the constructor's check (possible from Python)."""
    v = village(PEARL.buffer(0.003), vid="ok-village")
    object.__setattr__(v, "id", vid)
    return v


# --------------------------------------------------------------------------- path traversal
@pytest.mark.parametrize("vid", UNSAFE_IDS)
def test_village_refuses_unsafe_ids(vid):
    with pytest.raises(ValueError, match="not an ASCII slug"):
        village(PEARL.buffer(0.003), vid=vid)


@pytest.mark.parametrize("vid", ["../../escaped", "/tmp/escaped-abs", "a/b", ".."])
def test_flows_never_write_outside_out_even_for_a_forged_village_id(tmp_path, vid):
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    v = _forged(vid)
    bands, g = arrays_for(village(PEARL.buffer(0.003)))
    src = ArraySource(scenes={vid: scene_from(v, bands, g)})
    before = _tree(tmp_path)
    run = run_village(src, v, START, END, out)
    assert run.status == "failed"
    assert "refusing to use it as a folder name" in run.reason and repr(vid) in run.reason
    assert _tree(tmp_path) == before, "nothing written anywhere"
    assert not Path("/tmp/escaped-abs").exists()


@pytest.mark.parametrize("stream", ["../../escaped", "/tmp/escaped-stream", "a/b"])
def test_hostile_stream_names_from_a_source_are_refused(tmp_path, stream):
    """Extra streams (drone mosaics) get a sub-folder named by the source: a name that is not
    a slug fails the village instead of writing outside its folder."""
    out = tmp_path / "out"
    v = village(PEARL.buffer(0.003), vid="stream-village")
    bands, g = arrays_for(v)
    ds = scene_from(v, bands, g)
    src = ArraySource(scenes={v.id: ds.isel(time=[])}, streams={v.id: {stream: ds}})
    run = run_village(src, v, START, END, out)
    assert run.status == "failed" and "stream" in run.reason and repr(stream) in run.reason
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped-stream").exists()
    assert all(p.is_relative_to(out) for p in tmp_path.rglob("*") if p != out)


def test_hostile_stac_item_id_cannot_leave_the_items_folder(tmp_path):
    import pystac

    from sensing.stac import save_item_json

    items = tmp_path / "out" / "_stac_items"
    for bad, expected in [("../../evil", "_.._evil.json"), ("/etc/evil", "_etc_evil.json"),
                          ("..", "item.json"), ("a/../../b", "a_.._.._b.json")]:
        it = pystac.Item(id=bad, geometry=None, bbox=None, datetime=dt.datetime(2024, 1, 1), properties={})
        p = save_item_json(it, items)
        assert p.parent == items and p.name == expected, (bad, p)
        assert json.loads(p.read_text())["id"] == bad  # the JSON keeps the real id
    assert {x.name for x in tmp_path.iterdir()} == {"out"}
    assert not Path("/etc/evil.json").exists()


# --------------------------------------------------------------------------- credentials in URLs
@pytest.mark.parametrize("url, secret", [
    ("https://acc.blob.core.windows.net/c/B04.tif?st=2025-01-01&se=2025-01-02&sp=rl&sv=2021&sr=c&sig=S3CR3T%2B", "S3CR3T"),
    ("https://bucket.s3.amazonaws.com/B04.tif?X-Amz-Credential=AKIAXX&X-Amz-Signature=deadbeef", "deadbeef"),
    ("https://stac.example.org/v1?access_token=tok123", "tok123"),
    ("https://alice:hunter2@stac.example.org/v1", "hunter2"),
])
def test_redact_removes_tokens_signatures_and_passwords(url, secret):
    assert secret not in redact(url) and secret not in strip_signed_query(url)
    assert redact(url).split("?")[0].endswith(url.split("?")[0].rsplit("/", 1)[1])


def test_stac_source_describe_and_logs_never_show_url_credentials(caplog):
    from sensing.errors import SourceUnavailableError
    from sensing.stac import StacSource

    from stacreplay import closed_port_url

    url = closed_port_url("/v1").replace("http://", "http://alice:hunter2@") + "?access_token=tok123"
    src = StacSource(url=url, max_retries=1, backoff=0.01, timeout=1)
    assert "hunter2" not in json.dumps(src.describe()) and "tok123" not in json.dumps(src.describe())
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailableError) as e:
        src.search(village(PEARL.buffer(0.003)), "2024-01-01", "2024-01-02")
    assert "hunter2" not in str(e.value) and "tok123" not in str(e.value)
    assert "hunter2" not in caplog.text and "tok123" not in caplog.text


# --------------------------------------------------------------------------- NaN / inf in the writers
def test_cog_writer_turns_inf_into_nodata(tmp_path):
    import xarray as xr

    vals = np.array([[0.1, np.inf, -np.inf], [np.nan, 0.5, -0.2]], "float32")
    y, x = 2_700_005 - 10 * np.arange(2), 400_005 + 10 * np.arange(3)
    da = xr.DataArray(vals, dims=("y", "x"), coords={"y": y, "x": x}, name="ndvi").rio.write_crs("EPSG:32650")
    p = write_cog(da, tmp_path / "ndvi.tif")
    assert is_valid_cog(p)[0]
    with rasterio.open(p) as src:
        back = src.read(1)
        assert np.isnan(src.nodata)
    assert np.isfinite(back).sum() == 3 and not np.isinf(back).any()
    np.testing.assert_array_equal(back[np.isfinite(back)], np.array([0.1, 0.5, -0.2], "float32"))
