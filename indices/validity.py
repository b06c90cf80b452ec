"""Where a product is valid: where the bands *it* uses are valid, not every band of the scene.

A band's own nodata (Landsat SWIR2's wider fill, a drone's missing red-edge strip) must not
blank products that never read that band: an MNDWI water mask (green, SWIR1) stays valid
where only SWIR2 is missing. ``valid_for(scene_t, bands)`` is the per-pixel rule;
``product_bands`` says which bands each product reads: the spectral indices from
``indices.spectral.INDICES``, the water products from the water index they are built on
(``indices.water.water_index_for``, or the one given), the black-odorous products from that
index plus blue, green and red (``indices.blackodorous``), vegetation figures from NDVI.
``"nir"`` stands for ``nir`` or ``nir08`` throughout (``indices.spectral.nir_band``).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import xarray as xr

from .errors import IndicesError, MissingBandError
from .spectral import INDICES, _resolve

#: the visible bands the black-odorous indices read (BOI, NDBWI, green/red ratio, CIE colour)
BLACK_ODOROUS_BANDS: tuple[str, ...] = ("blue", "green", "red")

#: products that are not a spectral index -> what they are made of: ``"water"`` (the water
#: index's bands), ``"black_odorous"`` (the water index's bands and blue, green, red), or an
#: index name of ``INDICES`` (its bands)
PRODUCT_INPUTS: Mapping[str, str] = MappingProxyType({
    "water_mask": "water", "water_bodies": "water", "water_change": "water", "water_area_m2": "water",
    "black_odorous": "black_odorous", "black_odorous_suspects": "black_odorous",
    "new_black_odorous_suspects": "black_odorous",
    "vegetation_cover": "ndvi", "dense_canopy_share": "ndvi", "ndvi_change": "ndvi",
    "vegetation_change": "ndvi", "ancient_trees": "ndvi", "farmland_conversion": "ndvi", "forest_quality": "ndvi",
})


def product_bands(product: str, scene: xr.Dataset | None = None, *, water_index: str | None = None) -> tuple[str, ...]:
    """The bands ``product`` reads (``"nir"`` = ``nir`` or ``nir08``).

    Spectral indices: their ``INDICES`` bands. Water and black-odorous products: the bands of
    ``water_index`` (default: ``water_index_for(scene)``, so ``scene`` is needed then).
    Unknown names are an ``IndicesError`` listing the known ones."""
    if product in INDICES:
        return INDICES[product].bands
    kind = PRODUCT_INPUTS.get(product)
    if kind is None:
        raise IndicesError(f"unknown product {product!r}; known: {', '.join([*INDICES, *PRODUCT_INPUTS])}")
    if kind in INDICES:
        return INDICES[kind].bands
    if water_index is None:
        if scene is None:
            raise IndicesError(f"{product}: give the scene or water_index to know which water index it uses")
        from .water import water_index_for

        water_index = water_index_for(scene)
    if water_index not in INDICES:
        raise IndicesError(f"{product}: unknown water index {water_index!r}; known: {', '.join(INDICES)}")
    bands = INDICES[water_index].bands
    if kind == "black_odorous":
        bands = tuple(dict.fromkeys((*bands, *BLACK_ODOROUS_BANDS)))
    return bands


def valid_for(scene_t: xr.Dataset, bands: Sequence[str]) -> xr.DataArray:
    """True where every one of ``bands`` is finite (lazy; dims of the bands). ``"nir"`` is
    ``nir`` or ``nir08``; a band the scene lacks is a ``MissingBandError``."""
    if isinstance(bands, str):
        bands = (bands,)
    if not bands:
        raise IndicesError("valid_for needs at least one band")
    names = []
    for b in bands:
        r = _resolve(scene_t, b)
        if r is None:
            raise MissingBandError("valid_for", [b], [str(n) for n in scene_t.data_vars])
        names.append(r)
    ok = None
    for n in dict.fromkeys(names):
        fin = np.isfinite(scene_t[n])
        ok = fin if ok is None else ok & fin
    ok.name = "valid"
    ok.attrs = {"long_name": f"finite in {', '.join(dict.fromkeys(names))}", "bands": list(dict.fromkeys(names))}
    return ok


def product_valid(scene_t: xr.Dataset, product: str, *, water_index: str | None = None) -> xr.DataArray:
    """``valid_for(scene_t, product_bands(product, scene_t, water_index=...))``."""
    return valid_for(scene_t, product_bands(product, scene_t, water_index=water_index))
