"""The per-water-body screening verdict for black-odorous water (黑臭水体) on one date: each
body's mean spectrum, the share of its pixels each method flags, the votes, status, type,
confidence and the list it would go on (national or provincial).

The per-pixel flags come from :func:`indices.blackodorous.black_odorous_pixels`; every
threshold is a field of :class:`indices.blackodorous.BlackOdorousParams` (sources there and in
``docs/blackodorous.md``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .blackodorous import ALL_METHODS, BlackOdorousParams, Units, _bands, _boi, _ndbwi, _params, _to_reflectance, \
    params_of, scene_matrix
from .colour import _dominant_and_purity


def _single_date(obj, what: str):
    if "time" in obj.dims:
        if obj.sizes["time"] != 1:
            raise ValueError(f"classify_water_bodies works on one date; {what} has {obj.sizes['time']} dates "
                             "(select one with .isel(time=i))")
        obj = obj.isel(time=0)
    return obj


def _labels(water_bodies, scene2: xr.Dataset, label_raster) -> np.ndarray:
    shape = (scene2.sizes["y"], scene2.sizes["x"])
    if label_raster is not None:
        lab = np.asarray(_single_date(label_raster, "label_raster").values)
        if lab.shape != shape:
            raise ValueError(f"label raster shape {lab.shape} differs from the scene's {shape}")
        lab = np.nan_to_num(lab.astype("float64"), nan=0).astype("int64")
        if lab.min() < 0 or lab.max() > len(water_bodies):
            raise ValueError(f"label raster values must be 0 (no body) or 1..{len(water_bodies)} (row position + 1)")
        return lab
    from rasterio.features import rasterize

    gdf = water_bodies
    crs = scene2.rio.crs
    if crs is not None and gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    shapes = [(geom, i + 1) for i, geom in enumerate(gdf.geometry) if geom is not None and not geom.is_empty]
    if not shapes:
        return np.zeros(shape, dtype="int64")
    return rasterize(shapes, out_shape=shape, transform=scene2.rio.transform(recalc=True), fill=0,
                     dtype="int32").astype("int64")




def classify_water_bodies(
    water_bodies,
    pixel_flags: xr.Dataset,
    *,
    scene: xr.Dataset,
    label_raster: xr.DataArray | None = None,
    params: BlackOdorousParams | None = None,
    units: Units = "reflectance",
    **overrides: Any,
):
    """One screening verdict per water body on one date (a ``(y, x)`` scene, or ``time`` of 1).

    ``water_bodies``: a GeoDataFrame in the scene's grid CRS (``indices.waterbodies.water_bodies``:
    ``wb_id``, ``area_m2``, ``n_pixels``, ``resolvable``, ...); each body is rasterised on the
    scene grid (pixel centres) unless ``label_raster`` gives, per pixel, the body's row position
    + 1 (0 = none). ``pixel_flags``: ``black_odorous_pixels`` on the same scene. ``params``:
    default the ones ``pixel_flags`` was made with; ``overrides`` replace single fields
    (``min_share``, ``min_votes``, ``min_pixels``, ...). Over each body's valid pixels (all of
    B, G, R finite) it adds:

    * ``n_valid``; ``blue_mean``, ``green_mean``, ``red_mean`` (the scene's units);
    * ``boi_mean``, ``ndbwi_mean``, ``purity_mean``, ``dominant_wavelength_mean``,
      ``brightness_mean`` (reflectance): the indices *of the body's mean spectrum* (the colour
      through the sensor's RGB -> XYZ transform);
    * ``share_<method>``, ``share_guarded``, ``share_suspect``, ``share_suspect_bright``: shares
      of the valid pixels; ``share_mixed`` when ``pixel_flags`` has ``mixed_added`` (the mixed
      pixels the screening added to the water mask, ``indices.mixed_water``);
    * ``methods_agreeing``: comma list of the methods flagging >= ``min_share`` of the pixels;
      ``votes``: how many;
    * ``status``: ``too_small`` if the body is not resolvable (column ``resolvable``, else fewer
      than ``min_pixels`` pixels); else ``no_valid_observation`` if no valid pixel; else
      ``suspect_black_odorous`` if ``share_suspect >= min_share`` and either ``votes >=
      min_votes`` or the bright type holds (``share_suspect_bright >= min_share``); else
      ``ordinary``;
    * ``black_odorous_type``: ``bright`` for a suspect of the bright high-SPM type (Shen et al.
      2019), ``dark`` for other suspects, empty otherwise;
    * ``confidence`` in [0, 1], a score of the evidence (not a probability): (votes / methods)
      x share_suspect (the bright type counts its two methods), x ``small_body_weight`` when not
      resolvable; 0 without a valid pixel;
    * ``list``: ``national`` if ``area_m2 >= national_min_area_m2`` (2000) else ``provincial``
      (生态环境部办公厅/水利部办公厅/农业农村部办公厅, 农村黑臭水体治理工作指南, 2023 revision);
    * ``verification``: ``unverified``. The guidance decides by senses, public survey or water
      tests on site; remote sensing only points where to look;
    * ``bo_params``: the thresholds used (``params.as_dict()`` as JSON text), on every body.
    """
    import json

    import geopandas as gpd

    p = _params(params or params_of(pixel_flags), overrides)
    scene2 = _single_date(scene, "scene")
    flags2 = _single_date(pixel_flags, "pixel_flags")
    b_da, g_da, r_da = _bands(scene2, "classify_water_bodies")
    methods = [m for m in str(flags2.attrs.get("methods", "")).split(",") if m] or \
        [m for m in ALL_METHODS if f"{m}_flag" in flags2]
    gdf = gpd.GeoDataFrame(water_bodies).copy()
    n = len(gdf)
    lab = _labels(gdf, scene2, label_raster)
    flag_names = [f"{m}_flag" for m in methods] + ["is_suspect", "is_suspect_bright", "guarded"]
    missing = [v for v in flag_names if v not in flags2]
    flag_names += ["mixed_added"] if "mixed_added" in flags2 else []
    if missing:
        raise ValueError(f"pixel_flags lacks {', '.join(missing)} (pass the output of black_odorous_pixels)")
    if tuple(flags2["is_suspect"].shape) != lab.shape:
        raise ValueError(f"pixel_flags are {flags2['is_suspect'].shape}, the scene (y, x) {lab.shape}")
    # one pass over the (possibly lazy) inputs: bands and flags share their source graph
    both = xr.Dataset({"blue": b_da.variable, "green": g_da.variable, "red": r_da.variable,
                       **{v: flags2[v].variable for v in flag_names}}).compute()
    b, g, r = (np.asarray(both[k].values, dtype="float64") for k in ("blue", "green", "red"))
    if b.shape != lab.shape:
        raise ValueError(f"scene bands are {b.shape}, expected (y, x) {lab.shape}")
    valid = np.isfinite(b) & np.isfinite(g) & np.isfinite(r) & (lab > 0)
    idx = lab[valid]

    def per_body(weights=None):
        return np.bincount(idx, weights=weights, minlength=n + 1)[1:].astype("float64")

    def share(name):
        return per_body(np.asarray(both[name].values, dtype=bool)[valid].astype("float64")) / n_valid

    n_pix = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    n_valid = per_body()
    with np.errstate(divide="ignore", invalid="ignore"):
        means = {k: per_body(v[valid]) / n_valid for k, v in (("blue", b), ("green", g), ("red", r))}
        shares = {m: share(f"{m}_flag") for m in methods}
        share_suspect, share_bright, share_guarded = share("is_suspect"), share("is_suspect_bright"), share("guarded")
    mb, mg, mr = means["blue"], means["green"], means["red"]
    m = np.asarray(scene_matrix(scene2, p), dtype="float64")
    xyz = m @ np.vstack([mr, mg, mb])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xyz.sum(axis=0)
        cx, cy = np.where(s > 0, xyz[0] / s, np.nan), np.where(s > 0, xyz[1] / s, np.nan)
    wl, purity = _dominant_and_purity(cx, cy)

    if "resolvable" in gdf:
        resolvable = gdf["resolvable"].fillna(False).astype(bool).to_numpy()
    else:
        resolvable = n_pix >= p.min_pixels
    area = gdf["area_m2"].to_numpy(dtype="float64") if "area_m2" in gdf else gdf.geometry.area.to_numpy()

    agreeing, status, kind, confidence, votes = [], [], [], [], []
    for i in range(n):
        agree = [mth for mth in methods if n_valid[i] > 0 and shares[mth][i] >= p.min_share]
        bright = bool(n_valid[i] > 0 and share_bright[i] >= p.min_share)
        agreeing.append(",".join(agree))
        votes.append(len(agree))
        if not resolvable[i]:
            st = "too_small"
        elif n_valid[i] == 0:
            st = "no_valid_observation"
        elif share_suspect[i] >= p.min_share and (len(agree) >= p.min_votes or bright):
            st = "suspect_black_odorous"
        else:
            st = "ordinary"
        status.append(st)
        kind.append(("bright" if bright and len(agree) < p.min_votes else "dark") if st == "suspect_black_odorous" else "")
        if n_valid[i] == 0:
            confidence.append(0.0)
        else:
            c = len(agree) / len(methods) * float(share_suspect[i])
            confidence.append(float(c * (1.0 if resolvable[i] else p.small_body_weight)))

    gdf["n_valid"] = n_valid.astype("int64")
    gdf["blue_mean"], gdf["green_mean"], gdf["red_mean"] = mb, mg, mr
    gdf["boi_mean"] = _boi(mb, mg, mr)
    gdf["ndbwi_mean"] = _ndbwi(mg, mr)
    gdf["purity_mean"] = purity
    gdf["dominant_wavelength_mean"] = wl
    gdf["brightness_mean"] = np.max(np.vstack([mb, mg, mr]), axis=0) * _to_reflectance(units)
    for mth in methods:
        gdf[f"share_{mth}"] = shares[mth]
    gdf["share_guarded"] = share_guarded
    gdf["share_suspect"] = share_suspect
    gdf["share_suspect_bright"] = share_bright
    if "mixed_added" in flags2:  # indices.mixed_water: pixels the screening added to the water mask
        gdf["share_mixed"] = share("mixed_added")
    gdf["methods_agreeing"] = agreeing
    gdf["votes"] = np.asarray(votes, dtype="int64")
    gdf["status"] = status
    gdf["black_odorous_type"] = kind
    gdf["confidence"] = np.round(np.asarray(confidence, dtype="float64"), 4)
    gdf["list"] = np.where(area >= p.national_min_area_m2, "national", "provincial")
    gdf["verification"] = "unverified"
    gdf["bo_params"] = json.dumps(p.as_dict(), sort_keys=True)
    return gdf
