"""Black-odorous water: index formulas, CIE colorimetry, both sides of every threshold on
literature-shaped spectra, votes (min_votes decides), the guards (turbid, blue, shadow), the
bright type, recorded parameters, units, and the per-water-body verdicts."""
from __future__ import annotations

import math

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from indices import blackodorous as bo
from indices.screening import classify_water_bodies
from indices.colour import (
    CIE1931_LOCUS,
    chromaticity,
    colour_purity,
    dominant_wavelength,
    rgb_to_xyz,
)

from support.paths import REALDATA  # noqa: E402


# --------------------------------------------------------------------------- helpers
def scene_of(spectra, *, units="rrs", chunks=None, sensor="sentinel-2-l2a"):
    """A (y, x) scene, one column per spectrum (B, G, R); Rrs spectra are stored as given
    (``units="rrs"``) or converted to reflectance rho = pi Rrs (``units="reflectance"``).
    ``sensor`` (attrs) picks the RGB -> XYZ transform: Sentinel-2's unless None."""
    arr = np.asarray(spectra, dtype="float64")
    if units == "reflectance":
        arr = arr * math.pi
    bands = {name: (("y", "x"), arr[None, :, i].astype("float32")) for i, name in enumerate(("blue", "green", "red"))}
    ds = xr.Dataset(bands, coords={"y": [5.0], "x": 10.0 * np.arange(len(arr)) + 5.0},
                    attrs={"sensor": sensor} if sensor else {})
    return ds.chunk(chunks) if chunks else ds


def everywhere(ds):
    return xr.ones_like(ds["blue"], dtype=bool)


class NoCompute:
    """A Dask scheduler that fails the test if anything is computed."""

    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("computed eagerly: the per-pixel functions must stay lazy")


# literature-shaped in-situ Rrs (sr^-1), band means B, G, R: black-odorous water is dark and
# flat (Wen et al. 2018; Shen et al. 2019), ordinary water has a green peak, clear deep water
# is dark and blue, algal water has a strong green peak, turbid water is bright with red >= green.
from support.bo_spectra import EXPECTED, SPECTRA  # noqa: E402


# --------------------------------------------------------------------------- index formulas
def test_index_formulas_on_known_values_numpy_and_dask():
    spectra = [(0.02, 0.05, 0.03), (0.01, 0.01, 0.02), (0.04, 0.03, 0.03)]
    for chunks in (None, {"x": 1}):
        ds = scene_of(spectra, chunks=chunks)
        with dask.config.set(scheduler=NoCompute()):
            v_boi, v_nd, v_gr = bo.boi(ds), bo.ndbwi(ds), bo.green_red_ratio(ds)
        if chunks:
            assert v_boi.chunks is not None and v_nd.chunks is not None
        np.testing.assert_allclose(v_boi.values[0], [0.02 / 0.10, -0.01 / 0.04, 0.0], atol=1e-6)
        np.testing.assert_allclose(v_nd.values[0], [0.02 / 0.08, -0.01 / 0.03, 0.0], atol=1e-6)
        np.testing.assert_allclose(v_gr.values[0], [5 / 3, 0.5, 1.0], rtol=1e-6)


def test_indices_are_nan_safe_and_flags_false_on_nan():
    ds = scene_of([(0.004, np.nan, 0.005), (0.0, 0.0, 0.0), (0.004, 0.006, 0.0058)])
    assert np.isnan(bo.boi(ds).values[0, :2]).all()
    assert np.isnan(bo.ndbwi(ds).values[0, :2]).all()
    assert np.isnan(bo.green_red_ratio(ds).values[0, :2]).all()
    flags = bo.black_odorous_pixels(ds, everywhere(ds))
    for name in ("boi_flag", "ndbwi_flag", "cie_flag", "is_suspect"):
        assert flags[name].values[0].tolist() == [False, False, True], name
    assert flags["dark_flag"].values[0].tolist() == [False, True, True]  # zero reflectance is dark, no colour
    assert flags["votes"].values[0].tolist() == [0, 1, 4]


def test_green_red_ratio_is_ndbwi_in_other_form_so_no_ratio_vote():
    """Wen et al. 2018's red-green ratio rule is the NDBWI: NDBWI = (G/R - 1) / (G/R + 1), so a
    G/R flag would be a duplicate vote; asking for it names the reason."""
    rng = np.random.default_rng(1)
    spectra = np.column_stack([rng.uniform(0.001, 0.05, 2000), rng.uniform(0.001, 0.05, 2000), rng.uniform(0.001, 0.05, 2000)])
    ds = scene_of(spectra)
    gr = bo.green_red_ratio(ds).values
    np.testing.assert_allclose(bo.ndbwi(ds).values, (gr - 1) / (gr + 1), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="'ratio' is the NDBWI flag in other form"):
        bo.black_odorous_pixels(ds, everywhere(ds), methods=("boi", "ratio"))
    assert "ratio" not in bo.ALL_METHODS


