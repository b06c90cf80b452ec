"""The spectral test bed: the bio-optical model against published values and an independent
inversion, the stored spectral responses against the agencies' band centres, the sensors'
RGB -> XYZ transforms re-derived and checked against full-spectrum colorimetry, and each
method's separability per sensor against stated targets (held-out draw)."""
from __future__ import annotations

import numpy as np
import pytest

from flows.evaluation import biooptical as bio
from flows.evaluation import srf, testbed as tb
from indices import blackodorous as bo
from indices.colour import SENSOR_RGB_TO_XYZ, colour_purity

WL = bio.WAVELENGTHS


# --------------------------------------------------------------------------- the bio-optical model
def test_pure_water_absorption_published_values():
    # Pope & Fry 1997 at 440 and 680 nm, as other ocean-optics code quotes them (0.00635, 0.465
    # m^-1); Palmer & Williams 1974 near 800 nm (about 2 m^-1), the NIR water absorption band
    aw = bio.pure_water_absorption(np.array([440.0, 680.0, 806.0]))
    np.testing.assert_allclose(aw[:2], [0.00635, 0.465], rtol=0.01)
    assert 1.5 < aw[2] < 2.5
    # Morel 1974 fresh water: b_w(500) = 0.00222 m^-1, half of it backward
    assert bio.pure_water_backscattering(np.array([500.0]))[0] == pytest.approx(0.00111, rel=1e-6)


def test_pure_water_rrs_shape():
    """Pure water is blue: its Rrs peaks near the absorption minimum of water (about 418 nm,
    Pope & Fry 1997), falls monotonically after it, is ~0.01-0.03 sr^-1 in the blue and
    vanishes in the red and NIR."""
    rrs = bio.rrs_from_iops(bio.pure_water_absorption()[None, :], bio.pure_water_backscattering()[None, :])[0]
    peak = int(np.argmax(rrs))
    assert 410 <= WL[peak] <= 425
    assert np.all(np.diff(rrs[peak:][WL[peak:] <= 700]) < 0)
    assert 0.010 < rrs[WL == 440.0][0] < 0.030
    assert rrs[WL == 700.0][0] < 1e-4
    assert rrs[WL == 410.0][0] / rrs[WL == 555.0][0] > 10


def test_gordon_rrs_recovered_by_lee_2002_inversion():
    """The forward model (Gordon et al. 1988 coefficients) against the QAA inversion of Lee et
    al. 2002 with its own coefficients (g0 = 0.089, g1 = 0.125): the recovered u = bb/(a+bb)
    agrees within 10 % over u 0.01-0.3."""
    u = np.linspace(0.01, 0.3, 30)
    rrs_above = bio.rrs_from_iops(1 - u, u)  # a + bb = 1
    rrs_below = rrs_above / (0.52 + 1.7 * rrs_above)  # Lee et al. 2002 eq. (4)
    g0, g1 = 0.089, 0.125
    u_lee = (-g0 + np.sqrt(g0 ** 2 + 4 * g1 * rrs_below)) / (2 * g1)
    np.testing.assert_allclose(u_lee, u, rtol=0.10)


def test_class_spectra_have_the_published_shapes():
    rng = np.random.default_rng(7)
    med = {n: np.median(bio.sample_class(c, 400, rng)[1], axis=0) for n, c in bio.WATER_CLASSES.items()}
    vis = (WL >= 400) & (WL <= 700)
    # black-odorous: low, flat visible Rrs, below ~0.01 sr^-1 (Wen et al. 2018; Yao et al. 2019)
    assert med["black_odorous"][vis].max() < 0.01
    # ordinary water: a green peak (540-590 nm)
    assert 540 <= WL[vis][np.argmax(med["ordinary"][vis])] <= 590
    # turbid river: bright, Rrs >= 0.02 sr^-1 in the green and red
    assert med["turbid_river"][(WL >= 550) & (WL <= 680)].min() >= 0.02
    # eutrophic: the chlorophyll trough at ~675 nm and the 700 nm peak (Gitelson 1992)
    assert med["eutrophic"][WL == 700.0][0] > med["eutrophic"][WL == 675.0][0]
    # the bright black-odorous type is brighter than the dark one, darker than turbid rivers
    assert med["black_odorous"].max() < med["black_odorous_bright"].max() < med["turbid_river"].max()


def test_rayleigh_optical_depth_and_skylight_share():
    # tau_R(550 nm) at sea level = 0.097 (Hansen & Travis 1974; Bodhaine et al. 1999: 0.0973)
    assert bio.rayleigh_optical_depth(np.array([550.0]))[0] == pytest.approx(0.097, abs=0.002)
    f = bio.diffuse_fraction(np.array([0.2]), np.array([40.0]))[0]
    assert np.all(np.diff(f) < 0)  # skylight is bluer than sunlight
    assert 0.2 < f[WL == 450.0][0] < 0.5 and f[WL == 850.0][0] < 0.2


