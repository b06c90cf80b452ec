"""indices.spectral's slab evaluation: NumPy-backed and Dask-backed Scenes give, bit for bit,
what each paper's formula gives on whole float64 arrays rounded once to float32 (NaN where
the denominator is zero, the input is NaN or the result is beyond float32), whatever the
slab size, chunking or memory layout."""
from __future__ import annotations

import dask
import numpy as np
import pytest

import indices
from indices import spectral

from support.indices_data import scene

F32_MAX = float(np.finfo(np.float32).max)
BANDS = ("blue", "green", "red", "rededge1", "nir", "swir16", "swir22")


def _formula(name: str, b: dict[str, np.ndarray]) -> np.ndarray:
    """The published formulas, written out independently on whole float64 arrays."""
    B, G, R, RE, N, S1, S2 = (b[k].astype(np.float64) for k in BANDS)
    with np.errstate(all="ignore"):
        def div(num, den):
            return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)

        out = {
            "ndvi": lambda: div(N - R, N + R),  # Rouse et al. 1974
            "evi": lambda: 2.5 * div(N - R, N + 6.0 * R - 7.5 * B + 1.0),  # Huete et al. 2002
            "savi": lambda: 1.5 * div(N - R, N + R + 0.5),  # Huete 1988
            "ndre": lambda: div(N - RE, N + RE),
            "ndwi": lambda: div(G - N, G + N),  # McFeeters 1996
            "mndwi": lambda: div(G - S1, G + S1),  # Xu 2006
            "awei_nsh": lambda: 4.0 * (G - S1) - (0.25 * N + 2.75 * S2),  # Feyisa et al. 2014, Eq. 1
            "awei_sh": lambda: B + 2.5 * G - 1.5 * (N + S1) - 0.25 * S2,  # Eq. 2
            "exg": lambda: div(2.0 * G - R - B, R + G + B),  # Woebbecke et al. 1995
            "vari": lambda: div(G - R, G + R - B),  # Gitelson et al. 2002
            "ndbi": lambda: div(S1 - N, S1 + N),  # Zha et al. 2003
            "bsi": lambda: div((S1 + R) - (N + B), (S1 + R) + (N + B)),  # Rikimaru et al. 2002
        }[name]()
        out = np.where(np.abs(out) <= F32_MAX, out, np.nan)
    return out.astype(np.float32)


def _bands(shape=(3, 37, 29), seed=5) -> dict[str, np.ndarray]:
    """Reflectance with the awkward values mixed in: zeros (zero denominators), NaN, negative
    values, tiny and huge magnitudes (results beyond float32)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    special = np.array([0.0, -0.0, np.nan, 1e-30, -1e-30, 1e-45, 3e38, -3e38, 65504.0, -0.2], dtype=np.float32)
    out = {}
    for k in BANDS:
        v = rng.uniform(-0.05, 0.8, n).astype(np.float32)
        pick = rng.random(n) < 0.08
        v[pick] = rng.choice(special, pick.sum())
        out[k] = v.reshape(shape)
    # equal and opposite pairs make denominators exactly zero
    out["red"].flat[::11] = -out["nir"].flat[::11]
    out["swir16"].flat[::13] = -out["green"].flat[::13]
    return out


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


@pytest.mark.parametrize("slab", [1, 12, 64, spectral.SLAB_PIXELS])  # 1 row, 2 rows, ragged, default
def test_numpy_and_dask_backed_equal_the_formula_bit_for_bit(monkeypatch, slab):
    monkeypatch.setattr(spectral, "SLAB_PIXELS", slab)
    bands = _bands()
    times = ["2024-01-01", "2024-02-01", "2024-03-01"]
    in_memory = scene(bands, times=times)
    lazy = scene(bands, times=times).chunk({"time": 1, "y": 16, "x": 10})
    for name, spec in spectral.INDICES.items():
        want = _formula(name, bands)
        got_np = spec.func(in_memory)
        got_dask = spec.func(lazy)
        assert not dask.is_dask_collection(got_np) and dask.is_dask_collection(got_dask), name
        _same_bits(np.asarray(got_np.values), want)
        with dask.config.set(scheduler="threads"):
            _same_bits(np.asarray(got_dask.values), want)


def test_transposed_and_sliced_inputs_give_the_same_bits():
    """Non-contiguous bands (a view of every other row, (x, y) order) are read correctly."""
    bands = _bands(shape=(2, 40, 30), seed=9)
    ds = scene(bands, times=["2024-01-01", "2024-02-01"])
    want = _formula("ndvi", bands)
    _same_bits(indices.ndvi(ds.isel(y=slice(None, None, 2))).values, want[:, ::2])
    got = indices.ndvi(ds.transpose("time", "x", "y"))
    assert got.dims == ("time", "x", "y")
    _same_bits(got.values, want.transpose(0, 2, 1))


def test_one_task_per_chunk_and_coordinates_kept():
    bands = _bands(shape=(2, 20, 20), seed=3)
    lazy = scene(bands, times=["2024-01-01", "2024-02-01"]).chunk({"time": 1, "y": 10, "x": 10})
    out = indices.ndvi(lazy)
    graph = out.data.__dask_graph__()
    assert len(graph.layers[out.data.name]) == 8  # one task per chunk, not one per operation
    assert set(out.coords) == set(lazy["red"].coords) and out.rio.crs == lazy.rio.crs
    assert out.attrs["formula"] == "(nir - red) / (nir + red)" and out.name == "ndvi"