def test_to_rrs_divides_by_pi_and_keeps_ratios():
    rho = scene_of([(0.02, 0.05, 0.03)], units="reflectance")
    rrs = bo.to_rrs(rho)
    np.testing.assert_allclose(rrs["green"].values, [[0.05]], rtol=1e-6)
    assert rrs["green"].attrs["units"] == "sr-1"
    np.testing.assert_allclose(bo.boi(rrs).values, bo.boi(rho).values, rtol=1e-6)
    np.testing.assert_allclose(bo.cie_purity(rrs).values, bo.cie_purity(rho).values, rtol=1e-6)


def test_missing_band_is_named():
    from indices.errors import MissingBandError

    ds = scene_of([(0.02, 0.05, 0.03)]).drop_vars("red").assign_attrs(sensor="drone-rgb")
    with pytest.raises(MissingBandError, match="BOI needs red; scene has blue, green. sensor drone-rgb") as e:
        bo.boi(ds)
    assert e.value.missing == ("red",)
    with pytest.raises(MissingBandError, match="CIE chromaticity needs red"):
        rgb_to_xyz(ds)


# --------------------------------------------------------------------------- CIE colorimetry
def test_equal_energy_white_is_one_third_and_has_zero_purity():
    ds = scene_of([(0.01, 0.01, 0.01), (0.2, 0.2, 0.2)])
    x, y = chromaticity(ds)
    np.testing.assert_allclose(x.values, 1 / 3, atol=1e-4)
    np.testing.assert_allclose(y.values, 1 / 3, atol=1e-4)
    assert colour_purity(1 / 3, 1 / 3) == 0.0
    assert math.isnan(dominant_wavelength(1 / 3, 1 / 3))
    assert bo.cie_purity(ds).values.max() < 1e-3


@pytest.mark.parametrize("wl", [470, 500, 520, 555, 580, 620, 680])
def test_spectral_colours_have_purity_one_and_their_wavelength(wl):
    row = CIE1931_LOCUS[CIE1931_LOCUS[:, 0] == wl][0]
    assert dominant_wavelength(row[1], row[2]) == pytest.approx(wl, abs=0.01)
    assert colour_purity(row[1], row[2]) == pytest.approx(1.0, abs=1e-6)
    half = (1 / 3 + (row[1] - 1 / 3) / 2, 1 / 3 + (row[2] - 1 / 3) / 2)
    assert colour_purity(*half) == pytest.approx(0.5, abs=1e-6)
    assert dominant_wavelength(*half) == pytest.approx(wl, abs=0.01)


def test_between_table_points_and_against_an_independent_implementation():
    # midway on the chord 520-525 nm
    a, b = CIE1931_LOCUS[CIE1931_LOCUS[:, 0] == 520][0], CIE1931_LOCUS[CIE1931_LOCUS[:, 0] == 525][0]
    assert dominant_wavelength((a[1] + b[1]) / 2, (a[2] + b[2]) / 2) == pytest.approx(522.5, abs=0.01)
    # colour-science 0.4.7 (1 nm CIE 1931 CMFs), colour.dominant_wavelength / excitation_purity
    # with white (1/3, 1/3): (x, y) -> (wavelength, purity)
    # (it reports the wavelength of the nearest 1 nm sample, so agreement is to 1 nm)
    reference = {
        (0.3558, 0.3843): (569.0, 0.2212),
        (0.3055, 0.4434): (540.0, 0.2598),
        (0.3871, 0.4095): (574.0, 0.3910),
        (0.2000, 0.2500): (483.0, 0.5206),
        (0.4000, 0.2000): (-521.0, 0.6453),  # purples: negative complementary wavelength
        (0.5000, 0.3000): (-494.0, 0.4352),
    }
    for (x, y), (wl, p) in reference.items():
        assert dominant_wavelength(x, y) == pytest.approx(wl, abs=1.0)
        assert colour_purity(x, y) == pytest.approx(p, abs=0.002)


def test_purples_get_a_negative_complementary_wavelength():
    x, y = 0.40, 0.20  # magenta: the ray from white meets the purple line
    wl = dominant_wavelength(x, y)
    assert wl == pytest.approx(-521.2, abs=1.0)  # complementary: green, 521 nm
    assert colour_purity(x, y) == pytest.approx(0.6458, abs=0.005)  # measured to the purple line
    # the complementary wavelength is on the opposite side of white
    row = CIE1931_LOCUS[CIE1931_LOCUS[:, 0] == 520][0]
    assert (row[1] - 1 / 3) * (x - 1 / 3) < 0 and (row[2] - 1 / 3) * (y - 1 / 3) < 0


def test_colour_functions_are_lazy_and_nan_safe_on_dask():
    x = xr.DataArray(da.from_array(np.array([[1 / 3, 0.0743, np.nan, 0.40]]), chunks=(1, 2)), dims=("y", "x"))
    y = xr.DataArray(da.from_array(np.array([[1 / 3, 0.8338, 0.3, 0.20]]), chunks=(1, 2)), dims=("y", "x"))
    with dask.config.set(scheduler=NoCompute()):
        wl, p = dominant_wavelength(x, y), colour_purity(x, y)
    assert wl.chunks is not None
    np.testing.assert_allclose(p.values[0], [0.0, 1.0, np.nan, 0.6458], atol=5e-3)
    assert np.isnan(wl.values[0, 0]) and wl.values[0, 1] == pytest.approx(520) and np.isnan(wl.values[0, 2])
    assert wl.values[0, 3] < 0


