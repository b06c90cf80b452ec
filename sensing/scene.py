"""The Scene contract (DESIGN.md): what every source hands to ``indices``.

An ``xarray.Dataset``, Dask-backed, dims ``(time, y, x)``, one float32 variable per band
named by STAC ``eo:common_name``, scale/offset applied, masked pixels NaN (in every band the
mask covers: a band's own nodata blanks that band only), CRS via rioxarray, and:

- ``attrs["sensor"]``: a name from ``sensing.sensors.SENSORS``, or ``"unknown"`` when neither
  the file nor the user names one (never guessed).
- ``attrs["reflectance_units"]`` (required): ``"reflectance"`` (calibrated, 0..1) or
  ``"relative"`` (uncalibrated digital numbers, scaled only for display, e.g. 8-bit DN / 255:
  ratio indices are meaningful, absolute thresholds are not). ``attrs["reflectance_level"]``:
  ``"surface"``, ``"toa"``, ``"unknown"`` (reflectance of unstated level) or ``"none"``
  (relative values).
- ``attrs["radiometry"]``: how DNs became these values (files: per file the scale, offset,
  nodata and mask and where each came from; STAC: the rules applied).
- per time step, coordinates on ``time`` (in memory, NumPy: only the bands are Dask-backed,
  :func:`chunk_bands`): ``item_id`` (also listed in ``attrs["item_ids"]``);
  ``valid_fraction``, the share of the village's pixels (the AOI polygon for the files and STAC
  sources, the whole grid for ``make_scene``) valid in **every** band, the bands it was
  computed over being listed in ``scene["valid_fraction"].attrs["bands"]`` (and
  ``attrs["valid_fraction_bands"]``); and one ``valid_fraction_<band>`` per band, the share
  valid in that band alone (a product is valid where its own bands are:
  ``indices.valid_for``). Sources that know validity from a quality band (SCL, QA_PIXEL, the
  demo's clouds) give the quality-band share for every band (``attrs["from"]`` says so).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from affine import Affine

from .errors import SceneContractError

COMMON_NAMES: tuple[str, ...] = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
    "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "pan",
)
DIMS = ("time", "y", "x")
REFLECTANCE_UNITS: tuple[str, ...] = ("reflectance", "relative")
REFLECTANCE_LEVELS: tuple[str, ...] = ("surface", "toa", "unknown", "none")
DEFAULT_CHUNKS = {"time": 1, "y": 1024, "x": 1024}


def make_scene(
    bands: Mapping[str, Any],
    *,
    times: Sequence[Any],
    y: np.ndarray,
    x: np.ndarray,
    crs: str,
    sensor: str,
    item_ids: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
    chunks: Mapping[str, int] | None = None,
    valid_fraction: Sequence[float] | None = None,
    resolution: float | tuple[float, float] | None = None,
    reflectance_units: str = "reflectance",
    reflectance_level: str = "surface",
) -> xr.Dataset:
    """Assemble a contract-conforming Scene from per-band ``(time, y, x)`` arrays.

    Arrays may be NumPy or Dask; the result is float32, Dask-chunked, with CRS, transform,
    ``item_id`` and ``valid_fraction`` coordinates on ``time`` (computed from the bands unless
    given; a given one is used for every band's ``valid_fraction_<band>`` too).
    ``resolution`` (metres, or ``(x, y)``): the pixel size; needed when a dimension has one
    pixel (else taken from the coordinate spacing). ``reflectance_units``/``reflectance_level``:
    see the module docstring (arrays handed in are taken as surface reflectance by default).
    """
    times = pd.DatetimeIndex(pd.to_datetime(list(times)))
    if len(item_ids) != len(times):
        raise SceneContractError(f"{len(item_ids)} item ids for {len(times)} dates")
    data_vars = {}
    for name, arr in bands.items():
        if name not in COMMON_NAMES:
            raise SceneContractError(f"band {name!r} is not an eo:common_name")
        data_vars[name] = xr.Variable(DIMS, arr).astype("float32")
    ds = xr.Dataset(data_vars, coords={"time": times, "y": y, "x": x})
    ds = ds.assign_coords(item_id=("time", [str(i) for i in item_ids]))
    ds.attrs.setdefault("reflectance_units", reflectance_units)
    ds.attrs.setdefault("reflectance_level", reflectance_level)
    ds.attrs.update(dict(attrs or {}))
    ds.attrs["sensor"] = sensor
    ds.attrs["item_ids"] = [str(i) for i in item_ids]
    ds = ds.rio.write_crs(crs)
    ds = ds.rio.write_transform(_transform(np.asarray(x), np.asarray(y), resolution, ds.attrs.get("resolution")))
    ds.attrs.setdefault("resolution", abs(float(ds.rio.transform().a)))
    ds = chunk_bands(ds, {**DEFAULT_CHUNKS, **dict(chunks or {})})
    if valid_fraction is not None:  # known without reading the bands (e.g. from SCL/QA)
        vf = np.asarray(valid_fraction, dtype="float64")
        return assign_valid_fractions(ds, vf, {b: vf for b in ds.data_vars}, over="grid", source="given")
    per_band = {b: _valid_fraction(ds[[b]]).values for b in ds.data_vars}
    return assign_valid_fractions(ds, _valid_fraction(ds).values, per_band, over="grid", source="bands")


def chunk_bands(ds: xr.Dataset, chunks: Mapping[str, int]) -> xr.Dataset:
    """``ds`` with its bands Dask-chunked by ``chunks`` (dimensions a band lacks are ignored)
    and its coordinates left as they are. ``Dataset.chunk`` chunks every non-index coordinate
    too: ``item_id`` then became a Dask array of one chunk per date, and each ``.values`` of it
    ran a graph (0.38 s on a 128-date demo history, once per history pass in a baseline)."""
    out = ds.copy()
    for name, band in ds.data_vars.items():
        out[name] = band.variable.chunk({d: c for d, c in chunks.items() if d in band.dims})
    return out


def _transform(x: np.ndarray, y: np.ndarray, resolution: Any, fallback: Any) -> Affine:
    """Pixel-edge transform from pixel-centre coordinates. The spacing of the coordinates gives
    the pixel size; a dimension with one pixel needs ``resolution`` (else ``fallback``)."""
    if resolution is not None:
        rx, ry = (resolution, resolution) if np.isscalar(resolution) else resolution
        rx, ry = abs(float(rx)), abs(float(ry))
    else:
        rx = ry = None
    res_x = float(x[1] - x[0]) if len(x) > 1 else rx
    res_y = float(y[1] - y[0]) if len(y) > 1 else (-ry if ry is not None else None)
    if res_x is None and res_y is not None:
        res_x = abs(res_y)
    if res_y is None and res_x is not None:
        res_y = -abs(res_x)
    if res_x is None:
        if fallback is None:
            raise SceneContractError("a one-pixel scene needs its resolution (make_scene(..., resolution=metres))")
        res_x, res_y = abs(float(fallback)), -abs(float(fallback))
    return Affine(res_x, 0.0, float(x[0]) - res_x / 2, 0.0, res_y, float(y[0]) - res_y / 2)


def valid_fraction_name(band: str) -> str:
    """The coordinate holding ``band``'s own valid fraction per date: ``valid_fraction_<band>``."""
    return f"valid_fraction_{band}"


def assign_valid_fractions(scene: xr.Dataset, overall: Any, per_band: Mapping[str, Any], *,
                           over: str, source: str) -> xr.Dataset:
    """Set ``valid_fraction`` (every band valid) and ``valid_fraction_<band>`` (time coords),
    with attrs naming the bands, the area (``over``: ``"aoi"`` or ``"grid"``) and where the
    validity came from (``source``: ``"bands"``, a quality band, ``"given"``)."""
    bands = [str(b) for b in scene.data_vars]
    coords = {"valid_fraction": ("time", np.asarray(overall, dtype="float64"))}
    for b in bands:
        coords[valid_fraction_name(b)] = ("time", np.asarray(per_band[b], dtype="float64"))
    out = scene.assign_coords(coords)
    out["valid_fraction"].attrs.update({
        "long_name": f"share of the {'village polygon' if over == 'aoi' else 'grid'} valid in every band",
        "bands": bands, "over": over, "from": source})
    for b in bands:
        out[valid_fraction_name(b)].attrs.update({
            "long_name": f"share of the {'village polygon' if over == 'aoi' else 'grid'} valid in {b}",
            "bands": [b], "over": over, "from": source})
    out.attrs["valid_fraction_bands"] = bands
    return out


def _valid_fraction(scene: xr.Dataset, aoi_mask: xr.DataArray | None = None) -> xr.DataArray:
    """Per date, the share of (AOI) pixels where every band is finite. Computes eagerly (small)."""
    ok = None
    for name in scene.data_vars:
        fin = np.isfinite(scene[name])
        ok = fin if ok is None else ok & fin
    if ok is None:
        raise SceneContractError("scene has no bands")
    if aoi_mask is not None:
        ok = ok.where(aoi_mask)
    return ok.mean(dim=("y", "x")).astype("float64").compute()


def check_scene(scene: xr.Dataset, *, require_dask: bool = True) -> xr.Dataset:
    """Raise ``SceneContractError`` naming what is wrong if ``scene`` breaks the contract."""
    if not isinstance(scene, xr.Dataset):
        raise SceneContractError(f"a Scene is an xarray.Dataset, got {type(scene).__name__}")
    if not scene.data_vars:
        raise SceneContractError("scene has no band variables")
    for name, da in scene.data_vars.items():
        if name not in COMMON_NAMES:
            raise SceneContractError(f"variable {name!r} is not an eo:common_name band")
        if tuple(da.dims) != DIMS:
            raise SceneContractError(f"band {name!r} has dims {da.dims}, expected {DIMS}")
        if da.dtype != np.float32:
            raise SceneContractError(f"band {name!r} is {da.dtype}, expected float32")
        if require_dask and da.chunks is None:
            raise SceneContractError(f"band {name!r} is not Dask-backed")
    if scene.rio.crs is None:
        raise SceneContractError("scene has no CRS (rioxarray .rio.crs is None)")
    if "sensor" not in scene.attrs:
        raise SceneContractError("scene attrs lack 'sensor'")
    units = scene.attrs.get("reflectance_units")
    if units not in REFLECTANCE_UNITS:
        raise SceneContractError(
            f"scene attrs 'reflectance_units' is {units!r}; expected one of {', '.join(REFLECTANCE_UNITS)} "
            f"(calibrated reflectance, or relative uncalibrated values)")
    if "item_id" not in scene.coords or scene["item_id"].dims != ("time",):
        raise SceneContractError("scene lacks the per-time 'item_id' coordinate")
    return scene


def bands_present(scene: xr.Dataset) -> frozenset[str]:
    return frozenset(str(n) for n in scene.data_vars)


valid_fraction = _valid_fraction
