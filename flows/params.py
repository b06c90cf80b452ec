"""Processing parameters: every threshold the flow uses, with its published default.

The defaults live in the ``indices`` functions' signatures (each docstring cites its
source); ``Params`` only collects them so that a run's manifest records exactly what was used.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from indices import BlackOdorousParams, SeasonalChangeParams

#: bumped whenever an algorithm changes what it writes (part of every cache key)
ALGORITHM_VERSION = "14"  # 2: suspect reaches split water bodies; water change at the change minimum; new suspects by overlap
# 3: water fallback by MNDWI/NDWI agreement, AWEI at 0, clean-up scaled with the pixel size
# 4: black-odorous methods vote independently (indices.BlackOdorousParams, passed from the run)
# 5: suspects carry their persistence (persistent / watch, the dates that voted) from the earlier dates' products
# 6: relative (uncalibrated) imagery: no EVI/SAVI/AWEI, a water mask only from a bimodal Otsu threshold
#    (never the fixed 0 fallback); an alpha band flagged by colour interpretation alone is applied
# 7: every date writes true_colour.tif (stretched red, green, blue; flows.products.truecolour);
#    Params.geojson_crs (GeoJSON in CGCS2000 on request)
# 8: black-odorous screening on the water mask plus the mixed pixels joined to it, their colour unmixed
#    (indices.mixed_water; bodies and share_mixed change), suspect reaches need a suspect pixel of the mask,
#    the bright type off by default (NIR/R >= 0.4 when on): set on the demo's tuning profile (issue #12)
# 9: black-odorous cast-shadow guard (indices.castshadow: the sun's geometry puts a house's or tree's shadow
#    between a sunward shore and sunlit water), darkness < 0.04 and purity < 0.25 (the test bed's selection
#    rule re-run with the bright type off): set on the demo's tuning profile (issue #12, round 3)
# 10: float COGs DEFLATE level 1 with the floating-point predictor (flows.products.rasters): same values, other bytes
# 11: change against the same season (issue #13: baseline, alerts with candidate/confirmed status, monthly
#     clear-sky composites), land-cover aware; the farmland watch is an alert kind
# 12: land cover "unknown" (255) where the history has < 12 clear observations and the phenology found neither
#     cropland, forest nor water (SeasonalChangeParams.phenology_min_obs, CCDC's minimum); vegetation loss is not
#     assessed there (issue #13 round 3: set on the development profile's transplanting windows)
# 13: every date manifest and suspect records two new black-odorous parameters, both off by default (the same
#     suspects as 11): reach_whole_body_share (a reach takes its mostly-suspect water body whole) and
#     mixed_seed_fraction (NIR seeds for water the mask missed whole); measured on the demo's tuning profile
#     (issue #12, round 4)
# 14: cropland's edge pixels (indices.cropedge): within 1 px of phenology cropland, peak >= 0.4, amplitude >= 0.2
#     and NDVI correlated (r >= 0.7) with that cropland's are cropland (SeasonalChangeParams.crop_edge_*): the mixed
#     pixels at paddy borders and cloud-hidden troughs (issue #13 round 4: set on the demo's tuning profile)
#: the CRSs GeoJSON products can be written in (Params.geojson_crs)
GEOJSON_CRSS = ("EPSG:4326", "EPSG:4490")


@dataclass(frozen=True)
class Params:
    """Thresholds and options of one run (all recorded in each manifest)."""

    water_method: str = "edge_otsu"  # edge-buffered Otsu (Donchyts et al. 2016), then whole-date Otsu
    # no bimodal histogram: water where MNDWI > 0 and NDWI > 0 agree (indices.water, measured in
    # docs/validation.md, "Water on real labelled scenes"); "fixed" = the index > water_fallback_threshold alone
    water_fallback_rule: str = "agreement"
    water_fallback_threshold: float = 0.0  # MNDWI/NDWI = 0 (McFeeters 1996; Xu 2006)
    water_min_area_m2: float = 400.0  # minimum mapping unit: 4 Sentinel-2 pixels ...
    water_min_pixels: int = 2  # ... and never under 2 pixels (400 m2 is less than one 30 m pixel)
    # opening by the widest square not wider than 1.5 m: 3x3 at 0.5 m, none at 5-30 m, where a 3x3
    # opening would delete every channel narrower than 3 pixels (rural black-odorous water is
    # mostly 10-20 m ditches; at 30 m every river under 90 m)
    water_opening_width_m: float = 1.5
    #: every black-odorous threshold (methods, votes, guards, body and reach rules; sources in
    #: ``indices.BlackOdorousParams``), passed to the classifier and recorded in each manifest
    black_odorous: BlackOdorousParams = field(default_factory=BlackOdorousParams)
    #: the seasonal change and its alerts (baseline, anomalies, land cover, confirmation; sources
    #: in ``indices.SeasonalChangeParams``)
    change: SeasonalChangeParams = field(default_factory=SeasonalChangeParams)
    #: a suspect is persistent when >= persistence_min_flags of its last persistence_window clear
    #: observations flag it, else watch (indices.persistence); the earlier dates are read from their
    #: written water bodies, up to persistence_lookback dates back (all of them are in the date's key)
    persistence_window: int = 3
    persistence_min_flags: int = 2
    persistence_lookback: int = 12
    ndvi_change_threshold: float = 0.2  # |dNDVI| >= 0.2 counts as loss / gain (extra streams' date pairs)
    change_min_area_m2: float = 1000.0  # change and alert polygons smaller than this are dropped
    vegetation_threshold: float = 0.3  # NDVI >= 0.3 is vegetated
    dense_canopy_threshold: float = 0.6  # NDVI >= 0.6 is dense canopy
    min_valid_fraction: float = 0.2  # dates with less valid AOI are not processed
    #: CRS of every GeoJSON product: EPSG:4326 (RFC 7946, the default) or, on request, EPSG:4490
    #: (CGCS2000, China's official datum: same numbers, PROJ applies no shift; aoi.chinacrs)
    geojson_crs: str = "EPSG:4326"

    def __post_init__(self) -> None:
        if self.geojson_crs not in GEOJSON_CRSS:
            raise ValueError(f"geojson_crs must be one of {', '.join(GEOJSON_CRSS)}, got {self.geojson_crs!r}")

    def water_kwargs(self) -> dict:
        """Keyword arguments of ``indices.water_mask`` for this run."""
        return {"method": self.water_method, "fallback_rule": self.water_fallback_rule,
                "fallback": self.water_fallback_threshold, "min_area_m2": self.water_min_area_m2,
                "min_pixels": self.water_min_pixels, "opening_width_m": self.water_opening_width_m}

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["black_odorous"] = self.black_odorous.as_dict()
        d["change"] = self.change.as_dict()
        return {**d, "algorithm_version": ALGORITHM_VERSION}