# --------------------------------------------------------------------------- both sides of each threshold
def _g_for_boi(k, b=0.004, r=0.006):
    return (r * (1 + k) + k * b) / (1 - k)


def _g_for_ndbwi(n, r=0.006):
    return r * (1 + n) / (1 - n)


def test_boi_threshold_both_sides():
    ds = scene_of([(0.004, _g_for_boi(0.060), 0.006), (0.004, _g_for_boi(0.070), 0.006)])
    np.testing.assert_allclose(bo.boi(ds).values[0], [0.060, 0.070], atol=1e-5)
    assert bo.boi_flag(ds).values[0].tolist() == [True, False]
    assert bo.boi_flag(ds, threshold=0.075).values[0].tolist() == [True, True]


def test_ndbwi_bounds_both_sides():
    ns = [-0.06, -0.04, 0.11, 0.12]
    ds = scene_of([(0.004, _g_for_ndbwi(n), 0.006) for n in ns])
    np.testing.assert_allclose(bo.ndbwi(ds).values[0], ns, atol=1e-5)
    assert bo.ndbwi_flag(ds).values[0].tolist() == [False, True, True, False]


def _purity_spectrum(target):
    """Grey water plus some green-yellow colour, mixed to a given CIE purity."""
    from scipy.optimize import brentq

    def spec(t):
        return (0.005, 0.005 + 0.004 * t, 0.005 + 0.002 * t)

    t = brentq(lambda t: bo.cie_purity(scene_of([spec(t)])).values[0, 0] - target, 0.0, 5.0, xtol=1e-10)
    return spec(t)


def test_cie_purity_threshold_both_sides():
    """Purity 0.24 is flagged, 0.26 is not (default max_purity 0.25)."""
    assert bo.MAX_PURITY == 0.25
    ds = scene_of([_purity_spectrum(0.24), _purity_spectrum(0.26)])
    np.testing.assert_allclose(bo.cie_purity(ds).values[0], [0.24, 0.26], atol=1e-4)
    assert bo.cie_flag(ds).values[0].tolist() == [True, False]
    wl = bo.cie_dominant_wavelength(ds).values[0]
    assert bo.cie_flag(ds, wavelength_range=(wl[0] + 1, 700)).values[0].tolist() == [False, False]


def test_darkness_threshold_both_sides_in_each_unit():
    """Max rho 0.0392 is dark, 0.0408 is not (default dark_threshold 0.04), as rho and as Rrs."""
    assert bo.DARK_THRESHOLD == 0.04
    rho = [(0.01, 0.0392, 0.015), (0.01, 0.0408, 0.015)]
    assert bo.darkness(scene_of(rho, units="rrs"), units="reflectance").values[0].tolist() == [True, False]
    rrs = [tuple(v / math.pi for v in s) for s in rho]
    assert bo.darkness(scene_of(rrs, units="rrs"), units="rrs").values[0].tolist() == [True, False]


@pytest.mark.parametrize("name", list(SPECTRA))
def test_literature_spectra_get_the_expected_flags(name):
    ds = scene_of([SPECTRA[name]], units="reflectance")
    f = bo.black_odorous_pixels(ds, everywhere(ds), units="reflectance")
    got = tuple(bool(f[v].values[0, 0]) for v in ("boi_flag", "ndbwi_flag", "cie_flag", "dark_flag", "is_suspect"))
    assert got == EXPECTED[name]


def test_turbid_false_positive_one_sided_boi_flags_it_guard_does_not():
    ds = scene_of([SPECTRA["turbid_red"], SPECTRA["turbid_neutral"], SPECTRA["black_odorous"]], units="reflectance")
    f = bo.black_odorous_pixels(ds, everywhere(ds))
    assert bo.boi(ds).values[0, 0] < 0  # red-dominant: G < R
    assert f["boi_flag"].values[0].tolist() == [True, True, True]
    assert f["votes"].values[0].tolist() == [1, 2, 4]
    assert f["too_bright"].values[0].tolist() == [True, True, False]  # max rho 0.141, 0.094 >= 0.08
    assert f["is_suspect"].values[0].tolist() == [False, False, True]


# --------------------------------------------------------------------------- units
def test_units_same_water_as_rrs_and_rho_same_decision():
    spectra = list(SPECTRA.values())
    rrs, rho = scene_of(spectra, units="rrs"), scene_of(spectra, units="reflectance")
    np.testing.assert_allclose(bo.boi(rrs).values, bo.boi(rho).values, rtol=1e-5)
    np.testing.assert_allclose(bo.ndbwi(rrs).values, bo.ndbwi(rho).values, rtol=1e-5)
    np.testing.assert_allclose(bo.cie_purity(rrs).values, bo.cie_purity(rho).values, rtol=1e-5)
    a = bo.black_odorous_pixels(rrs, everywhere(rrs), units="rrs")
    b = bo.black_odorous_pixels(rho, everywhere(rho), units="reflectance")
    assert (a["is_suspect"].values == b["is_suspect"].values).all()
    assert a["is_suspect"].values[0].tolist() == [e[4] for e in EXPECTED.values()]


