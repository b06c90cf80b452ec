"""Visible-only water (what an RGB drone could use): candidate rules measured on the Itaipu
Landsat-8 scene's labels and on the demo drone, and refused where they miss turbid and
black-odorous water (docs/validation.md "Visible-only water")."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params

from .common import DEMO_SEED, DRONE_VISIBLE_IOU_TARGET, LABELLED_WATER_F1_TARGET, conf_detail, need_file
from .metrics import Confusion, confusion
from .report import Metric

ITAIPU = "landsat8_itaipu_rgb"
ITAIPU_STEM = "LC08_L1TP_224078_20200518_20200518_01_RT"
#: Landsat 8 Collection 1 TOA reflectance rescaling (every reflective band): rho' = DN x 2e-5 - 0.1
L8_REFL_MULT, L8_REFL_ADD = 2.0e-5, -0.1


def _green_red_index(green: np.ndarray, red: np.ndarray, like: xr.DataArray, name: str) -> xr.DataArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (green - red) / (green + red)
    v = np.where(np.isfinite(v), v, np.nan).astype(np.float32)
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": like["y"], "x": like["x"]}, name=name)
    return da.rio.write_crs(like.rio.crs)


def dark_object_subtraction(bands: dict[str, np.ndarray], percentile: float = 0.0) -> dict[str, np.ndarray]:
    """Image-based atmospheric correction by dark-object subtraction (DOS; Chavez 1988, Remote
    Sens. Environ. 24(3): 459-479, doi:10.1016/0034-4257(88)90019-3): from each band, subtract
    its darkest valid value (``percentile`` 0; a small percentile guards against noisy dark
    pixels), taken as the path radiance that a zero-reflectance object would show. Turns top-of-
    atmosphere reflectance into an approximate surface reflectance, which the Scene contract
    promises and visible colour rules need: Rayleigh path radiance raises blue over everything."""
    out = {}
    for k, v in bands.items():
        dark = np.nanmin(v) if percentile == 0 else np.nanpercentile(v, percentile)
        out[k] = v - dark
    return out


def _visible_scene(bands: dict[str, np.ndarray], like: xr.DataArray) -> xr.Dataset:
    return xr.Dataset({k: (("y", "x"), np.asarray(v, dtype=np.float32)) for k, v in bands.items()},
                      coords={"y": like["y"], "x": like["x"]}).rio.write_crs(like.rio.crs)


def _hsv_value_darkness(scene: xr.Dataset) -> xr.DataArray:
    """-V of HSV (V = max(red, green, blue); Smith 1978, SIGGRAPH 78: 12-19): water as the
    darkest surface, as in the brightness (V) histogram analysis of UAV RGB river images (Remote Sens. 2024,
    Remote Sens. 16(14): 2565) and the minimum-radiance test of Namikawa et al. 2016. No
    published threshold: Otsu only (a non-bimodal histogram calls nothing water)."""
    v = np.maximum(np.maximum(scene["red"], scene["green"]), scene["blue"])
    out = (-v).astype("float32")
    out.name = "hsv_value_darkness"
    return out


#: visible-only water candidates measured here (none is used by the pipeline: see
#: ``indices.water_index_for``): label -> (index function on a blue/green/red Scene, the
#: a-priori threshold used when Otsu's histogram is not bimodal, where that threshold comes from)
VISIBLE_CANDIDATES: dict[str, tuple[Callable[[xr.Dataset], xr.DataArray], float, str]] = {
    "(G-R)/(G+R)": (lambda s: indices.spectral.ngrdi(s), 0.0, "0: green above red (Tucker 1979)"),
    "(B-R)/(B+R)": (lambda s: indices.spectral.blue_red_ndi(s), 0.0, "0: blue above red (-IKAW)"),
    "blue chromatic coordinate": (lambda s: indices.spectral.bcc(s), 1.0 / 3.0, "1/3: bluer than grey"),
    "HSV value (darkness)": (_hsv_value_darkness, float("nan"), "none published: nothing called water"),
}


def _visible_mask(scene: xr.Dataset, label: str, params: Params) -> xr.DataArray:
    """The candidate's water mask, thresholded and cleaned exactly as ``water_mask`` does for
    the pipeline's indices (edge-buffered Otsu -> whole-date Otsu -> the a-priori fallback)."""
    func, fallback, _ = VISIBLE_CANDIDATES[label]
    idx = func(scene)
    init = fallback if math.isfinite(fallback) else float(np.nanmedian(idx.values))
    return indices.water_mask(idx, method=params.water_method, fallback=fallback, initial_threshold=init,
                              min_area_m2=params.water_min_area_m2)


