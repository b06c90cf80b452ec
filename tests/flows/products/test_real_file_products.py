"""Issue 11 targets on every product the night writes from real files: no product value on any
masked or transparent pixel, and no absolute-threshold product on uncalibrated data without a
scale. The inputs are made from the real files of ../shared/realdata the way photogrammetry tools
and GDAL write them (written to tmp_path, never into the repo):

* two drone orthomosaics cut from the 10 cm airborne RGB, black fill marked by internal GDAL
  masks, the first one's fill over the second's pixels (Metashape / ODM);
* a WebODM-style RGB+NIR+alpha orthophoto from the 5 m RGBN village, alpha flagged by colour
  interpretation only (GDAL then derives no dataset mask from it) and junk (255) under it;
* NAIP 8-bit RGBN with a nodata fill, written with GDAL's defaults, which flag band 4 (NIR) alpha;
* the RGBN village as two overlapping crops with black nodata fill.

Which pixels are invalid comes from the arrays used to write the files, never from the code
under test; each product pixel is traced to the source pixel under its centre."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp

import indices
from flows.execute_plain import run_village
from flows.products.date import aoi_mask
from sensing.files import FilesSource

from support.realfiles import overlapping_pieces, write_pieces
from support.stac_fixtures import REALDATA, need, raster_village

AIRBORNE = REALDATA / "airborne_rgb_10cm" / "OSBS_029.tif"
RGBN = REALDATA / "rgbn_5m_river_village" / "rgbn.tif"
NAIP = REALDATA / "naip_lakes_north_dakota" / "m_4709963_se_14_1_20190904.tif"
ABSOLUTE = {"black_odorous.tif", "evi.tif", "savi.tif", "awei_nsh.tif", "awei_sh.tif"}


def _product_values_on_invalid(out, source_file, valid: np.ndarray) -> dict[str, tuple[int, int]]:
    """{product: (invalid pixels, of them with a value)} for every raster written under ``out``;
    ``valid`` is on ``source_file``'s pixel grid."""
    with rasterio.open(source_file) as s:
        st = s.transform
    found = {}
    for p in sorted(out.rglob("*.tif")):
        with rasterio.open(p) as d:
            a = d.read(1, masked=True)
            rows, cols = np.mgrid[0:d.height, 0:d.width]
            xs, ys = d.transform * (cols + 0.5, rows + 0.5)
        c, r = ~st * (xs, ys)
        r, c = np.floor(r).astype(int), np.floor(c).astype(int)
        inside = (r >= 0) & (r < valid.shape[0]) & (c >= 0) & (c < valid.shape[1])
        invalid = np.zeros(a.shape, bool)
        invalid[inside] = ~valid[r[inside], c[inside]]
        has = ~np.ma.getmaskarray(a)
        if a.dtype.kind == "f":
            has &= np.isfinite(a.filled(np.nan))
        found[str(p.relative_to(out))] = (int(invalid.sum()), int((has & invalid).sum()))
    return found


def _run(src, village, day, out):
    run = run_village(src, village, day, day, out)
    assert run.status == "ok", run.reason
    return json.loads((out / village.id / day.isoformat() / "manifest.json").read_text())


def _assert_clean(found, *, expect: set[str]):
    names = {k.rsplit("/", 1)[-1] for k in found}
    assert expect <= names, names
    for name, (n_invalid, n_bad) in found.items():
        assert n_invalid > 0, f"{name}: the test's invalid pixels do not reach this product"
        assert n_bad == 0, f"{name}: {n_bad} of {n_invalid} masked pixels carry a value"


def test_drone_orthos_with_internal_masks_give_no_value_on_their_fill(tmp_path):
    need(AIRBORNE)
    with rasterio.open(AIRBORNE) as f:
        dn, prof = f.read(), f.profile
    a, b = overlapping_pieces(dn.shape[1:], second_top=0.25)
    folder = tmp_path / "flight"
    write_pieces(folder, dn, prof, {"a_20180601.tif": a, "b_20180601.tif": b})
    v = raster_village(AIRBORNE, shrink=0.05)
    m = _run(FilesSource(paths=folder, resampling="native"), v, dt.date(2018, 6, 1), tmp_path / "out")
    _assert_clean(_product_values_on_invalid(tmp_path / "out", AIRBORNE, a | b), expect={"exg.tif", "vari.tif"})
    assert "water_mask" in m["skipped_products"]  # RGB only: no water products at all