def test_wrong_units_change_the_brightness_thresholds():
    # black-odorous water delivered as reflectance but declared Rrs: judged pi times too
    # bright (max rho 0.0188 -> 0.059 > 0.04): the dark vote is lost (4 -> 3 votes), so it is
    # no suspect; where the bright type is screened for (and NIR / R >= 0.4: NIR 0.5 x red here,
    # as black-odorous water keeps NIR), the water is taken for the bright type instead
    rho = scene_of([SPECTRA["black_odorous"]], units="reflectance")
    assert bo.darkness(rho, units="reflectance").item() is True
    assert bo.darkness(rho, units="rrs").item() is False
    right = bo.black_odorous_pixels(rho, everywhere(rho), units="reflectance")
    assert right["votes"].item() == 4 and right["is_suspect"].item() is True
    wrong = bo.black_odorous_pixels(rho, everywhere(rho), units="rrs")
    assert wrong["votes"].item() == 3 and wrong["is_suspect"].item() is False
    with_nir = rho.assign(nir=0.5 * rho["red"])
    wrong = bo.black_odorous_pixels(with_nir, everywhere(rho), units="rrs", bright_type=True)
    assert wrong["votes"].item() == 3 and wrong["is_suspect_bright"].item() is True
    # black-odorous water delivered as Rrs but declared reflectance: judged pi times too dark
    # (max 0.006 instead of 0.0188): still dark, the same decision
    rrs_bo = scene_of([SPECTRA["black_odorous"]], units="rrs")
    assert bo.black_odorous_pixels(rrs_bo, everywhere(rrs_bo), units="reflectance")["is_suspect"].item() is True
    # ordinary water delivered as Rrs but declared reflectance: judged pi times too dark
    # (max 0.018 < 0.04 instead of 0.0565)
    rrs = scene_of([SPECTRA["ordinary"]], units="rrs")
    assert bo.darkness(rrs, units="rrs").item() is False
    assert bo.darkness(rrs, units="reflectance").item() is True
    with pytest.raises(ValueError, match="units"):
        bo.darkness(rrs, units="dn")


# --------------------------------------------------------------------------- black_odorous_pixels
def test_pixels_lazy_off_water_false_time_dims_and_methods():
    spectra = [SPECTRA["black_odorous"], SPECTRA["turbid_red"], SPECTRA["black_odorous"]]
    ds = scene_of(spectra, units="reflectance")
    ds3 = xr.concat([ds, ds], dim="time").chunk({"time": 1, "x": 2})
    water = xr.DataArray([[True, True, False]], dims=("y", "x"), coords={"y": ds.y, "x": ds.x})
    with dask.config.set(scheduler=NoCompute()):
        f = bo.black_odorous_pixels(ds3, water)
    assert f["is_suspect"].chunks is not None and f["is_suspect"].dims == ("time", "y", "x")
    assert f["is_suspect"].values[:, 0].tolist() == [[True, False, False]] * 2  # third pixel off water
    assert f["votes"].values[0, 0].tolist() == [4, 1, 0]
    assert f.attrs["methods"] == "boi,ndbwi,cie,dark"
    with pytest.raises(ValueError, match="unknown"):
        bo.black_odorous_pixels(ds, water, methods=("boi", "hue"))
    with pytest.raises(ValueError, match="different grids"):
        bo.black_odorous_pixels(ds, water.assign_coords(x=water.x + 3.0))
    with pytest.raises(ValueError, match="x values"):
        bo.black_odorous_pixels(ds, water.isel(x=slice(0, 2)))


def test_real_turbid_coast_guard(tmp_path):
    """Real S2-like L2A over the turbid Wadden coast: red-dominant water that a one-sided BOI
    flags everywhere; the guarded rule flags none of it."""
    cog = REALDATA / "s2_like_wadden_coast" / "cog.tif"
    if not cog.exists():
        pytest.skip(f"real data missing: {cog}")
    arr = rioxarray.open_rasterio(cog, chunks={"x": 128, "y": 128}).astype("float32") / 10000.0
    ds = xr.Dataset({n: arr.sel(band=i + 1, drop=True) for i, n in enumerate(("blue", "green", "red", "nir"))},
                    attrs={"sensor": "sentinel-2-l2a"})  # S2-like: colour through Sentinel-2's transform
    water = (ds["green"] - ds["nir"]) / (ds["green"] + ds["nir"]) > 0  # NDWI > 0 (McFeeters 1996)
    f = bo.black_odorous_pixels(ds, water).compute()
    n_water = int(water.sum())
    assert n_water > 20000
    share = {k: float(f[k].sum()) / n_water for k in ("boi_flag", "ndbwi_flag", "cie_flag", "dark_flag", "too_bright",
                                                       "is_suspect_bright", "is_suspect")}
    assert share["boi_flag"] > 0.99  # the known false positive, on real data
    assert share["ndbwi_flag"] < 0.02  # two-sided: G/R ~ 0.87 is below 0.905
    assert share["cie_flag"] > 0.99  # real turbid water is greyish (purity ~0.1): colour alone does not exclude it
    assert share["dark_flag"] == 0.0
    assert float((f["votes"] >= 3).sum()) / n_water < 0.01  # BOI and CIE: 2 votes, short of 4; but the bright type's pair ...
    assert share["too_bright"] == 1.0  # ... max rho 0.11-0.12 >= 0.08: the bright guard ...
    assert share["is_suspect_bright"] == 0.0 and share["is_suspect"] == 0.0  # ... keeps it off the bright type
    bright = bo.brightness(ds).values[water.values]
    med = float(np.median(bright))
    assert 0.10 < med < 0.13  # bright: more than twice the 0.05 guard


