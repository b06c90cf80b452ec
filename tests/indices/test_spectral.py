"""Spectral indices: hand-computed values, spyndex as an independent oracle, NumPy and Dask
input, NaN for zero denominators, missing bands, property tests, real Sentinel-2 NDVI."""
from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import indices
from indices import INDICES, IndicesError, MissingBandError, compute_indices

from support.indices_data import scene

ALL_BANDS = ("blue", "green", "red", "rededge1", "nir", "swir16", "swir22")

# two pixels: vegetation, clear water
VEG = dict(blue=0.05, green=0.08, red=0.06, rededge1=0.12, nir=0.30, swir16=0.20, swir22=0.10)
WAT = dict(blue=0.06, green=0.07, red=0.04, rededge1=0.03, nir=0.02, swir16=0.01, swir22=0.005)

# expected values worked by hand from each paper's formula
EXPECTED = {
    "ndvi": ((0.30 - 0.06) / (0.30 + 0.06), (0.02 - 0.04) / (0.02 + 0.04)),  # 0.6667, -0.3333
    "evi": (2.5 * 0.24 / (0.30 + 6 * 0.06 - 7.5 * 0.05 + 1), 2.5 * -0.02 / (0.02 + 6 * 0.04 - 7.5 * 0.06 + 1)),
    "savi": (1.5 * 0.24 / (0.36 + 0.5), 1.5 * -0.02 / (0.06 + 0.5)),
    "ndre": (0.18 / 0.42, -0.01 / 0.05),
    "ndwi": (-0.22 / 0.38, 0.05 / 0.09),
    "mndwi": (-0.12 / 0.28, 0.06 / 0.08),  # -0.4286, 0.75
    "awei_nsh": (4 * -0.12 - (0.075 + 0.275), 4 * 0.06 - (0.005 + 0.01375)),  # -0.83, 0.22125
    "awei_sh": (0.05 + 0.2 - 1.5 * 0.5 - 0.025, 0.06 + 0.175 - 1.5 * 0.03 - 0.00125),  # -0.525, 0.18875
    "exg": ((0.16 - 0.06 - 0.05) / 0.19, (0.14 - 0.04 - 0.06) / 0.17),
    "vari": (0.02 / 0.09, 0.03 / 0.05),
    "ndbi": (-0.10 / 0.50, -0.01 / 0.03),
    "bsi": (-0.09 / 0.61, (0.05 - 0.08) / (0.05 + 0.08)),
}


def two_pixels(dask_backed: bool = False) -> xr.Dataset:
    bands = {b: np.array([[VEG[b], WAT[b]]]) for b in ALL_BANDS}
    return scene(bands, dask=dask_backed)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_values(name, backend):
    ds = two_pixels(backend == "dask")
    out = INDICES[name].func(ds)
    if backend == "dask":
        assert dask.is_dask_collection(out), f"{name} computed eagerly on Dask input"
    assert out.dtype == np.float32 and out.name == name
    assert out.dims == ("y", "x") and out.rio.crs == ds.rio.crs
    assert {"long_name", "formula", "source"} <= set(out.attrs)
    np.testing.assert_allclose(out.values[0], EXPECTED[name], rtol=1e-6, atol=1e-7)


def test_awei_nsh_literal_values():
    out = indices.awei_nsh(two_pixels()).values[0]
    np.testing.assert_allclose(out, [-0.83, 0.22125], rtol=1e-6)


# --------------------------------------------------------------------------- spyndex oracle
spyndex = pytest.importorskip("spyndex")


def _random_bands(seed=1, shape=(3, 16, 16)):
    rng = np.random.default_rng(seed)
    return {b: rng.uniform(0.0, 0.6, shape).astype(np.float32) for b in ALL_BANDS}


SPY = {"B": "blue", "G": "green", "R": "red", "RE1": "rededge1", "N": "nir", "S1": "swir16", "S2": "swir22"}
ORACLE = [  # ours, spyndex name, extra constants
    ("ndvi", "NDVI", {}),
    ("evi", "EVI", {"g": 2.5, "C1": 6.0, "C2": 7.5, "L": 1.0}),
    ("savi", "SAVI", {"L": 0.5}),
    ("ndre", "NDREI", {}),
    ("ndwi", "NDWI", {}),
    ("mndwi", "MNDWI", {}),
    ("awei_sh", "AWEIsh", {}),
    ("vari", "VARI", {}),
    ("ndbi", "NDBI", {}),
    ("bsi", "BI", {}),
]


def _spy(name, bands, extra):
    need = spyndex.indices[name].bands
    params = {k: bands[SPY[k]].astype(np.float64) for k in need if k in SPY}
    params.update({k: v for k, v in extra.items() if k in need})
    return np.asarray(spyndex.computeIndex(name, params=params))


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("ours,theirs,extra", ORACLE, ids=[o[0] for o in ORACLE])
def test_matches_spyndex(ours, theirs, extra, backend):
    bands = _random_bands()
    ds = scene(bands, times=["2024-01-01", "2024-02-01", "2024-03-01"], dask=backend == "dask")
    got = INDICES[ours].func(ds)
    assert dask.is_dask_collection(got) == (backend == "dask")
    want = _spy(theirs, bands, extra)
    ok = np.isfinite(want) & (np.abs(want) < 1e6)
    np.testing.assert_allclose(got.values[ok], want[ok], rtol=2e-5, atol=2e-6)


