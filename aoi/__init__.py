"""Where: the pilot villages, their boundaries and analysis grids.

``aoi`` imports none of villagewatch's other packages.
"""
from .errors import (
    BoundaryFileError,
    BoundaryOptionError,
    BoundaryRepairedWarning,
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
from .registry import (
    CHINA_BBOX,
    DEFAULT_REGISTRY,
    default_registry,
    load_villages,
    parse_boundary_option,
    read_boundary,
    slug_from_name,
    village_from_file,
    village_area_km2,
    village_to_feature,
    villages_to_geodataframe,
    with_boundary,
)
from .village import AD_HOC, FOCUS_KINDS, PILOT_TYPES, Village, is_safe_id

__all__ = [
    "Village", "Grid", "grid_for", "utm_epsg", "is_safe_id", "FOCUS_KINDS", "PILOT_TYPES",
    "DEFAULT_REGISTRY", "CHINA_BBOX", "default_registry", "load_villages", "read_boundary",
    "with_boundary", "parse_boundary_option", "villages_to_geodataframe", "village_to_feature",
    "village_area_km2", "village_from_file", "slug_from_name", "AD_HOC",
    "VillageError", "BoundaryFileError", "DuplicateVillageError", "MissingCRSError",
    "EmptyGeometryError", "GeometryTypeError", "OutsideChinaError", "VillagePropertyError",
    "UnsafeVillageIdError", "UnknownVillageError", "BoundaryOptionError", "BoundaryRepairedWarning",
]