def _thr_text(w: xr.DataArray) -> str:
    thr = w.attrs["threshold"]
    how = w.attrs["threshold_method"]
    return f"threshold {thr:.3f} ({how})" if math.isfinite(thr) else f"no threshold ({how}: histogram not bimodal)"



def itaipu_metrics(realdata: Path, params: Params = Params()) -> list[Metric]:
    """Visible-band water on the labelled Itaipu Landsat-8 samples (F1, accuracy)."""
    import geopandas as gpd
    import rioxarray
    from rasterio.features import rasterize
    from rasterio.transform import rowcol

    folder = realdata / ITAIPU
    da = rioxarray.open_rasterio(need_file(folder / f"{ITAIPU_STEM}_B234_crop.tif"))
    polys = gpd.read_file(need_file(folder / f"{ITAIPU_STEM}_polygons.gpkg")).to_crs(da.rio.crs)
    points = gpd.read_file(need_file(folder / f"{ITAIPU_STEM}_points.gpkg")).to_crs(da.rio.crs)
    dn = da.values.astype(np.float64)
    toa = np.where(dn > 0, dn * L8_REFL_MULT + L8_REFL_ADD, np.nan)
    blue, green, red = toa
    like = da.isel(band=0, drop=True)
    scene = xr.Dataset({"blue": (("y", "x"), blue), "green": (("y", "x"), green), "red": (("y", "x"), red)},
                       coords={"y": like["y"], "x": like["x"]}).rio.write_crs(da.rio.crs)
    refused = ""
    try:
        indices.water_index_for(scene)
    except indices.MissingBandError as exc:
        refused = str(exc)
    transform = da.rio.transform()
    shape = blue.shape
    sample_lab = rasterize([(g, i + 1) for i, g in enumerate(polys.geometry)], out_shape=shape, transform=transform,
                           fill=0, dtype="int32")
    is_water_poly = np.concatenate([[False], (polys["name"] == "water").to_numpy()])
    pix = sample_lab > 0
    truth_pix = is_water_poly[sample_lab][pix]
    rc = [rowcol(transform, p.x, p.y) for p in points.geometry]
    inside = [(r, c) for r, c in rc if 0 <= r < shape[0] and 0 <= c < shape[1]]
    truth_pts = (points["name"] == "water").to_numpy()[[0 <= r < shape[0] and 0 <= c < shape[1] for r, c in rc]]
    n_water = int(truth_pix.sum() + truth_pts.sum())
    samples = (f"{int(pix.sum())} pixels of {len(polys)} labelled polygons + {len(inside)} labelled points "
               f"({n_water} water, {int(pix.sum()) + len(inside) - n_water} other: "
               f"{', '.join(sorted(set(polys['name']) | set(points['name'])))})")
    idx = _green_red_index(green, red, like, "green_red_ndi")
    ds = f"Itaipu Landsat-8 L1TP 2020-05-18, TOA blue/green/red; {samples}"
    out: list[Metric] = []
    for method, label in (("fixed", "(G-R)/(G+R) > 0"), ("otsu", "(G-R)/(G+R) > Otsu")):
        w = indices.water_mask(idx, method=method, fallback=0.0, min_area_m2=params.water_min_area_m2)
        m = w.values
        pred = np.concatenate([m[pix], np.array([m[r, c] for r, c in inside], dtype=bool)])
        truth = np.concatenate([truth_pix, truth_pts])
        c = confusion(pred, truth)
        thr = w.attrs["threshold"]
        meth = (f"visible-band candidate {label} (threshold {thr:.3f}, {w.attrs['threshold_method']}), "
                f"water_mask clean-up; NOT used by the pipeline, which refuses RGB-only water")
        out.append(Metric("real: Itaipu water", f"water F1, {label}", c.f1, LABELLED_WATER_F1_TARGET, ">=", label,
                          ds, meth, conf_detail(c)))
        out.append(Metric("real: Itaipu water", f"water accuracy, {label}", c.accuracy, None, ">=", label, ds, meth,
                          conf_detail(c)))
    truth = np.concatenate([truth_pix, truth_pts])

    def score(m: np.ndarray) -> Confusion:
        return confusion(np.concatenate([m[pix], np.array([m[r, c] for r, c in inside], dtype=bool)]), truth)

    # every visible candidate, on TOA and on dark-object-subtracted (approximate surface) reflectance
    toa_bands = {"blue": blue, "green": green, "red": red}
    for corr, bands in (("TOA", toa_bands), ("DOS", dark_object_subtraction(toa_bands)),
                        ("DOS 1 %", dark_object_subtraction(toa_bands, 1.0))):
        if corr == "DOS 1 %":  # sensitivity of the best candidate to the dark object chosen
            labels = ["(B-R)/(B+R)", "blue chromatic coordinate"]
        elif corr == "TOA":
            labels = [k for k in VISIBLE_CANDIDATES if k != "(G-R)/(G+R)"]  # (G-R)/(G+R) on TOA: rows above
        else:
            labels = list(VISIBLE_CANDIDATES)
        for label in labels:
            w = _visible_mask(_visible_scene(bands, like), label, params)
            c = score(w.values)
            name = f"{label}, {corr}"
            meth = (f"visible candidate {label} on {corr} reflectance, {params.water_method} ({_thr_text(w)}; "
                    f"fallback {VISIBLE_CANDIDATES[label][2]}), water_mask clean-up; NOT used by the pipeline")
            out.append(Metric("real: Itaipu water", f"water F1, {name}", c.f1, LABELLED_WATER_F1_TARGET, ">=", name,
                              ds, meth, conf_detail(c)))
    out.append(Metric("real: Itaipu water", "pipeline refuses visible-only water (1 = refused)", 1.0 if refused else 0.0,
                      1.0, ">=", "pipeline", ds, "indices.water_index_for on a blue/green/red scene",
                      refused[:160]))
    return out



