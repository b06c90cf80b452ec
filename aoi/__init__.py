"""Where: the pilot villages, their boundaries and analysis grids.

``aoi`` imports none of villagewatch's other packages.
"""
from .admin_codes import check_admin_code, county_codes
from .chinacrs import gcj02_to_wgs84, gcj02_to_wgs84_geometry, parse_crs_option, to_cgcs2000, wgs84_to_gcj02
from .errors import (
    BoundaryCRSError,
    BoundaryFileError,
    BoundaryOptionError,
    BoundaryRepairedWarning,
    CRSOptionError,
    DuplicateVillageError,
    EmptyGeometryError,
    GeometryTypeError,
    MissingCRSError,
    OutsideChinaError,
    UnknownVillageError,
    UnsafeVillageIdError,
    VillageError,
    VillagePropertyError,
)
from .grid import Grid, grid_for, utm_epsg
from .boundaries import (
    CHINA_BBOX,
    parse_boundary_option,
    read_boundary,
    slug_from_name,
    village_area_km2,
    village_from_file,
    with_boundary,
)
from .registry import (
    DEFAULT_REGISTRY,
    default_registry,
    load_villages,
    select_villages,
    village_to_feature,
    villages_to_geodataframe,
)
from .village import AD_HOC, FOCUS_KINDS, PILOT_TYPES, Village, is_safe_id

__all__ = [
    "Village", "Grid", "grid_for", "utm_epsg", "is_safe_id", "FOCUS_KINDS", "PILOT_TYPES",
    "DEFAULT_REGISTRY", "CHINA_BBOX", "default_registry", "load_villages", "select_villages", "read_boundary",
    "with_boundary", "parse_boundary_option", "villages_to_geodataframe", "village_to_feature",
    "village_area_km2", "village_from_file", "slug_from_name", "AD_HOC", "check_admin_code", "county_codes",
    "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_wgs84_geometry", "parse_crs_option", "to_cgcs2000",
    "VillageError", "BoundaryFileError", "DuplicateVillageError", "MissingCRSError",
    "EmptyGeometryError", "GeometryTypeError", "OutsideChinaError", "VillagePropertyError",
    "UnsafeVillageIdError", "UnknownVillageError", "BoundaryOptionError", "BoundaryRepairedWarning",
    "CRSOptionError", "BoundaryCRSError",
]