def _rgbna(tmp_path):
    with rasterio.open(RGBN) as f:
        dn, prof = f.read(), f.profile
    alpha = np.full(dn.shape[1:], 255, np.uint8)
    alpha[:120, :] = 0
    alpha[:, 400:] = 0
    junk = np.where(alpha == 0, 255, dn).astype(np.uint8)  # transparent pixels hold junk, as some tools write
    folder = tmp_path / "odm"
    folder.mkdir()
    p = folder / "odm_orthophoto_20210430.tif"
    with rasterio.open(p, "w", **{**prof, "count": 5, "nodata": None}) as out:
        out.write(np.concatenate([junk, alpha[None]]))
        out.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined,
                           ColorInterp.alpha]
    with rasterio.open(p) as s:  # GDAL flags band 5 alpha but derives no mask from it
        assert s.colorinterp[4] == ColorInterp.alpha and int(s.read_masks(1).min()) == 255
    return p, alpha > 0


def test_webodm_rgbn_alpha_relative_masks_every_product_and_skips_absolute_ones(tmp_path):
    need(RGBN)
    p, valid = _rgbna(tmp_path)
    v = raster_village(RGBN, shrink=0.02)
    day = dt.date(2021, 4, 30)
    m = _run(FilesSource(paths=p.parent, band_map="red,green,blue,nir,alpha", resampling="native"), v, day,
             tmp_path / "out")
    found = _product_values_on_invalid(tmp_path / "out", p, valid)
    _assert_clean(found, expect={"ndvi.tif", "ndwi.tif", "exg.tif", "vari.tif"})
    written = {k.rsplit("/", 1)[-1] for k in found}
    assert not written & ABSOLUTE, written
    assert m["inputs"]["reflectance_units"] == "relative"
    assert m["inputs"]["radiometry"][p.name]["mask"] == "alpha band 5"
    # NDWI is not bimodal on this scene: its published 0 is not used on uncalibrated values
    assert "water_mask.tif" not in written
    assert "needs calibrated reflectance" in m["skipped_products"]["water_mask"]
    for name in ("evi", "savi"):
        assert "relative" in m["skipped_indices"][name]
    for name in ("black_odorous", "vegetation_cover", "dense_canopy_share"):
        assert "needs calibrated reflectance" in m["skipped_products"][name]


def test_webodm_rgbn_alpha_with_a_scale_writes_every_product_none_on_transparent_pixels(tmp_path):
    need(RGBN)
    p, valid = _rgbna(tmp_path)
    v = raster_village(RGBN, shrink=0.02)
    m = _run(FilesSource(paths=p.parent, band_map="red,green,blue,nir,alpha", scale=1 / 255, resampling="native"),
             v, dt.date(2021, 4, 30), tmp_path / "out")
    assert m["inputs"]["reflectance_units"] == "reflectance"
    _assert_clean(_product_values_on_invalid(tmp_path / "out", p, valid),
                  expect={"ndvi.tif", "ndwi.tif", "evi.tif", "savi.tif", "water_mask.tif", "black_odorous.tif"})


def test_naip_rgbn_written_with_gdal_defaults_nir_flagged_alpha_and_a_nodata_fill(tmp_path, caplog):
    need(NAIP)
    with rasterio.open(NAIP) as f:
        dn, prof = f.read(), f.profile
    fill = np.zeros(dn.shape[1:], bool)
    fill[:, :300] = True
    folder = tmp_path / "naip"
    folder.mkdir()
    p = folder / NAIP.name
    with rasterio.open(p, "w", **{**prof, "nodata": 0}) as out:  # GDAL's default: 4 x uint8 = RGB + alpha
        out.write(np.where(fill, 0, np.maximum(dn, 1)).astype(np.uint8))
    with rasterio.open(p) as s:
        assert s.colorinterp[3] == ColorInterp.alpha
    v = raster_village(NAIP, shrink=0.02)
    day = dt.date(2019, 9, 4)
    # no band map: band 4 is not a mask (its values), so it is neither taken as alpha nor guessed
    run = run_village(FilesSource(paths=folder, resampling="native"), v, day, day, tmp_path / "o1")
    assert run.status == "failed" and "band 4 is flagged alpha" in run.reason and "red,green,blue,nir" in run.reason
    src = FilesSource(paths=folder, band_map="red,green,blue,nir", resampling="native")
    m = _run(src, v, day, tmp_path / "out")
    assert "not a mask: read as 'nir'" in caplog.text
    with rasterio.open(p) as s:
        nir_file = s.read(4)
    scene = src.load(v, day, day)
    r0 = int(round((~s.transform * (float(scene.x[0]), float(scene.y[0])))[1] - 0.5))
    c0 = int(round((~s.transform * (float(scene.x[0]), float(scene.y[0])))[0] - 0.5))
    got = scene["nir"][0].values
    exp = nir_file[r0:r0 + got.shape[0], c0:c0 + got.shape[1]] / 255.0
    ok = np.isfinite(got)
    np.testing.assert_allclose(got[ok], exp[ok], rtol=1e-6)  # NIR is data, never a mask
    assert ok.sum() == (exp > 0).sum()
    _assert_clean(_product_values_on_invalid(tmp_path / "out", p, ~fill), expect={"ndvi.tif", "ndwi.tif"})
    assert m["inputs"]["radiometry"][p.name]["nodata"] == 0.0