def test_exg_is_spyndex_exg_on_chromatic_coordinates():
    """spyndex lists ExG on raw bands (2G - R - B); Woebbecke et al. 1995 use chromatic
    coordinates, i.e. the same divided by R + G + B."""
    bands = _random_bands(2)
    got = indices.exg(scene(bands, times=["2024-01-01", "2024-02-01", "2024-03-01"])).values
    raw = _spy("ExG", bands, {})
    total = sum(bands[b].astype(np.float64) for b in ("red", "green", "blue"))
    np.testing.assert_allclose(got, raw / total, rtol=2e-5)


def test_awei_nsh_follows_paper_not_spyndex_sign():
    """Feyisa et al. 2014: 4(G - S1) - (0.25 N + 2.75 S2). spyndex 0.12 carries +2.75 S2;
    the two differ by exactly 5.5 S2."""
    formula = spyndex.indices["AWEInsh"].formula.replace(" ", "")
    bands = _random_bands(3)
    ours = indices.awei_nsh(scene(bands, times=["2024-01-01", "2024-02-01", "2024-03-01"])).values.astype(np.float64)
    theirs = _spy("AWEInsh", bands, {})
    s2 = bands["swir22"].astype(np.float64)
    if "+2.75*S2" in formula:
        np.testing.assert_allclose(ours - theirs, -5.5 * s2, atol=2e-6)
    else:  # the catalogue has been corrected: then both must agree
        np.testing.assert_allclose(ours, theirs, atol=2e-6)
    paper = 4 * (bands["green"] - bands["swir16"].astype(np.float64)) - (0.25 * bands["nir"] + 2.75 * s2)
    np.testing.assert_allclose(ours, paper, rtol=1e-5, atol=2e-6)


# --------------------------------------------------------------------------- behaviour
def test_zero_denominator_is_nan_not_inf():
    zeros = {b: np.zeros((1, 3)) for b in ALL_BANDS}
    zeros["green"] = np.array([[0.0, 0.125, 0.25]])  # exact in float32
    zeros["red"] = np.array([[0.0, 0.0, 0.125]])
    zeros["blue"] = np.array([[0.0, 0.125, 0.375]])  # green + red - blue = 0 in all three
    ds = scene(zeros)
    for name in ("ndvi", "ndwi", "mndwi", "ndre", "ndbi", "bsi"):
        assert np.isnan(INDICES[name].func(ds).values[0, 0]), name
    vari = indices.vari(ds).values[0]
    assert np.isnan(vari).all()
    assert np.isnan(indices.exg(ds).values[0, 0])  # R + G + B = 0
    for name, spec in INDICES.items():
        assert not np.isinf(spec.func(ds).values).any(), name


def test_nan_input_stays_nan():
    b = {k: np.array([[v, np.nan]]) for k, v in VEG.items()}
    ds = scene(b)
    for name, spec in INDICES.items():
        v = spec.func(ds).values[0]
        assert np.isfinite(v[0]) and np.isnan(v[1]), name


def test_nir_falls_back_to_nir08_and_prefers_nir():
    landsat = scene({"red": [[0.1]], "nir08": [[0.3]]})
    assert indices.nir_band(landsat) == "nir08"
    np.testing.assert_allclose(indices.ndvi(landsat).values, [[0.5]], rtol=1e-6)
    s2 = scene({"red": [[0.1]], "nir": [[0.3]], "nir08": [[0.9]]})
    np.testing.assert_allclose(indices.ndvi(s2).values, [[0.5]], rtol=1e-6)  # B08, not B8A


def test_missing_bands_raise_with_names():
    rgb = scene({"red": [[0.1]], "green": [[0.1]], "blue": [[0.1]]})
    with pytest.raises(MissingBandError) as err:
        indices.mndwi(rgb)
    assert isinstance(err.value, KeyError) and isinstance(err.value, IndicesError)
    assert str(err.value) == "mndwi needs swir16; scene has red, green, blue"
    with pytest.raises(MissingBandError, match="awei_sh needs nir, swir16, swir22"):
        indices.awei_sh(rgb)


