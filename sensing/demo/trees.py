"""The demo's ancient-tree registry (一树一码), placed on the village's layout."""
from __future__ import annotations

import numpy as np
import shapely
from shapely.ops import unary_union

from aoi import Village


def demo_trees(source, village: Village):
    """A demo ancient-tree registry (一树一码), clearly marked demo (codes ``DEMO-<village>-NNN``,
    ``demo: True``): 001 inside the planted forest clearing (its canopy NDVI falls after
    ``truth().attrs["planted"]["vegetation_loss"]``: the watch must alert), 002 in stable forest away from
    every feature (no alert), 003 a village tree (风水树) in the main settlement. Points in
    EPSG:4326 with ``code``, ``species``, ``name_zh``, ``age_years``, ``demo``, ``placement``."""
    import geopandas as gpd
    from shapely.geometry import Point

    lay = source.layout(village)
    cleared = lay.feature("cleared_patch").geometry
    pts = [(cleared.buffer(-25.0).representative_point(), "Cinnamomum camphora", "樟树（演示）", 320,
            "in the planted forest clearing")]
    left, bottom, right, top = lay.extent
    xs, ys = np.meshgrid(np.arange(left + 100, right - 100, 20.0), np.arange(bottom + 100, top - 100, 20.0))
    xs, ys = xs.ravel(), ys.ravel()
    t = lay.terrain(xs, ys)
    feats = unary_union([f.geometry for f in lay.features]).buffer(60.0)
    ok = (t > lay.forest_threshold + 0.1) & ~shapely.contains_xy(feats, xs, ys)
    local = shapely.ops.transform(_to_grid(source, village), village.geometry)
    inside = ok & shapely.contains_xy(local, xs, ys)
    pick = inside if inside.any() else ok
    if pick.any():
        i = int(np.flatnonzero(pick)[np.argmax(t[pick])])
        pts.append((Point(xs[i], ys[i]), "Castanopsis fissa", "黧蒴锥（演示）", 150, "in stable forest"))
    main = lay.feature("settlement_0").geometry
    pts.append((main.buffer(-20.0).representative_point() if main.buffer(-20.0).area > 0 else main.centroid,
                "Ficus microcarpa", "榕树（演示）", 210, "village tree in the main settlement"))
    gdf = gpd.GeoDataFrame(
        {"code": [f"DEMO-{village.id}-{k + 1:03d}" for k in range(len(pts))],
         "species": [p[1] for p in pts], "name_zh": [p[2] for p in pts], "age_years": [p[3] for p in pts],
         "demo": [True] * len(pts), "placement": [p[4] for p in pts]},
        geometry=[p[0] for p in pts], crs=lay.crs)
    return gdf.to_crs("EPSG:4326")

def _to_grid(source, village: Village):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", source.grid(village).crs, always_xy=True).transform
