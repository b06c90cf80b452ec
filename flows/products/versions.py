"""Versions of the software that made a product (recorded in manifests)."""
from __future__ import annotations

import functools
from importlib import metadata


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    out = {}
    for dist in ("villagewatch", "numpy", "xarray", "dask", "rasterio", "rioxarray", "geopandas",
                 "shapely", "scikit-image", "odc-stac", "pystac-client", "prefect"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    import rasterio

    out["gdal"] = rasterio.__gdal_version__
    return out