def test_compute_indices_skips_what_the_bands_do_not_allow():
    rgb = scene({"red": [[0.1, 0.2]], "green": [[0.2, 0.2]], "blue": [[0.05, 0.1]]}, dask=True)
    ds, skipped = compute_indices(rgb)
    assert set(ds.data_vars) == {"exg", "vari"}
    assert skipped["ndvi"] == "needs nir; scene has red, green, blue"
    assert skipped["mndwi"] == "needs swir16; scene has red, green, blue"
    assert skipped["awei_nsh"] == "needs swir16, nir, swir22; scene has red, green, blue"
    assert set(skipped) | set(ds.data_vars) == set(INDICES)
    assert dask.is_dask_collection(ds["exg"]) and ds.rio.crs == rgb.rio.crs
    only, sk = compute_indices(rgb, names=["ndvi", "vari"])
    assert list(only.data_vars) == ["vari"] and list(sk) == ["ndvi"]
    with pytest.raises(IndicesError, match="unknown index ndvix"):
        compute_indices(rgb, names=["ndvix"])


def test_compute_indices_full_scene_keeps_time_and_attrs():
    bands = _random_bands(4)
    ds = scene(bands, times=["2024-01-01", "2024-02-01", "2024-03-01"], dask=True)
    out, skipped = compute_indices(ds)
    assert skipped == {} and list(out.data_vars) == list(INDICES)
    assert out["ndvi"].dims == ("time", "y", "x") and out.attrs["sensor"] == "test"
    assert all(out[v].dtype == np.float32 for v in out.data_vars)


def test_evi_and_savi_parameters_change_the_formula():
    ds = two_pixels()
    s = indices.savi(ds, L=0.0)
    np.testing.assert_allclose(s.values, indices.ndvi(ds).values, rtol=1e-6)  # L = 0 is NDVI
    assert "0.0" in s.attrs["formula"]
    e = indices.evi(ds, G=1.0, C1=0.0, C2=0.0, L=0.0)
    np.testing.assert_allclose(e.values[0], [0.24 / 0.30, -0.02 / 0.02], rtol=1e-6)


def test_chromatic_coordinates_sum_to_one():
    c = indices.chromatic_coordinates(two_pixels())
    np.testing.assert_allclose((c["r"] + c["g"] + c["b"]).values, 1.0, rtol=1e-6)
    np.testing.assert_allclose(c["g"].values[0, 0], 0.08 / 0.19, rtol=1e-6)


# --------------------------------------------------------------------------- properties
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)  # the whole float32 range
edgy = st.one_of(st.just(0.0), st.just(-0.0), finite32, st.floats(-2, 2, width=32))
reflectance = st.one_of(st.just(0.0), st.floats(0, 1.5, width=32),
                        st.floats(min_value=0, allow_nan=False, allow_infinity=False, width=32))


def _scene_from(draw_arrays):
    return scene({b: draw_arrays[i][None, :] for i, b in enumerate(ALL_BANDS)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float32, (len(ALL_BANDS), 6), elements=edgy))
def test_no_inf_for_any_finite_input(a):
    ds = _scene_from(a)
    for name, spec in INDICES.items():
        v = spec.func(ds).values
        assert not np.isinf(v).any(), (name, a)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float32, (len(ALL_BANDS), 6), elements=reflectance))
def test_bounded_for_non_negative_reflectance(a):
    ds = _scene_from(a)
    for name, spec in INDICES.items():
        if spec.valid_range is None:
            continue
        v = spec.func(ds).values
        v = v[np.isfinite(v)]
        lo, hi = spec.valid_range
        assert ((v >= lo - 1e-6) & (v <= hi + 1e-6)).all(), (name, v, a)
    c = indices.chromatic_coordinates(ds)
    s = (c["r"] + c["g"] + c["b"]).values
    assert np.allclose(s[np.isfinite(s)], 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_ndvi_matches_eolearn_on_real_sentinel2(realdata):
    """The 5 Slovenia reference scenes (L1C, bands B01..B12) are 5 of the 68 dates of the
    shipped eo-learn NDVI feature (dates 2, 1, 4, 3, 0): our NDVI from B04/B08 equals it."""
    folder = realdata / "sentinel2_l1c_slovenia"
    ref_path, ndvi_path = folder / "REFERENCE_SCENES.npy", folder / "TestEOPatch" / "data" / "NDVI.npy"
    if not ref_path.exists() or not ndvi_path.exists():
        pytest.skip(f"{folder} lacks REFERENCE_SCENES.npy or TestEOPatch/data/NDVI.npy")
    ref = np.load(ref_path)  # (5, 101, 100, 13)
    shipped = np.load(ndvi_path)[..., 0]  # (68, 101, 100)
    ds = scene({"red": ref[..., 3], "nir": ref[..., 7], "rededge1": ref[..., 4]}, times=[f"2017-01-0{i + 1}" for i in range(5)],
               crs="EPSG:32633", dask=True)
    got = indices.ndvi(ds).values
    for i, j in enumerate([2, 1, 4, 3, 0]):
        np.testing.assert_allclose(got[i], shipped[j], atol=1e-6)
    assert 0.3 < float(np.nanmean(got)) < 0.9  # vegetated hills
    ndre = indices.ndre(ds).values
    assert (ndre < got).mean() > 0.95  # red-edge 1 is brighter than red over vegetation