def test_rgbn_mosaic_of_overlapping_crops_with_black_fill(tmp_path):
    need(RGBN)
    with rasterio.open(RGBN) as f:
        dn, prof = f.read(), f.profile
    a, b = overlapping_pieces(dn.shape[1:], second_top=0.2)
    folder = tmp_path / "crops"
    write_pieces(folder, dn, prof, {"p1_20210430.tif": a, "p2_20210430.tif": b}, how="nodata")
    v = raster_village(RGBN, shrink=0.02)
    day = dt.date(2021, 4, 30)
    m = _run(FilesSource(paths=folder, band_map="red,green,blue,nir", scale=1 / 255, resampling="native"), v, day,
             tmp_path / "out")
    found = _product_values_on_invalid(tmp_path / "out", RGBN, a | b)
    _assert_clean(found, expect={"ndvi.tif", "ndwi.tif", "water_mask.tif"})
    assert m["inputs"]["item_ids"] == ["p1_20210430+p2_20210430"]
    # the reported valid fraction is the true coverage of the two crops over the village
    figures = json.loads((tmp_path / "out" / v.id / day.isoformat() / "indicators.json").read_text())
    with rasterio.open(RGBN) as f:
        from pyproj import Transformer
        from rasterio.features import geometry_mask
        from shapely.geometry import mapping
        from shapely.ops import transform as shp_transform

        local = shp_transform(Transformer.from_crs("EPSG:4326", f.crs, always_xy=True).transform, v.geometry)
        aoi = geometry_mask([mapping(local)], out_shape=f.shape, transform=f.transform, invert=True)
    assert figures["valid_fraction"] == pytest.approx(float((a | b)[aoi].mean()), abs=1e-9)


@pytest.mark.parametrize("units", ["relative", "reflectance"])
def test_absolute_products_only_with_a_scale(units, tmp_path):
    """The same real file, relative (8-bit, no scale) and calibrated (the user's scale): EVI, SAVI,
    black-odorous and the cover shares exist only in the second."""
    need(RGBN)
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "rgbn_20210430.tif").symlink_to(RGBN)
    kw = {"scale": 1 / 255} if units == "reflectance" else {}
    v = raster_village(RGBN, shrink=0.02)
    day = dt.date(2021, 4, 30)
    m = _run(FilesSource(paths=folder, band_map="red,green,blue,nir", resampling="native", **kw), v, day,
             tmp_path / "out")
    names = set(m["outputs"])
    figures = json.loads((tmp_path / "out" / v.id / day.isoformat() / "indicators.json").read_text())
    if units == "relative":
        assert not names & ABSOLUTE
        assert figures["vegetation_cover"] is None and figures["dense_canopy_share"] is None
        # no bimodal NDWI histogram, and NDWI > 0 (the fallback) would call 62 % of the village water
        scene = FilesSource(paths=folder, band_map="red,green,blue,nir", resampling="native").load(v, day, day)
        nd = indices.ndwi(scene.isel(time=0)).values
        inside = aoi_mask(v, scene).values & np.isfinite(nd)
        assert float((nd[inside] > 0).mean()) == pytest.approx(0.62, abs=0.005)
        assert "water_mask.tif" not in names and "not bimodal" in m["skipped_products"]["water_mask"]
    else:
        assert {"evi.tif", "savi.tif"} <= names
        assert figures["vegetation_cover"] is not None
