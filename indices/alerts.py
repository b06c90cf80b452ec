"""Change that means change: anomalies against the same season, land-cover aware, confirmed by
the next clear observations (as operational disturbance alerts are).

- :class:`SeasonalChangeParams`: every threshold, with its source;
- :func:`land_cover_from_history`: cropland from the phenology of the history, permanent and
  seasonal water from its water occurrence (an official cropland layer replaces the cropland
  part where the user gives one);
- :func:`seasonal_anomalies`: per clear observation (a date, or a period's clear-sky composite)
  whether it departs from its same-season baseline (``indices.seasonal.season_summary``): loss
  of vegetation, open water appearing or disappearing, water newly black-odorous, cropland
  converted (built or bare, pond dug). Cropland's own cycle (harvest, fallow, flooded
  transplanting) is not a vegetation loss, not a water gain and not a new black-odorous body:
  it belongs to the farmland watch, which looks for cropland going *below* anything its
  history showed;
- :func:`alert_status`: candidate on the first anomalous clear observation, confirmed when the
  next clear observation(s) agree, reverted when a confirmed pixel looks normal again on
  consecutive clear observations (GLAD alerts: Hansen et al. 2016, Environ. Res. Lett. 11:
  034008, confidence raised by a subsequent loss observation; OPERA DIST-ALERT: provisional,
  then confirmed by later cloud-free observations, "finished" when they stop).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import geopandas as gpd
import xarray as xr

from ._raster import as_2d, burn_mask, label, label_sums, pixel_area_m2, polygons, transform_of
from .cropedge import crop_edge
from .errors import IndicesError
from .nanstats import nanmedian0

NONE, CANDIDATE, CONFIRMED, REVERTED, UNOBSERVED = 0, 1, 2, 3, 255
STATUS_NAMES = {NONE: "none", CANDIDATE: "candidate", CONFIRMED: "confirmed", REVERTED: "reverted"}
#: land-cover classes of :func:`land_cover_from_history`
LAND_COVER = {0: "other", 1: "cropland", 2: "forest", 3: "permanent_water", 4: "seasonal_water", 255: "unknown"}
OTHER, CROPLAND, FOREST, PERMANENT_WATER, SEASONAL_WATER, UNKNOWN = 0, 1, 2, 3, 4, 255
#: the alert kinds of :func:`seasonal_anomalies`
KINDS = ("vegetation_loss", "water_gain", "water_loss", "black_odorous", "farmland_built", "farmland_pond")
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True, kw_only=True)
class SeasonalChangeParams:
    """Thresholds of the seasonal change and the alerts (recorded in every manifest).

    Baseline: ``baseline_years`` (3) earlier years, observations within ``season_half_window_days``
    (15: a 31-day window) of the target's day of year, as OPERA DIST-ALERT; a target with no
    baseline observation in that window widens it to ``fallback_half_window_days`` (45).
    Vegetation loss (``vegetation_model``): ``harmonic`` (the default, chosen on the development
    data: ``flows.evaluation.realchange``): NDVI below the history's harmonic model
    (``n_harmonics`` 1, ``indices.harmonic_fit``) by ``max(ndvi_loss, rmse_factor x RMSE)``
    (CCDC's test of a residual beyond three times the model's RMSE, Zhu & Woodcock 2014), the
    same-season rule where the model cannot be fitted; ``season``: NDVI at least ``ndvi_loss``
    (0.2) below the season's baseline *minimum* (DIST-ALERT counts loss against the baseline
    minimum; 0.2 is the conventional NDVI drop of a cleared canopy, Lyon et al. 1998). Water,
    black-odorous water and the farmland watch are flags, compared with their share in the
    same season. Water: a pixel was water in the season when at least
    ``water_was_share`` (0.75) of the season's clear observations saw water, was dry when at most
    ``water_dry_share`` (0.25) did; permanent water has an occurrence of at least
    ``permanent_water_share`` (0.75) over the whole history, seasonal water at least
    ``seasonal_water_share`` (0.1) (after the occurrence classes of Pekel et al. 2016, Nature
    540: 418-422); new water must be open water, NDWI > ``open_water_ndwi`` (0: McFeeters
    1996): a flooded paddy's few centimetres pass the NIR (NDWI stays below 0) while a dug pond
    absorbs it. Cropland (the phenology rule of ``indices.cropland_from_ndvi_series``: peak NDVI
    >= ``crop_min_max``, amplitude >= ``crop_min_amplitude``) is converted when NDVI falls
    ``new_low_margin`` (0.05) below its history's lowest and NDBI rises ``ndbi_rise`` (0.1) above
    the season's median (built or bare), or it becomes open water (pond dug); a built or bare
    conversion is only claimed once it has lasted ``farmland_min_days`` (45: longer than the
    bare phases of the crop calendar, puddling or a vegetable plot between crops). A pixel that
    was flooded at times (seasonal water) and green (NDVI >= ``paddy_min_max``, 0.4) at others
    is a paddy (Xiao et al. 2005). A pixel within ``crop_edge_px`` (1) of that cropland, green
    (peak >= ``paddy_min_max``), swinging by at least ``crop_edge_min_amplitude`` (0.2) and whose
    NDVI correlates at ``crop_edge_min_r`` (0.7: the neighbouring cropland's calendar explains
    half its variance) or more with the neighbouring cropland's is cropland too: a parcel's mixed
    edge pixel or a paddy whose trough the clouds hid (``indices.cropedge``; set on the demo's
    tuning profile, issue #13 round 4). Forest: median NDVI >= ``forest_min_ndvi`` (0.6) and not
    cropland. A pixel that is neither cropland, forest nor water and whose history has fewer
    than ``phenology_min_obs`` (12) clear observations is *unknown*, not "other": so few
    observations cannot rule out a crop cycle whose peak or flooding fell on cloudy days, and
    vegetation change is not assessed on unknown land (12 is CCDC's minimum of clear
    observations to initialise its simplest seasonal model, three per coefficient of constant,
    slope and one harmonic pair: Zhu & Woodcock 2014, Remote Sens. Environ. 144: 152-171; not
    applied where an official cropland layer says what is cropland). Alerts: confirmed after
    ``confirm_obs`` (2) consecutive anomalous clear observations, reverted after
    ``revert_obs`` (2) consecutive normal ones; polygons of at least the run's change minimum.
    """

    baseline_years: int = 3
    season_half_window_days: float = 15.0
    fallback_half_window_days: float = 45.0
    vegetation_model: str = "harmonic"
    n_harmonics: int = 1
    rmse_factor: float = 3.0
    ndvi_loss: float = 0.2
    water_was_share: float = 0.75
    water_dry_share: float = 0.25
    permanent_water_share: float = 0.75
    seasonal_water_share: float = 0.1
    open_water_ndwi: float = 0.0
    crop_min_max: float = 0.5
    crop_min_amplitude: float = 0.3
    paddy_min_max: float = 0.4
    crop_edge_px: int = 1
    crop_edge_min_amplitude: float = 0.2
    crop_edge_min_r: float = 0.7
    farmland_min_days: float = 45.0
    forest_min_ndvi: float = 0.6
    phenology_min_obs: int = 12
    new_low_margin: float = 0.05
    ndbi_rise: float = 0.1
    confirm_obs: int = 2
    revert_obs: int = 2

    def __post_init__(self) -> None:
        if self.confirm_obs < 1 or self.revert_obs < 1 or self.baseline_years < 1:
            raise IndicesError("confirm_obs, revert_obs and baseline_years must be at least 1")
        if self.vegetation_model not in ("harmonic", "season"):
            raise IndicesError(f"vegetation_model {self.vegetation_model!r}: use 'harmonic' or 'season'")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- land cover
def land_cover_from_history(ndvi: xr.DataArray, water: xr.DataArray, params: SeasonalChangeParams = SeasonalChangeParams(),
                            *, cropland: xr.DataArray | None = None, min_dates: int = 4,
                            min_span_days: float = 180.0) -> xr.DataArray:
    """uint8 land cover (:data:`LAND_COVER`) from a history (time, y, x): ``ndvi`` (NaN = not
    clear) and ``water`` (1 water, 0 land, NaN not clear). Permanent / seasonal water by water
    occurrence; cropland by NDVI phenology (peak and seasonal amplitude, Reed et al. 1994,
    J. Veg. Sci. 5: 703; at least ``min_dates`` clear dates spanning ``min_span_days``), or
    where the official ``cropland`` layer (bool, same grid) says so when given; forest by a
    high median NDVI; unknown without a clear observation, or, when neither cropland, forest nor
    water, with fewer than ``params.phenology_min_obs`` clear NDVI observations and no official
    layer (the phenology cannot tell it from cropland). ``attrs["cropland_source"]`` says which
    cropland was used."""
    nd = ndvi.transpose("time", "y", "x")
    wa = water.transpose("time", "y", "x")
    times = pd.DatetimeIndex(nd["time"].values)
    span = float((times.max() - times.min()).days) if len(times) else 0.0
    with np.errstate(invalid="ignore"):
        v = np.asarray(nd.values, dtype="float32")
        w = np.asarray(wa.values, dtype="float32")
        n_ok = np.isfinite(v).sum(axis=0)
        n_w = np.isfinite(w).sum(axis=0)
        occ = np.where(n_w > 0, np.nansum(w, axis=0) / np.maximum(n_w, 1), np.nan)
        hi = np.where(n_ok > 0, np.max(np.where(np.isfinite(v), v, -np.inf), axis=0), np.nan)
        lo = np.where(n_ok > 0, np.min(np.where(np.isfinite(v), v, np.inf), axis=0), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = nanmedian0(v) if v.shape[0] else np.full(v.shape[1:], np.nan)
    sufficient = len(times) >= min_dates and span >= min_span_days
    seasonal = (occ >= params.seasonal_water_share) & (occ < params.permanent_water_share)
    if cropland is not None:
        crop = np.asarray(cropland.values, dtype=bool)
        source = "official cropland layer"
    else:
        crop = (hi >= params.crop_min_max) & ((hi - lo) >= params.crop_min_amplitude) & (n_ok >= min_dates) & sufficient
        # paddy: flooded for part of the year and green at another time (the flooding-then-growth
        # signal of rice, Xiao et al. 2005), even when the cloudy season hid its peak
        crop |= seasonal & (hi >= params.paddy_min_max) & (n_ok >= min_dates) & sufficient
        # the parcel's mixed edge pixels and cloud-hidden troughs, that follow the cropland beside them
        crop |= crop_edge(v, crop, reach_px=params.crop_edge_px, min_amplitude=params.crop_edge_min_amplitude,
                          min_max=params.paddy_min_max, min_r=params.crop_edge_min_r, min_dates=min_dates) & sufficient
        source = (f"NDVI phenology over {len(times)} dates ({span:.0f} days): peak >= {params.crop_min_max}, "
                  f"amplitude >= {params.crop_min_amplitude}, or flooded at times and NDVI >= {params.paddy_min_max} "
                  f"at others; within {params.crop_edge_px} px of those, NDVI >= {params.paddy_min_max}, amplitude >= "
                  f"{params.crop_edge_min_amplitude} and r >= {params.crop_edge_min_r} with their NDVI; "
                  f"neither, nor forest or water, with < {params.phenology_min_obs} clear dates: unknown"
                  + ("" if sufficient else " [history too short: no cropland]"))
    cls = np.full(v.shape[1:], OTHER, "uint8")
    cls[(med >= params.forest_min_ndvi) & ~crop] = FOREST
    cls[seasonal] = SEASONAL_WATER
    cls[crop] = CROPLAND  # a paddy flooded at transplanting is cropland, its water part of its cycle
    cls[occ >= params.permanent_water_share] = PERMANENT_WATER
    if cropland is None:  # too few clear observations to rule out a crop cycle (CCDC's 12, Zhu & Woodcock 2014)
        cls[(cls == OTHER) & (n_ok < params.phenology_min_obs)] = UNKNOWN
    cls[(n_ok == 0) & (n_w == 0)] = UNKNOWN
    out = xr.DataArray(cls, dims=("y", "x"), coords={"y": nd["y"], "x": nd["x"]}, name="land_cover")
    out.attrs = {"classes": dict(LAND_COVER), "cropland_source": source, "n_dates": len(times), "span_days": span,
                 "source": "phenology (Reed et al. 1994) and water occurrence (Pekel et al. 2016)"}
    return out


# --------------------------------------------------------------------------- anomalies
def seasonal_anomalies(current: xr.Dataset, season: xr.Dataset, land_cover: xr.DataArray, annual_low: xr.DataArray,
                       params: SeasonalChangeParams = SeasonalChangeParams()) -> xr.Dataset:
    """Per observation (time, y, x) and kind (:data:`KINDS`): ``<kind>`` (anomalous) and
    ``<kind>_assessed`` (a clear observation with a baseline to compare with).

    ``current``: ``ndvi``, ``ndwi``, ``ndbi`` (NaN where not clear), ``water``, ``suspect``
    (1/0, NaN where not clear) of dates or composites; ``season``: their same-season summaries
    at the same times (``ndvi_min``, ``ndbi_median``, ``water_share``, ``suspect_share``;
    ``indices.seasonal.season_summary``) and, for the harmonic vegetation model, ``ndvi_expected``
    and ``ndvi_rmse`` (``indices.harmonic_predict``); ``land_cover`` (:func:`land_cover_from_history`);
    ``annual_low``: the lowest NDVI the history showed. Variables ``current`` lacks are not
    assessed (all False)."""
    p = params
    lc = land_cover
    crop = lc == CROPLAND
    wet = (lc == PERMANENT_WATER) | (lc == SEASONAL_WATER)
    out: dict[str, xr.DataArray] = {}

    def put(kind: str, anomalous, assessed) -> None:
        assessed = assessed.fillna(False).astype(bool) if assessed.dtype.kind == "f" else assessed.astype(bool)
        out[kind] = (anomalous.fillna(False).astype(bool) if anomalous.dtype.kind == "f" else anomalous.astype(bool)) & assessed
        out[f"{kind}_assessed"] = assessed

    def has(*names: str) -> bool:
        return all(n in current for n in names)

    false = xr.zeros_like(current[next(iter(current.data_vars))], dtype=bool)
    if has("ndvi") and "ndvi_min" in season:
        nd = current["ndvi"]
        low = season["ndvi_min"] - p.ndvi_loss
        if p.vegetation_model == "harmonic" and "ndvi_expected" in season:
            model = season["ndvi_expected"] - np.maximum(p.ndvi_loss, p.rmse_factor * season["ndvi_rmse"])
            low = model.where(np.isfinite(model), low)  # the same-season rule where no model fits
        known = lc != UNKNOWN  # too few clear observations to tell it from cropland (land_cover_from_history)
        put("vegetation_loss", (nd <= low) & ~crop & ~wet, np.isfinite(nd) & np.isfinite(low) & known)
    else:
        put("vegetation_loss", false, false)
    if has("water", "ndwi") and "water_share" in season:
        w, share = current["water"], season["water_share"]
        obs = np.isfinite(w) & np.isfinite(share)
        open_water = current["ndwi"] > p.open_water_ndwi
        put("water_gain", (w == 1) & (share <= p.water_dry_share) & open_water, obs)
        put("water_loss", (w == 0) & (share >= p.water_was_share) & (lc == PERMANENT_WATER), obs)
    else:
        put("water_gain", false, false)
        put("water_loss", false, false)
    if has("suspect", "ndwi") and "suspect_share" in season:
        s, share = current["suspect"], season["suspect_share"]
        put("black_odorous", (s == 1) & (share <= 0.0) & (~crop | (current["ndwi"] > p.open_water_ndwi)),
            np.isfinite(s) & np.isfinite(share))
    else:
        put("black_odorous", false, false)
    if has("ndvi", "ndbi", "water", "ndwi") and "ndbi_median" in season:
        nd = current["ndvi"]
        new_low = crop & (nd < annual_low - p.new_low_margin)
        obs = np.isfinite(nd) & np.isfinite(annual_low) & crop
        pond = new_low & (current["water"] == 1) & (current["ndwi"] > p.open_water_ndwi)
        put("farmland_pond", pond, obs)
        put("farmland_built", new_low & ~pond & (current["ndbi"] - season["ndbi_median"] >= p.ndbi_rise),
            obs & np.isfinite(season["ndbi_median"]))
    else:
        put("farmland_pond", false, false)
        put("farmland_built", false, false)
    ds = xr.Dataset(out)
    ds.attrs = {"params": p.as_dict()}
    return ds


# --------------------------------------------------------------------------- status
def alert_status(anomalous: xr.DataArray, assessed: xr.DataArray, *, confirm_obs: int = 2,
                 revert_obs: int = 2) -> xr.Dataset:
    """Run each pixel's clear observations (``assessed``, time order) through the alert states:

    - none -> **candidate** on an anomalous observation;
    - candidate -> **confirmed** when ``confirm_obs`` consecutive assessed observations were
      anomalous (the first included); back to none on a normal one;
    - confirmed -> **reverted** after ``revert_obs`` consecutive normal observations (a
      temporary anomaly: a flood that drained, snow, a harvest that came late).

    Returns ``status`` (uint8: 0 none, 1 candidate, 2 confirmed, 3 reverted, 255 never
    assessed), ``first`` / ``confirmed`` (the date of the candidate's first observation and of
    the confirming one, datetime64[D], NaT when none), ``last`` (the last assessed date),
    ``n_anomalous`` (anomalous observations in the current alert)."""
    if "time" not in anomalous.dims:
        raise IndicesError(f"alert_status needs a 'time' dimension, got {anomalous.dims}")
    a = np.asarray(anomalous.transpose("time", "y", "x").values, dtype=bool)
    ok = np.asarray(assessed.transpose("time", "y", "x").values, dtype=bool)
    days = (pd.DatetimeIndex(anomalous["time"].values).values.astype("datetime64[D]") - EPOCH).astype("int32")
    shape = a.shape[1:]
    state = np.full(shape, UNOBSERVED, "uint8")
    run = np.zeros(shape, "int16")  # consecutive anomalous (candidate) or normal (confirmed) observations
    n_anom = np.zeros(shape, "int16")
    first = np.full(shape, -1, "int32")
    conf = np.full(shape, -1, "int32")
    last = np.full(shape, -1, "int32")
    for t in range(a.shape[0]):
        o, x = ok[t], a[t]
        if not o.any():
            continue
        last[o] = days[t]
        state[o & (state == UNOBSERVED)] = NONE
        start = o & x & ((state == NONE) | (state == REVERTED))
        state[start], run[start], n_anom[start], first[start], conf[start] = CANDIDATE, 1, 1, days[t], -1
        cont = o & x & (state == CANDIDATE) & ~start
        run[cont] += 1
        n_anom[cont] += 1
        up = (cont | start) & (run >= confirm_obs)
        state[up], conf[up], run[up] = CONFIRMED, days[t], 0
        drop = o & ~x & (state == CANDIDATE)
        state[drop], run[drop], n_anom[drop], first[drop] = NONE, 0, 0, -1
        held = o & (state == CONFIRMED) & ~up
        n_anom[held & x] += 1
        run[held & x] = 0
        run[held & ~x] += 1
        back = held & ~x & (run >= revert_obs)
        state[back], run[back] = REVERTED, 0
    y, xx = anomalous["y"], anomalous["x"]

    def as_date(v: np.ndarray) -> xr.DataArray:
        d = np.where(v >= 0, v, 0).astype("timedelta64[D]") + EPOCH
        return xr.DataArray(np.where(v >= 0, d, np.datetime64("NaT")), dims=("y", "x"), coords={"y": y, "x": xx})

    ds = xr.Dataset({"status": (("y", "x"), state), "first": as_date(first), "confirmed": as_date(conf),
                     "last": as_date(last), "n_anomalous": (("y", "x"), n_anom)}, coords={"y": y, "x": xx})
    ds.attrs = {"confirm_obs": int(confirm_obs), "revert_obs": int(revert_obs),
                "flag_values": [NONE, CANDIDATE, CONFIRMED, REVERTED, UNOBSERVED],
                "flag_meanings": "none candidate confirmed reverted never_assessed"}
    return ds


# --------------------------------------------------------------------------- polygons
ALERT_COLUMNS = ["kind", "status", "first_date", "confirmed_date", "last_date", "n_observations", "area_m2",
                 "n_pixels", "confirmed_share", "mean_magnitude"]


def alert_polygons(alerts: xr.Dataset, *, kind: str, min_area_m2: float = 1000.0,
                   magnitude: xr.DataArray | None = None) -> gpd.GeoDataFrame:
    """One polygon per 8-connected region of candidate or confirmed pixels of ``alerts``
    (:func:`alert_status`) of at least ``min_area_m2``, in the grid's CRS, with ``status``
    (``confirmed`` when its confirmed pixels are half of it or cover ``min_area_m2`` themselves:
    a clearing half under cloud on one pass and whole on the next is confirmed by the part seen
    twice; else ``candidate``), ``first_date``
    (its earliest first detection), ``confirmed_date`` (the earliest confirmation of its
    confirmed pixels, None for a candidate), ``last_date`` (its latest assessed observation),
    ``n_observations`` (the most anomalous observations of a pixel), ``area_m2``,
    ``n_pixels``, ``confirmed_share`` and ``mean_magnitude`` (mean of ``magnitude`` when given)."""
    st = as_2d(alerts["status"], "alert_polygons status")
    transform = transform_of(st, "alert_polygons status")
    crs = st.rio.crs
    pix = pixel_area_m2(st, "alert_polygons status")
    status = np.asarray(st.values)
    labels, n = label((status == CANDIDATE) | (status == CONFIRMED))
    counts, _ = label_sums(labels, n)
    min_px = max(1, math.ceil(min_area_m2 / pix - 1e-9))
    keep = np.flatnonzero(counts >= min_px) + 1
    if keep.size == 0:
        return gpd.GeoDataFrame({c: [] for c in ALERT_COLUMNS}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    geoms = polygons(np.where(np.isin(labels, keep), labels, 0), transform)
    first = _days(alerts["first"])
    conf = _days(alerts["confirmed"])
    last = _days(alerts["last"])
    n_anom = np.asarray(alerts["n_anomalous"].values)
    mag = np.asarray(as_2d(magnitude, "alert_polygons magnitude").values, dtype="float64") if magnitude is not None else None
    rows = []
    for lab in keep:
        m = labels == lab
        is_conf = status[m] == CONFIRMED
        share = float(is_conf.mean())
        confirmed = share >= 0.5 or is_conf.sum() >= min_px
        c = conf[m][is_conf]
        fm = mag[m][np.isfinite(mag[m])] if mag is not None else np.array([])
        rows.append({"kind": kind, "status": "confirmed" if confirmed else "candidate",
                     "first_date": _iso(first[m][first[m] >= 0].min()),
                     "confirmed_date": _iso(c[c >= 0].min()) if confirmed and (c >= 0).any() else None,
                     "last_date": _iso(last[m].max()), "n_observations": int(n_anom[m].max()),
                     "area_m2": float(m.sum()) * pix, "n_pixels": int(m.sum()), "confirmed_share": share,
                     "mean_magnitude": float(fm.mean()) if fm.size else float("nan"), "geometry": geoms[int(lab)]})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)[ALERT_COLUMNS + ["geometry"]]


def _days(da: xr.DataArray) -> np.ndarray:
    """Days since 1970-01-01 of a datetime64 raster, -1 where NaT."""
    v = np.asarray(da.values).astype("datetime64[D]")
    d = (v - EPOCH).astype("int64")
    return np.where(np.isnat(v), -1, d)


def _iso(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


# --------------------------------------------------------------------------- water bodies on cropland
FLOODED_CROPLAND = "flooded_cropland"


def cropland_water_status(bodies: gpd.GeoDataFrame, land_cover: xr.DataArray, ndwi: xr.DataArray, *,
                          open_water_ndwi: float = 0.0, min_share: float = 0.5,
                          suspect_status: str = "suspect_black_odorous") -> gpd.GeoDataFrame:
    """``bodies`` (a date's classified water bodies, in ``land_cover``'s CRS) with every
    suspect lying at least ``min_share`` on cropland and not open water (mean NDWI <=
    ``open_water_ndwi``: a flooded paddy's shallow water, not a pond) given the status
    :data:`FLOODED_CROPLAND`: the crop calendar's flooding is not black-odorous water."""
    if not len(bodies) or "status" not in bodies:
        return bodies
    lc = np.asarray(as_2d(land_cover, "cropland_water_status land cover").values)
    nd = np.asarray(as_2d(ndwi, "cropland_water_status ndwi").values, dtype="float64")
    transform = transform_of(land_cover, "cropland_water_status land cover")
    status = bodies["status"].astype(object).to_numpy().copy()
    for i, (g, st) in enumerate(zip(bodies.geometry, status)):
        if st != suspect_status or g is None or g.is_empty:
            continue
        m = burn_mask(g, lc.shape, transform)
        if not m.any():
            continue
        v = nd[m][np.isfinite(nd[m])]
        if (lc[m] == CROPLAND).mean() >= min_share and (not v.size or v.mean() <= open_water_ndwi):
            status[i] = FLOODED_CROPLAND
    out = bodies.copy()
    out["status"] = status
    return out


def polygon_share(polys: gpd.GeoDataFrame, mask: np.ndarray, transform) -> list[float]:
    """Per polygon the share of its pixels (centres) where ``mask`` is True."""
    out = []
    for g in polys.geometry:
        m = burn_mask(g, mask.shape, transform)
        out.append(float(mask[m].mean()) if m.any() else 0.0)
    return out


def polygon_pixels(polys: gpd.GeoDataFrame, shape: tuple[int, int], transform) -> list[np.ndarray]:
    """Per polygon the bool mask of its pixels (centres) on a grid."""
    return [burn_mask(g, shape, transform) for g in polys.geometry]