# --------------------------------------------------------------------------- votes, guards, params
def test_min_votes_decides_two_of_three():
    """Dark grey-red water rho (0.010, 0.011, 0.013): BOI -0.059 < 0.065 and purity 0.057 < 0.20 flag
    it, NDBWI -0.083 < -0.05 does not: 2 of 3 methods agree, so min_votes=2 calls it a suspect
    and min_votes=3 does not (it is dark, so not of the bright type)."""
    ds = scene_of([(0.010, 0.011, 0.013)], units="rrs")  # stored as given: rho
    methods = ("boi", "ndbwi", "cie")
    two = bo.black_odorous_pixels(ds, everywhere(ds), methods=methods, min_votes=2)
    three = bo.black_odorous_pixels(ds, everywhere(ds), methods=methods, min_votes=3)
    assert bo.boi(ds).item() == pytest.approx(-0.002 / 0.034, abs=1e-5)
    assert bo.ndbwi(ds).item() == pytest.approx(-0.002 / 0.024, abs=1e-5)
    assert [bool(two[f"{m}_flag"].item()) for m in methods] == [True, False, True]
    assert two["votes"].item() == 2 and three["votes"].item() == 2
    assert two["is_suspect"].item() is True and three["is_suspect"].item() is False
    # the same through a params object, at the body level: purity 0.194 >= 0.19 takes the CIE
    # vote from the literature black-odorous pond, BOI and NDBWI remain
    ds2, water, bodies = _grid_scene()
    for k, want in ((2, "suspect_black_odorous"), (3, "ordinary")):
        p = bo.BlackOdorousParams(methods=methods, min_votes=k, max_purity=0.19)
        out = classify_water_bodies(bodies, bo.black_odorous_pixels(ds2, water, params=p), scene=ds2).set_index("wb_id")
        assert out.loc["wb-black", "status"] == want
        assert out.loc["wb-black", "methods_agreeing"] == "boi,ndbwi"


def test_params_are_validated_and_recorded():
    p = bo.BlackOdorousParams()
    d = p.as_dict()
    assert d["boi_threshold"] == 0.065 and d["ndbwi_low"] == -0.05 and d["ndbwi_high"] == 0.115  # published
    assert d["methods"] == ["boi", "ndbwi", "cie", "dark"] and d["min_votes"] == 4
    assert set(d) >= {"max_purity", "dark_threshold", "shadow_nir_share", "bright_max", "min_share", "min_pixels",
                      "reach_min_pixels", "national_min_area_m2"}
    with pytest.raises(ValueError, match="min_votes must be 1..4"):
        bo.BlackOdorousParams(min_votes=5)
    with pytest.raises(TypeError, match="unknown black-odorous parameter"):
        p.replace(boi=0.1)
    with pytest.raises(dataclasses_frozen_error()):
        p.min_votes = 1
    ds, water, bodies = _grid_scene()
    q = p.replace(boi_threshold=0.05, min_share=0.6)
    flags = bo.black_odorous_pixels(ds, water, params=q)
    assert flags.attrs["boi_threshold"] == 0.05 and flags["boi_flag"].attrs["threshold"] == 0.05
    out = classify_water_bodies(bodies, flags, scene=ds)
    import json

    recorded = json.loads(out["bo_params"].iloc[0])
    assert recorded == q.as_dict()  # every body carries the thresholds it was judged with
    assert bo.params_of(flags) == q


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_pixels_in_memory_same_flags_coordinates_and_attrs_as_lazy():
    """The in-memory route (the bands without their coordinates, put back once) gives what the
    lazy route gives: every flag, its dims and attrs, the scene's coordinates."""
    spectra = [SPECTRA[k] for k in ("black_odorous", "turbid_red", "ordinary", "clear_blue", "black_odorous")]
    ds = _with_nir(spectra, [0.004, 0.01, 0.002, 0.0005, 0.006]).expand_dims(time=[np.datetime64("2025-11-02")])
    ds = ds.assign_coords(spatial_ref=0)
    water = xr.DataArray([[True, True, True, True, False]], dims=("y", "x"), coords={"y": ds.y, "x": ds.x})
    eager = bo.black_odorous_pixels(ds, water)
    lazy = bo.black_odorous_pixels(ds.chunk({"x": 2}), water).compute()
    assert eager["is_suspect"].chunks is None
    xr.testing.assert_identical(eager.drop_attrs(deep=False), lazy.drop_attrs(deep=False))
    assert eager["is_suspect"].values[0, 0].tolist() == [True, False, False, False, False]  # fifth pixel off water
    assert {k: v for k, v in eager.attrs.items() if k != "params"} == {k: v for k, v in lazy.attrs.items() if k != "params"}