def drone_visible_metrics(villages: Sequence, *, source=None, params: Params = Params()) -> list[Metric]:
    """Visible-only water candidates on the demo's 0.5 m RGB drone orthomosaics (the villages
    of ``villages`` that have a flight) against the drone truth: water IoU, and the share of
    each water type (clear pond, black-odorous, turbid river, algal pond) called water."""
    from sensing.demo import DemoSource

    source = source or DemoSource(seed=DEMO_SEED)
    ds = f"demo seed {source.seed}, 0.5 m RGB drone (reflectance-calibrated)"
    out: list[Metric] = []
    for v in villages:
        scene = source.drone(v)
        if scene is None:
            continue
        s = scene.isel(time=0).compute()
        t = source.drone_truth(v).isel(time=0)
        water = t["water"].values
        lc = t["land_cover"].values
        names = {int(k): n for k, n in t["land_cover"].attrs.get("classes", {}).items()}
        for label in VISIBLE_CANDIDATES:
            w = _visible_mask(s, label, params)
            c = confusion(w.values, water)
            kinds = [f"{names[int(k)]} {w.values[lc == k].mean():.2f}" for k in np.unique(lc[water])]
            out.append(Metric("drone water (visible, demo)", f"water IoU, {label}", c.iou, DRONE_VISIBLE_IOU_TARGET, ">=",
                              f"{v.id} {label}", ds, f"visible candidate {label}, {params.water_method} "
                              f"({_thr_text(w)}), water_mask clean-up; NOT used by the pipeline",
                              f"called water: {', '.join(kinds)}; {conf_detail(c)}"))
    return out