# --------------------------------------------------------------------------- spectral responses
@pytest.mark.parametrize("sensor, centres", [
    # ESA S2A MSI central wavelengths B2, B3, B4, B8 (nm)
    ("sentinel-2a-msi", (492.4, 559.8, 664.6, 832.8)),
    # USGS Landsat 8 OLI centre wavelengths B2, B3, B4, B5 (nm)
    ("landsat-8-oli", (482.0, 561.4, 654.6, 864.7)),
])
def test_srf_tables_match_published_band_centres(sensor, centres):
    np.testing.assert_allclose(tb._band_centres(sensor), centres, atol=3.0)


def test_band_values_of_a_flat_spectrum_are_the_spectrum():
    for sensor in srf.SENSORS:
        np.testing.assert_allclose(srf.band_values(np.full((1, WL.size), 0.03), WL, sensor), 0.03, rtol=1e-9)


@pytest.mark.parametrize("sensor", srf.SENSORS)
def test_stored_rgb_to_xyz_matrices_rederive_from_the_srf_tables(sensor):
    np.testing.assert_allclose(srf.rgb_to_xyz_matrix(sensor), SENSOR_RGB_TO_XYZ[sensor], atol=1e-6)
    m = SENSOR_RGB_TO_XYZ[sensor]
    xyz = m @ np.ones(3)
    np.testing.assert_allclose(xyz / xyz.sum(), 1 / 3, atol=1e-9)  # flat -> white E


@pytest.mark.parametrize("sensor", srf.SENSORS)
def test_sensor_transform_tracks_full_spectrum_colorimetry(sensor):
    """For the test bed's water spectra, (x, y) from the three bands through the sensor's
    matrix against (x, y) integrated from the whole spectrum with the CIE 1931 CMFs (an
    independent computation): purity correlates at r > 0.95, better than through the CIE RGB
    primaries, and the 95th-percentile chromaticity error is smaller. Three broad bands
    desaturate: the band purity is lower than the true one (by ~0.06-0.18), so purity
    thresholds are sensor-specific."""
    from indices.colour import CIE_RGB_TO_XYZ

    rng = np.random.default_rng(3)
    cwl, cmf = srf.load_cmf()
    spectra = np.vstack([bio.sample_class(c, 50, rng)[1] for c in bio.WATER_CLASSES.values()])
    vis = (cwl >= WL[0]) & (cwl <= 700)
    full = np.stack([np.interp(cwl[vis], WL, s) for s in spectra]) @ cmf[vis]
    true_xy = full[:, :2] / full.sum(axis=1, keepdims=True)
    p_true = colour_purity(true_xy[:, 0], true_xy[:, 1])
    bands = srf.band_values(spectra, WL, sensor)[:, :3]
    res = {}
    for name, m in (("sensor", SENSOR_RGB_TO_XYZ[sensor]), ("cie", CIE_RGB_TO_XYZ)):
        xyz = bands[:, ::-1] @ m.T  # columns R, G, B
        est = xyz[:, :2] / xyz.sum(axis=1, keepdims=True)
        res[name] = (np.percentile(np.abs(est - true_xy).max(axis=1), 95),
                     np.corrcoef(p_true, colour_purity(est[:, 0], est[:, 1]))[0, 1])
    assert res["sensor"][1] > 0.95 and res["sensor"][1] > res["cie"][1]
    assert res["sensor"][0] < res["cie"][0]


# --------------------------------------------------------------------------- separability (held-out draw)
@pytest.fixture(scope="module")
def rows():
    return tb.testbed_rows(n_per_class=600)


def _get(rows, sensor, method, negative, positive="black_odorous (both)"):
    (r,) = [r for r in rows if (r.sensor, r.method, r.negative, r.positive) == (sensor, method, negative, positive)]
    return r


@pytest.mark.parametrize("sensor", srf.SENSORS)
def test_auc_targets_per_method_and_sensor(rows, sensor):
    g = lambda m, n: _get(rows, sensor, m, n).auc  # noqa: E731
    # BOI separates black-odorous from ordinary water (>= 0.95) and from algal water (>= 0.8),
    # but not from turbid water (<= 0.4: turbid water is red-dominant, BOI < 0: the known
    # false positive), where darkness does (>= 0.95)
    assert g("boi", "ordinary") >= 0.95 and g("boi", "eutrophic") >= 0.8
    assert g("boi", "turbid_river") <= 0.4 and g("darkness", "turbid_river") >= 0.95
    # the one-sided green/red ratio ranks like one-sided BOI against ordinary water: the ratio
    # carries the NDBWI's information
    assert abs(g("green_red_ratio", "ordinary") - g("boi", "ordinary")) < 0.03
    # CIE purity through the sensor's transform separates black-odorous from turbid water
    # (>= 0.85) but hardly from ordinary, eutrophic or shadowed water (<= 0.7)
    assert g("cie_purity", "turbid_river") >= 0.85
    assert max(g("cie_purity", n) for n in ("ordinary", "eutrophic", "shadowed")) <= 0.7
    # the classifier as a whole against all other water
    assert g("classifier", "all") >= 0.7