def _with_nir(spectra, nir, *, chunks=None):
    """A scene of reflectance spectra (stored as given) with a NIR band."""
    ds = scene_of(spectra, units="rrs")
    ds["nir"] = (("y", "x"), np.asarray(nir, dtype="float32")[None, :])
    return ds.chunk(chunks) if chunks else ds


def test_shadow_guard_on_the_nir_share_numpy_and_dask():
    """The same dark grey visible spectrum, once with the NIR of black-odorous water (NIR /
    (B+G+R) = 0.25) and once as a shadow (NIR share 0.05 < 0.08): only the first is a suspect."""
    rho = [tuple(v * math.pi for v in SPECTRA["black_odorous"])] * 2
    total = sum(rho[0])
    for chunks in (None, {"x": 1}):
        ds = _with_nir(rho, [0.25 * total, 0.05 * total], chunks=chunks)
        with dask.config.set(scheduler=NoCompute()):
            f = bo.black_odorous_pixels(ds, everywhere(ds))
        np.testing.assert_allclose(bo.nir_share(ds).values[0], [0.25, 0.05], rtol=1e-5)
        assert f["votes"].values[0].tolist() == [4, 4]
        assert f["shadow"].values[0].tolist() == [False, True]
        assert f["is_suspect"].values[0].tolist() == [True, False]
        assert f.attrs["shadow_guard_applied"] == 1
    off = bo.black_odorous_pixels(ds, everywhere(ds), shadow_guard=False)
    assert off["is_suspect"].values[0].tolist() == [True, True]
    no_nir = bo.black_odorous_pixels(ds.drop_vars("nir"), everywhere(ds))  # cannot apply: recorded
    assert no_nir.attrs["shadow_guard_applied"] == 0 and no_nir["is_suspect"].values[0].tolist() == [True, True]


def test_blue_guard_clear_water():
    ds = scene_of([SPECTRA["clear_blue"]], units="reflectance")
    f = bo.black_odorous_pixels(ds, everywhere(ds))
    assert f["votes"].item() == 3 and f["blue_dominant"].item() is True
    assert bo.black_odorous_pixels(ds, everywhere(ds), min_votes=3)["is_suspect"].item() is False
    assert bo.black_odorous_pixels(ds, everywhere(ds), min_votes=3, blue_guard=False)["is_suspect"].item() is True


def test_bright_type_and_its_limit():
    """A grey, BOI-negative water of max rho 0.060 (the bright high-SPM type's range in the test
    bed) with NIR / R 0.6 is a bright-type suspect when the bright type is screened for; the same
    colour 2x brighter (max rho 0.120, like the real turbid coast) is guarded as too bright, and
    the same colour with NIR / R 0.25 (sediment: red far above NIR, test bed turbid 0.11-0.55) is
    not of the bright type. With 3 votes required only the bright-type rule (BOI and CIE, not
    dark, NIR / R >= 0.4) keeps it. Off by default (the blind spot of docs/blackodorous.md), and
    without a NIR band it cannot apply."""
    grey = (0.047, 0.052, 0.060)  # NDBWI -0.071: below -0.05; purity 0.058; not dark (>= 0.032)
    ds = scene_of([grey, tuple(2 * v for v in grey), grey], units="rrs")  # stored as given: rho
    ds = ds.assign(nir=ds["red"] * xr.DataArray([0.6, 0.6, 0.25], dims="x", coords={"x": ds.x}))
    f = bo.black_odorous_pixels(ds, everywhere(ds), min_votes=3, bright_type=True)
    assert bo.boi(ds).values[0, 0] < 0 and bo.cie_purity(ds).values[0, 0] < 0.20
    assert f["dark_flag"].values[0].tolist() == [False, False, False]
    assert f["votes"].values[0].tolist() == [2, 2, 2]  # BOI, CIE: short of 3
    assert f["is_suspect_bright"].values[0].tolist() == [True, False, False]
    assert f["too_bright"].values[0].tolist() == [False, True, False]
    assert f["is_suspect"].values[0].tolist() == [True, False, False]
    assert f.attrs["bright_type_applied"] == 1
    for off in (bo.black_odorous_pixels(ds, everywhere(ds), min_votes=3),  # the default: off
                bo.black_odorous_pixels(ds.drop_vars("nir"), everywhere(ds), min_votes=3, bright_type=True)):
        assert off["is_suspect"].values[0].tolist() == [False, False, False]
        assert off.attrs["bright_type_applied"] == 0


