"""NAIP (North Dakota lakes, three dates): water area and index agreement on real RGBN imagery."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

import indices
from flows.params import Params

from .common import AGREEMENT_KAPPA_TARGET, conf_detail
from .metrics import coefficient_of_variation, confusion
from .report import Metric
from .visible import _green_red_index, _thr_text, _visible_mask, _visible_scene, dark_object_subtraction

NAIP = "naip_lakes_north_dakota"


def naip_metrics(realdata: Path, params: Params = Params()) -> list[Metric]:
    """Water area across the three NAIP dates and the agreement of independent thresholds/indices."""
    import rioxarray

    files = sorted((realdata / NAIP).glob("m_4709963_se_14_1_*.tif"))
    if len(files) != 3:
        raise FileNotFoundError(f"{realdata / NAIP} lacks the three NAIP dates (found {len(files)})")
    ds_name = "NAIP North Dakota 5 m R,G,B,NIR (uint8 / 255), 2009-08-18, 2015-09-26, 2019-09-04"
    out: list[Metric] = []
    areas, areas_fixed = [], []
    for f in files:
        date = f.stem.rsplit("_", 1)[-1]
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        da = rioxarray.open_rasterio(f)
        arr = da.values.astype(np.float32) / 255.0
        scene = xr.Dataset({n: (("y", "x"), arr[i]) for i, n in enumerate(("red", "green", "blue", "nir"))},
                           coords={"y": da.y, "x": da.x}).rio.write_crs(da.rio.crs)
        kw = dict(fallback=params.water_fallback_threshold, min_area_m2=params.water_min_area_m2)
        w = indices.water_mask(scene, method=params.water_method, **kw)
        wf = indices.water_mask(scene, method="fixed", **kw)
        vis = indices.water_mask(_green_red_index(arr[1], arr[0], da.isel(band=0, drop=True), "green_red_ndi"),
                                 method="otsu", **kw)
        valid = indices.water_valid(scene).values
        pix = abs(float(da.rio.resolution()[0] * da.rio.resolution()[1]))
        areas.append(float(w.values.sum()) * pix / 1e6)
        areas_fixed.append(float(wf.values.sum()) * pix / 1e6)
        out.append(Metric("real: NAIP water", "water area km2", areas[-1], None, ">=", date, ds_name,
                          f"NDWI {params.water_method} ({w.attrs['threshold_method']} {w.attrs['threshold']:.3f})",
                          f"fixed NDWI > 0: {areas_fixed[-1]:.3f} km2"))
        c = confusion(w.values, wf.values, valid)
        out.append(Metric("real: NAIP water", "kappa NDWI edge-Otsu vs NDWI > 0", c.kappa, AGREEMENT_KAPPA_TARGET, ">=",
                          date, ds_name, "two thresholds of the same index (pipeline vs the published fixed 0)",
                          f"IoU {c.iou:.3f}; {conf_detail(c)}"))
        cv = confusion(w.values, vis.values, valid)
        out.append(Metric("real: NAIP water", "kappa NDWI vs visible (G-R)/(G+R) Otsu", cv.kappa, None, ">=", date,
                          ds_name, "independent index without NIR (candidate the pipeline refuses)",
                          f"IoU {cv.iou:.3f}; {conf_detail(cv)}"))
        like = da.isel(band=0, drop=True)
        dos = dark_object_subtraction({"red": arr[0], "green": arr[1], "blue": arr[2]})
        for label in ("(B-R)/(B+R)", "blue chromatic coordinate"):
            wv = _visible_mask(_visible_scene(dos, like), label, params)
            cb = confusion(w.values, wv.values, valid)
            out.append(Metric("real: NAIP water", f"kappa NDWI vs visible {label}, DOS", cb.kappa, AGREEMENT_KAPPA_TARGET,
                              ">=", date, ds_name, f"visible candidate on dark-object-subtracted RGB, "
                              f"{params.water_method} ({_thr_text(wv)}), vs the pipeline's NDWI mask",
                              f"IoU {cb.iou:.3f}; {conf_detail(cb)}"))
    out.append(Metric("real: NAIP water", "water area coefficient of variation", coefficient_of_variation(areas),
                      None, "<=", "3 dates", ds_name, "std/mean of the pipeline's water area over the 3 dates",
                      f"areas {', '.join(f'{a:.3f}' for a in areas)} km2; with NDWI > 0: CV "
                      f"{coefficient_of_variation(areas_fixed):.3f}"))
    ratio_p = areas[1] / areas[0] if areas[0] else float("nan")
    ratio_f = areas_fixed[1] / areas_fixed[0] if areas_fixed[0] else float("nan")
    out.append(Metric("real: NAIP water", "2009->2015 area ratio, edge-Otsu / fixed", ratio_p / ratio_f, None, ">=",
                      "3 dates", ds_name, "does the area change depend on the threshold? 1 = both thresholds "
                      "see the same relative change", f"edge-Otsu x{ratio_p:.2f}, fixed x{ratio_f:.2f}"))
    return out