@pytest.mark.parametrize("sensor", srf.SENSORS)
def test_default_rule_false_alarms_and_recall_on_heldout(sensor):
    """The selection rule held on the development draw (<= 10 % false alarms per class, the
    bright type off as by default); on the held-out draw: <= 12 % false alarms per class and the
    dark type found in >= 20 % of its samples (tolerance for a new draw) by the defaults; with
    the bright type screened on top of them (not the default) <= 13 % (GF-2's eutrophic water:
    0.122 on 600 samples) and >= 25 % of the bright type found."""
    held = tb.draw(tb.HELDOUT_SEED, (sensor,), n_per_class=600)[sensor]
    for p, most in ((bo.BlackOdorousParams(), 0.12), (bo.BlackOdorousParams(bright_type=True), 0.13)):
        rates = tb.class_rates(held, p)
        for c in ("ordinary", "turbid_river", "eutrophic", "shadowed"):
            assert rates[c] <= most, (c, rates[c])
        assert rates["black_odorous"] >= 0.20, rates
    assert rates["black_odorous_bright"] >= 0.25, rates


@pytest.mark.parametrize("sensor", srf.SENSORS)
def test_test_bed_backs_the_bright_types_nir_red_test(sensor):
    """``bright_min_nir_red`` (0.4, set on the tuning demo against dim turbid river water) is
    backed by the test bed: on the held-out draw it keeps >= 85 % of the bright type the rule
    finds without it (>= 90 % with the thresholds of versions 4-8; Landsat 8 0.89 with darkness
    0.04 and purity 0.25), and raises no class's false alarms (it lowers shadowed and eutrophic
    ones)."""
    held = tb.draw(tb.HELDOUT_SEED, (sensor,), n_per_class=600)[sensor]
    with_ = tb.class_rates(held, bo.BlackOdorousParams(bright_type=True))
    without = tb.class_rates(held, bo.BlackOdorousParams(bright_type=True, bright_min_nir_red=0.0))
    assert with_["black_odorous_bright"] >= 0.85 * without["black_odorous_bright"] > 0.2, (with_, without)
    for c in ("ordinary", "turbid_river", "eutrophic", "shadowed"):
        assert with_[c] <= without[c], (c, with_, without)


def test_defaults_are_the_development_choice():
    """``tune`` on the development draw, over each tuned default and its grid neighbours,
    returns the defaults (darkness 0.04, purity 0.25, 4 votes, shadow share 0.08) with the bright
    type off, as it is by default: they were set there, not on the held-out draw. With the bright
    type screened, as when the rule first ran, the same rule picks darkness 0.032 and purity 0.20
    (the defaults of algorithm versions 4-8)."""
    d = bo.BlackOdorousParams()
    assert (d.dark_threshold, d.max_purity, d.min_votes, d.shadow_nir_share) == (0.04, 0.25, 4, 0.08)
    grid = {k: tuple(v[max(0, v.index(getattr(d, k)) - 1): v.index(getattr(d, k)) + 2])
            for k, v in tb.TUNING_GRID.items()}
    best = tb.tune(grid=grid, n_per_class=600)[0][2]
    assert best == {k: getattr(d, k) for k in tb.TUNING_GRID}
    then = {"dark_threshold": (0.032, 0.035), "max_purity": (0.15, 0.20, 0.25), "min_votes": (3, 4),
            "shadow_nir_share": (0.0, 0.08, 0.10)}
    best = tb.tune(grid=then, n_per_class=600, base=bo.BlackOdorousParams(bright_type=True))[0][2]
    assert (best["dark_threshold"], best["max_purity"]) == (0.032, 0.20)


def test_markdown_table_is_the_rows(rows):
    md = tb.markdown_table(rows, value="auc", positive="black_odorous (both)")
    lines = md.splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == ["sensor", "method", "ordinary", "turbid_river", "eutrophic", "shadowed", "all"]
    cells = {tuple(c.strip() for c in ln.strip("|").split("|"))[:2]: [c.strip() for c in ln.strip("|").split("|")][2:]
             for ln in lines[2:]}
    r = _get(rows, "landsat-8-oli", "boi", "eutrophic")
    assert float(cells[("landsat-8-oli", "boi")][head.index("eutrophic") - 2]) == pytest.approx(r.auc, abs=5e-4)
    assert len(lines) == 2 + len(srf.SENSORS) * len(tb.METHODS)