def test_sensor_transform_chooses_the_colour():
    """The scene's sensor picks its RGB -> XYZ: the literature black-odorous spectrum has purity
    0.221 through the CIE RGB primaries and below 0.20 through Sentinel-2's transform, so with
    ``max_purity=0.20`` only the Sentinel-2 scene gets the CIE vote."""
    from indices.colour import SENSOR_RGB_TO_XYZ

    ds = scene_of([SPECTRA["black_odorous"]], units="reflectance", sensor=None)
    s2 = ds.assign_attrs(sensor="sentinel-2-l2a")
    m = SENSOR_RGB_TO_XYZ["sentinel-2a-msi"]
    b, g, r = SPECTRA["black_odorous"]
    X, Y, Z = m @ np.array([r, g, b])
    assert bo.cie_purity(s2).item() == pytest.approx(colour_purity(X / (X + Y + Z), Y / (X + Y + Z)), abs=1e-5)
    assert bo.cie_purity(ds).item() == pytest.approx(0.221, abs=0.002)
    assert bo.cie_purity(s2).item() < 0.20
    f = bo.black_odorous_pixels(s2, everywhere(s2), max_purity=0.20)
    assert f.attrs["colour_sensor"] == "sentinel-2-l2a" and f["cie_flag"].item() is True
    assert bo.black_odorous_pixels(ds, everywhere(ds), max_purity=0.20)["cie_flag"].item() is False
    forced = bo.black_odorous_pixels(ds, everywhere(ds), sensor="sentinel-2-l2a", max_purity=0.20)
    assert forced["cie_flag"].item() is True


# --------------------------------------------------------------------------- per water body
RES, X0, Y0 = 10.0, 500000.0, 2500200.0


def _grid_scene(n=20):
    land = (0.05, 0.08, 0.10)
    bands = {k: np.full((n, n), v, "float32") for k, v in zip(("blue", "green", "red"), land)}
    ponds = {
        "wb-black": ((2, 7), (2, 7), SPECTRA["black_odorous"]),  # 25 px, 2500 m2
        "wb-ordinary": ((2, 6), (10, 14), SPECTRA["ordinary"]),  # 16 px, 1600 m2
        "wb-tiny": ((12, 13), (2, 4), SPECTRA["black_odorous"]),  # 2 px
        "wb-cloud": ((12, 15), (10, 13), None),  # 9 px, all NaN
        "wb-turbid": ((15, 19), (2, 8), SPECTRA["turbid_red"]),  # 24 px
    }
    water = np.zeros((n, n), bool)
    rows = []
    for wb_id, ((r0, r1), (c0, c1), spec) in ponds.items():
        water[r0:r1, c0:c1] = True
        for i, k in enumerate(("blue", "green", "red")):
            bands[k][r0:r1, c0:c1] = np.nan if spec is None else spec[i] * math.pi
        npx = (r1 - r0) * (c1 - c0)
        rows.append(dict(wb_id=wb_id, area_m2=npx * RES * RES, n_pixels=npx, resolvable=npx >= 4,
                         size_class="small", valid_obs=1,
                         geometry=box(X0 + c0 * RES, Y0 - r1 * RES, X0 + c1 * RES, Y0 - r0 * RES)))
    x = X0 + (np.arange(n) + 0.5) * RES
    y = Y0 - (np.arange(n) + 0.5) * RES
    ds = xr.Dataset({k: (("y", "x"), v) for k, v in bands.items()}, coords={"y": y, "x": x})
    ds = ds.rio.write_crs("EPSG:32650").assign_attrs(sensor="sentinel-2-l2a").chunk({"y": 8, "x": 8})
    bodies = gpd.GeoDataFrame(rows, crs="EPSG:32650")
    return ds, xr.DataArray(water, dims=("y", "x"), coords={"y": y, "x": x}), bodies


def test_classify_water_bodies_statuses_lists_and_agreement():
    ds, water, bodies = _grid_scene()
    flags = bo.black_odorous_pixels(ds, water)
    out = classify_water_bodies(bodies, flags, scene=ds).set_index("wb_id")
    assert out["status"].to_dict() == {
        "wb-black": "suspect_black_odorous", "wb-ordinary": "ordinary", "wb-tiny": "too_small",
        "wb-cloud": "no_valid_observation", "wb-turbid": "ordinary"}
    assert out["list"].to_dict() == {"wb-black": "national", "wb-ordinary": "provincial", "wb-tiny": "provincial",
                                     "wb-cloud": "provincial", "wb-turbid": "national"}
    assert set(out["verification"]) == {"unverified"}
    assert out["methods_agreeing"].to_dict() == {"wb-black": "boi,ndbwi,cie,dark", "wb-ordinary": "",
                                                 "wb-tiny": "boi,ndbwi,cie,dark", "wb-cloud": "", "wb-turbid": "boi"}
    assert out["votes"].to_dict() == {"wb-black": 4, "wb-ordinary": 0, "wb-tiny": 4, "wb-cloud": 0, "wb-turbid": 1}
    assert out["black_odorous_type"].to_dict() == {"wb-black": "dark", "wb-ordinary": "", "wb-tiny": "",
                                                   "wb-cloud": "", "wb-turbid": ""}
    # (4 of 4 methods) x share suspect, x 0.5 when not resolvable
    assert out["confidence"].to_dict() == {"wb-black": 1.0, "wb-ordinary": 0.0, "wb-tiny": 0.5,
                                           "wb-cloud": 0.0, "wb-turbid": 0.0}
    black = out.loc["wb-black"]
    assert black["n_valid"] == 25 and out.loc["wb-cloud", "n_valid"] == 0
    b, g, r = SPECTRA["black_odorous"]
    assert black["boi_mean"] == pytest.approx((g - r) / (b + g + r), abs=1e-5)
    assert black["ndbwi_mean"] == pytest.approx((g - r) / (g + r), abs=1e-5)
    # through Sentinel-2's transform (CIE RGB primaries: 0.221, 568.7 nm; docs/blackodorous.md)
    assert black["purity_mean"] == pytest.approx(0.194, abs=0.003)
    assert black["dominant_wavelength_mean"] == pytest.approx(587.2, abs=1.0)
    assert black["brightness_mean"] == pytest.approx(g * math.pi, rel=1e-5)
    assert black["green_mean"] == pytest.approx(g * math.pi, rel=1e-5)
    assert out.loc["wb-turbid", "share_boi"] == 1.0 and out.loc["wb-turbid", "share_suspect"] == 0.0
    assert np.isnan(out.loc["wb-cloud", "boi_mean"])
    assert out.crs == bodies.crs and list(out.geometry) == list(bodies.geometry)


