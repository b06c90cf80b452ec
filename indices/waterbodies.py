"""Water bodies: vectorised connected water areas with stable ids and per-body statistics."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ._raster import as_2d, centroids, label, label_means, label_mins, label_sums, pixel_area_m2, polygons, transform_of
from .errors import IndicesError

#: id grid (CRS units): the centroid is rounded to this before it becomes an id
ID_GRID_M = 10.0

COLUMNS = ["wb_id", "area_m2", "perimeter_m", "n_pixels", "resolvable", "size_class"]


def _coord_text(v: float) -> str:
    n = int(math.floor(v / ID_GRID_M + 0.5 + 1e-6)) * int(ID_GRID_M)
    return f"m{-n}" if n < 0 else str(n)


def centroid_id(x: float, y: float) -> str:
    """``wb-<E>-<N>``: the centroid rounded to 10 m in the grid CRS (negative values as
    ``m<value>``). The same pond on the same grid gets the same id on every date."""
    return f"wb-{_coord_text(x)}-{_coord_text(y)}"


def _match_previous(geoms: gpd.GeoSeries, previous: gpd.GeoDataFrame, min_iou: float, min_overlap: float) -> dict[int, str]:
    """Greedy one-to-one matching of current bodies to previous ones by IoU (highest first);
    a pair qualifies when IoU >= ``min_iou`` or the overlap covers ``min_overlap`` of the
    smaller body."""
    if "wb_id" not in previous.columns:
        raise IndicesError("previous water bodies lack the 'wb_id' column")
    prev = previous[previous.geometry.notna() & ~previous.geometry.is_empty]
    if not len(prev) or not len(geoms):
        return {}
    cur = gpd.GeoDataFrame({"i": np.arange(len(geoms))}, geometry=geoms.values, crs=geoms.crs)
    old = gpd.GeoDataFrame({"j": np.arange(len(prev)), "pid": prev["wb_id"].astype(str).values},
                           geometry=prev.geometry.values, crs=prev.crs)
    pairs = gpd.sjoin(cur, old, how="inner", predicate="intersects")
    cand = []
    for i, j, pid in zip(pairs["i"], pairs["j"], pairs["pid"]):
        a, b = cur.geometry.iloc[i], old.geometry.iloc[j]
        inter = a.intersection(b).area
        if inter <= 0:
            continue
        union = a.area + b.area - inter
        iou = inter / union if union > 0 else 0.0
        if iou >= min_iou or inter / min(a.area, b.area) >= min_overlap:
            cand.append((-iou, -inter, int(i), str(pid)))
    out: dict[int, str] = {}
    used: set[str] = set()
    for _, _, i, pid in sorted(cand):
        if i in out or pid in used:
            continue
        out[i] = pid
        used.add(pid)
    return out


def water_bodies(
    mask2d: xr.DataArray,
    *,
    indices: xr.Dataset | None = None,
    valid_count: xr.DataArray | None = None,
    previous: gpd.GeoDataFrame | None = None,
    min_pixels_resolvable: int = 9,
    national_min_area_m2: float = 2000.0,
    match_min_iou: float = 0.3,
    match_min_overlap: float = 0.5,
    split: xr.DataArray | None = None,
) -> gpd.GeoDataFrame:
    """One row per 8-connected water body of ``mask2d`` (bool, (y, x) or a single date), in
    the raster's CRS (projected, metres).

    ``split`` (bool, same grid): bodies are the components of ``mask & split`` and of
    ``mask & ~split`` separately, so a black-odorous reach of a river or a dark arm of a
    pond becomes its own body (the national guidance lists black-odorous water by reach,
    not by whole river). Pass a cleaned mask (``suspect_reaches``), or speckle splits bodies.

    Columns:

    * ``wb_id``: with ``previous`` (earlier bodies, any CRS), a body overlapping a previous
      one keeps its id (greedy one-to-one by IoU; a pair qualifies at IoU >= ``match_min_iou``
      or when the overlap covers ``match_min_overlap`` of the smaller body, so a pond that
      shrank or split keeps its id on its largest part). Other bodies get ``centroid_id``:
      ``wb-<E>-<N>``, the pixel centroid rounded to 10 m, so an unmoved pond gets the same id
      without ``previous``. Ids are unique within the result (``-2``, ``-3`` on collisions).
    * ``area_m2`` = ``n_pixels`` x pixel area (exactly the polygon's area), ``perimeter_m``
      (the polygon's boundary, holes included), ``n_pixels``.
    * ``resolvable``: ``n_pixels >= min_pixels_resolvable`` (9 = a 3x3 block, 900 m2 at 10 m).
      A body's edge pixels are mixed water/land pixels; only a body of at least 3x3 pixels
      has a pure (full-water) interior pixel at all, which both the water mask and any
      water-colour statistic need (on full-pixel requirements for small ponds in Sentinel-2
      see Freitas et al. 2019, Remote Sens. 11(6): 657, doi:10.3390/rs11060657). Smaller
      bodies are kept but should not be reported as findings.
    * ``size_class``: ``"national"`` if ``area_m2 >= national_min_area_m2`` (2,000 m2) else
      ``"provincial"``: the line between water bodies on the national rural black-odorous
      water list and those left to provinces in 生态环境部《农村黑臭水体治理工作指南》
      (Ministry of Ecology and Environment, Guidelines for rural black and odorous water
      treatment).
    * ``mean_<name>`` for each variable of ``indices`` (mean of its finite values over the
      body), ``valid_obs`` from ``valid_count`` (the fewest valid observations of any of the
      body's pixels: a conservative count), then ``geometry``.

    Labelling and vectorising need the whole raster: Dask inputs are computed.
    """
    mask = as_2d(mask2d, "water_bodies mask")
    transform = transform_of(mask, "water_bodies mask")
    crs = mask.rio.crs
    pix = pixel_area_m2(mask, "water_bodies mask")
    m = np.asarray(mask.values)
    if m.dtype != bool:
        m = np.nan_to_num(m.astype(np.float64), nan=0.0) != 0
    if split is None:
        labels, n = label(m)
    else:
        sp = np.asarray(as_2d(split, "water_bodies split").values)
        if sp.shape != m.shape:
            raise IndicesError(f"split mask has shape {sp.shape}, the water mask {m.shape}")
        sp = np.nan_to_num(sp.astype(np.float64), nan=0.0) != 0
        inside, n_in = label(m & sp)
        outside, n_out = label(m & ~sp)
        labels = np.where(outside > 0, outside + n_in, inside)
        n = n_in + n_out
    shape = labels.shape

    def grid_values(da: xr.DataArray, what: str) -> np.ndarray:
        a = as_2d(da, what)
        if a.shape != shape:
            raise IndicesError(f"{what} has shape {a.shape}, the water mask {shape}")
        return np.asarray(a.values)

    extra: dict[str, np.ndarray] = {}
    if indices is not None:
        for name in indices.data_vars:
            extra[f"mean_{name}"] = label_means(labels, n, grid_values(indices[name], f"index {name}")) if n else np.array([])
    if valid_count is not None:
        vc = grid_values(valid_count, "valid_count").astype(np.float64)
        extra["valid_obs"] = label_mins(labels, n, vc).astype(np.int64) if n else np.array([], dtype=np.int64)

    columns = COLUMNS + list(extra)
    if n == 0:
        empty = {c: pd.Series([], dtype=object if c in ("wb_id", "size_class") else float) for c in columns}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs), crs=crs)

    counts, _ = label_sums(labels, n)
    geoms_by_label = polygons(labels, transform)
    geoms = gpd.GeoSeries([geoms_by_label[k] for k in range(1, n + 1)], crs=crs)
    cx, cy = centroids(labels, n, transform)

    kept: dict[int, str] = {}
    if previous is not None and len(previous):
        prev = previous
        if prev.crs is not None and crs is not None and prev.crs != crs:
            prev = prev.to_crs(crs)
        kept = _match_previous(geoms, prev, match_min_iou, match_min_overlap)

    ids: list[str] = [""] * n
    taken = set(kept.values())
    for i, pid in kept.items():
        ids[i] = pid
    # new ids in a deterministic order (largest first, then by position)
    order = sorted((i for i in range(n) if i not in kept), key=lambda i: (-counts[i], -cy[i], cx[i]))
    for i in order:
        base = centroid_id(cx[i], cy[i])
        wid, k = base, 1
        while wid in taken:
            k += 1
            wid = f"{base}-{k}"
        ids[i] = wid
        taken.add(wid)

    area = counts.astype(np.float64) * pix
    data = {
        "wb_id": ids,
        "area_m2": area,
        "perimeter_m": geoms.length.to_numpy(),
        "n_pixels": counts.astype(np.int64),
        "resolvable": counts >= int(min_pixels_resolvable),
        "size_class": np.where(area >= float(national_min_area_m2), "national", "provincial"),
        **extra,
    }
    gdf = gpd.GeoDataFrame(data, geometry=geoms.values, crs=crs)
    gdf = gdf.sort_values("wb_id", kind="stable").reset_index(drop=True)
    gdf.attrs.update({"min_pixels_resolvable": int(min_pixels_resolvable),
                      "national_min_area_m2": float(national_min_area_m2), "pixel_area_m2": pix})
    return gdf


def suspect_reaches(is_suspect: xr.DataArray, water: xr.DataArray, *, min_pixels: int = 9,
                    core: xr.DataArray | None = None, min_core_pixels: int = 0,
                    whole_body_share: float | None = None) -> xr.DataArray:
    """The suspect pixels (``is_suspect``, e.g. ``black_odorous_pixels(...)["is_suspect"]``)
    inside ``water`` that form 8-connected groups of at least ``min_pixels`` (9 = a 3x3 block,
    the smallest group with a pure interior pixel; see ``water_bodies``' ``resolvable``),
    with one-pixel gaps closed first (binary closing, 3x3): the ``split`` mask for
    ``water_bodies``, so a black-odorous reach becomes its own water body. With ``core`` (e.g.
    the water mask, when ``water`` also holds mixed pixels the black-odorous screening added:
    ``indices.mixedwater``) a reach also needs ``min_core_pixels`` suspect pixels inside
    ``core``: a rim of mixed pixels alone (a pond's shaded or muddy edge) is no reach.
    With ``whole_body_share``, where a reach lies in an 8-connected water body whose suspect
    pixels are at least that share of its pixels, the reach takes the whole body: the split is
    for a black-odorous minority (a ditch joined to an ordinary pond or river), while a pond
    that is mostly suspect is one black-odorous water body, listed whole (the rural guideline
    lists water bodies, and its national list goes by the body's area), its unflagged edge
    pixels included. The share counts suspect pixels, not the reach the closing grew, so a body
    taken whole passes the majority rule of ``classify_water_bodies`` on its own pixels. The
    whole body holds the mixed pixels the screening added, bank included: at a pond beside a
    paddy they put suspect pixels on cropland (``BlackOdorousParams.reach_whole_body_share``,
    off by default, says what was measured).
    Computed (NumPy)."""
    from skimage.morphology import closing

    from .water import _remove_small_objects

    def grid(a, what):
        return np.nan_to_num(np.asarray(as_2d(a, what).values, dtype=np.float64), nan=0.0) != 0

    sus, wat = grid(is_suspect, "is_suspect"), grid(water, "water")
    if sus.shape != wat.shape:
        raise IndicesError(f"is_suspect has shape {sus.shape}, the water mask {wat.shape}")
    grown = _remove_small_objects(closing(sus & wat, np.ones((3, 3), bool)) & wat, int(min_pixels))
    if core is not None and min_core_pixels > 0:
        cor = grid(core, "core")
        if cor.shape != wat.shape:
            raise IndicesError(f"core has shape {cor.shape}, the water mask {wat.shape}")
        labels, n = label(grown)
        seeds = np.bincount(labels.ravel(), weights=(sus & cor).ravel().astype(np.float64), minlength=n + 1)
        keep = seeds >= min_core_pixels
        keep[0] = False
        grown = keep[labels]
    if whole_body_share is not None and grown.any():
        bodies, nb = label(wat)
        size = np.bincount(bodies.ravel(), minlength=nb + 1)
        has_reach = np.bincount(bodies.ravel(), weights=grown.ravel().astype(np.float64), minlength=nb + 1) > 0
        # the share of the body's pixels that are suspect (not of the reach, which the closing grew): a body
        # taken whole then passes classify_water_bodies' majority rule on its own pixels
        n_sus = np.bincount(bodies.ravel(), weights=(sus & wat).ravel().astype(np.float64), minlength=nb + 1)
        whole = has_reach & (n_sus >= whole_body_share * np.maximum(size, 1))
        whole[0] = False
        grown = grown | whole[bodies]
    base = as_2d(water, "water")
    return xr.DataArray(grown, dims=base.dims, coords=base.coords, name="suspect_reach")
