"""indices: what the imagery means. Pure functions on the Scene contract (an xarray Dataset of
surface-reflectance bands named by eo:common_name), lazy under Dask where they are per pixel.
Imports neither ``aoi`` nor ``sensing``.
"""
from .blackodorous import (
    ALL_METHODS,
    DEFAULT_PARAMS,
    BlackOdorousParams,
    black_odorous_pixels,
    boi,
    boi_flag,
    brightness,
    cie_dominant_wavelength,
    cie_flag,
    cie_purity,
    darkness,
    green_red_ratio,
    ndbwi,
    ndbwi_flag,
    nir_share,
    params_of,
    scene_matrix,
    shadow_flag,
    to_rrs,
)
from .alerts import (
    KINDS as ALERT_KINDS,
    LAND_COVER,
    STATUS_NAMES,
    SeasonalChangeParams,
    alert_polygons,
    alert_status,
    cropland_water_status,
    polygon_pixels,
    polygon_share,
    land_cover_from_history,
    seasonal_anomalies,
)
from .change import change_polygons, median_composite, ndvi_change, water_change
from .errors import IndicesError, MissingBandError, UncalibratedError
from .spectral import (
    INDICES,
    IndexSpec,
    awei_nsh,
    awei_sh,
    bsi,
    chromatic_coordinates,
    compute_indices,
    evi,
    exg,
    mndwi,
    ndbi,
    ndre,
    ndvi,
    ndwi,
    nir_band,
    savi,
    vari,
)
from .castshadow import cast_shadow_strips, guard_cast_shadows, guard_scene_cast_shadows, scene_sun, solar_position
from .mixedwater import UNMIXED_BANDS, mixed_water
from .persistence import PERSISTENT, WATCH, suspect_persistence
from .screening import classify_water_bodies
from .seasonal import harmonic_fit, harmonic_predict, season_members, season_summary
from .units import ABSOLUTE_PRODUCTS, reflectance_units, require_reflectance
from .validity import BLACK_ODOROUS_BANDS, PRODUCT_INPUTS, product_bands, product_valid, valid_for
from .vegetation import dense_canopy_share, forest_quality, fractional_vegetation_cover, vegetation_cover
from .watches import (
    FARMLAND_CLASSES,
    ancient_tree_watch,
    cropland_from_ndvi_series,
    farmland_conversion,
    farmland_conversion_classes,
)
from .water import (
    AGREEMENT_INDICES,
    FALLBACK_RULES,
    FIXED_BY_DEFINITION,
    FIXED_THRESHOLDS,
    ThresholdResult,
    agreement_water,
    area_pixels,
    edge_buffered_otsu,
    opening_radius_for,
    otsu_threshold,
    water_index_for,
    water_mask,
    water_valid,
)
from .waterbodies import centroid_id, suspect_reaches, water_bodies

__all__ = [
    # errors
    "IndicesError", "MissingBandError", "UncalibratedError",
    # inputs: per-product validity, reflectance units
    "valid_for", "product_valid", "product_bands", "PRODUCT_INPUTS", "BLACK_ODOROUS_BANDS",
    "require_reflectance", "reflectance_units", "ABSOLUTE_PRODUCTS",
    # spectral indices
    "INDICES", "IndexSpec", "compute_indices", "nir_band", "chromatic_coordinates",
    "ndvi", "evi", "savi", "ndre", "ndwi", "mndwi", "awei_nsh", "awei_sh", "exg", "vari", "ndbi", "bsi",
    # water
    "FIXED_THRESHOLDS", "FIXED_BY_DEFINITION", "FALLBACK_RULES", "AGREEMENT_INDICES", "ThresholdResult",
    "otsu_threshold", "edge_buffered_otsu", "water_index_for", "agreement_water", "opening_radius_for", "area_pixels",
    "water_mask", "water_valid", "water_bodies", "suspect_reaches", "centroid_id",
    # vegetation
    "vegetation_cover", "dense_canopy_share", "fractional_vegetation_cover", "forest_quality",
    # change and watches
    "ndvi_change", "water_change", "median_composite", "change_polygons",
    "ancient_tree_watch", "farmland_conversion", "farmland_conversion_classes", "cropland_from_ndvi_series",
    "FARMLAND_CLASSES",
    # change against the same season, alerts with candidate / confirmed status
    "SeasonalChangeParams", "season_summary", "season_members", "harmonic_fit", "harmonic_predict",
    "land_cover_from_history", "seasonal_anomalies", "alert_status", "alert_polygons", "ALERT_KINDS",
    "cropland_water_status", "polygon_share", "polygon_pixels",
    "LAND_COVER", "STATUS_NAMES",
    # black-odorous water: per-pixel methods, votes and guards; per-body verdict (indices.screening)
    "BlackOdorousParams", "DEFAULT_PARAMS", "ALL_METHODS", "black_odorous_pixels", "classify_water_bodies",
    "mixed_water", "UNMIXED_BANDS",
    "cast_shadow_strips", "guard_cast_shadows", "guard_scene_cast_shadows", "scene_sun", "solar_position",
    "suspect_persistence", "PERSISTENT", "WATCH",
    "params_of", "scene_matrix", "to_rrs", "boi", "boi_flag", "ndbwi", "ndbwi_flag", "green_red_ratio",
    "cie_purity", "cie_dominant_wavelength", "cie_flag", "brightness", "darkness", "nir_share", "shadow_flag",
]