def test_classify_with_label_raster_rrs_units_and_fallbacks():
    ds, water, bodies = _grid_scene()
    flags = bo.black_odorous_pixels(ds, water)
    from rasterio.features import rasterize

    lab = rasterize([(g, i + 1) for i, g in enumerate(bodies.geometry)], out_shape=(20, 20),
                    transform=ds.rio.transform(recalc=True))
    a = classify_water_bodies(bodies, flags, scene=ds)
    b = classify_water_bodies(bodies, flags, scene=ds,
                                 label_raster=xr.DataArray(lab, dims=("y", "x")))
    assert a["status"].tolist() == b["status"].tolist() and a["n_valid"].tolist() == b["n_valid"].tolist()
    # the same water as Rrs, declared so: same verdicts, brightness still reported as rho
    rrs = bo.to_rrs(ds)
    c = classify_water_bodies(bodies, bo.black_odorous_pixels(rrs, water, units="rrs"), scene=rrs, units="rrs")
    assert c["status"].tolist() == a["status"].tolist()
    np.testing.assert_allclose(c["brightness_mean"], a["brightness_mean"], rtol=1e-5)
    # without a 'resolvable' column: fewer than min_pixels pixels is too small
    d = classify_water_bodies(bodies.drop(columns="resolvable"), flags, scene=ds, min_pixels=10)
    assert d.set_index("wb_id")["status"]["wb-cloud"] == "too_small"
    # one date only; a (1, y, x) scene is fine
    two = xr.concat([ds, ds], dim="time")
    with pytest.raises(ValueError, match="one date"):
        classify_water_bodies(bodies, flags, scene=two)
    one = classify_water_bodies(bodies, flags.expand_dims(time=1), scene=ds.expand_dims(time=1))
    assert one["status"].tolist() == a["status"].tolist()
    assert len(classify_water_bodies(bodies.iloc[:0], flags, scene=ds)) == 0


def test_majority_rule_a_half_black_pond():
    ds, water, bodies = _grid_scene()
    # turn 12 of the 25 black pixels turbid: 13/25 suspect -> still suspect; 13 turbid -> ordinary
    for n_turbid, expected in ((12, "suspect_black_odorous"), (13, "ordinary")):
        d = ds.copy(deep=True).load()
        idx = [(r, c) for r in range(2, 7) for c in range(2, 7)][:n_turbid]
        for r, c in idx:
            for i, k in enumerate(("blue", "green", "red")):
                d[k].values[r, c] = SPECTRA["turbid_red"][i] * math.pi
        out = classify_water_bodies(bodies, bo.black_odorous_pixels(d, water), scene=d).set_index("wb_id")
        assert out.loc["wb-black", "status"] == expected
        assert out.loc["wb-black", "share_suspect"] == pytest.approx((25 - n_turbid) / 25)


def test_classify_the_bodies_indices_waterbodies_finds():
    """Round trip with the water-body vectoriser: its polygons rasterise back onto exactly
    their pixels, and its ``resolvable`` (>= 9 pixels) drives ``too_small``."""
    from indices.waterbodies import water_bodies

    ds, water, _ = _grid_scene()
    wb = water_bodies(water.rio.write_crs("EPSG:32650"))
    out = classify_water_bodies(wb, bo.black_odorous_pixels(ds, water), scene=ds)
    by_size = {int(n): (st, int(v), agree) for n, st, v, agree in
               zip(out["n_pixels"], out["status"], out["n_valid"], out["methods_agreeing"])}
    assert by_size == {
        25: ("suspect_black_odorous", 25, "boi,ndbwi,cie,dark"),
        16: ("ordinary", 16, ""),
        2: ("too_small", 2, "boi,ndbwi,cie,dark"),
        9: ("no_valid_observation", 0, ""),
        24: ("ordinary", 24, "boi"),
    }
    assert (out["list"] == out["size_class"]).all()
