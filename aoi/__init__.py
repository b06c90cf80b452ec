"""Where: the pilot villages, their boundaries and analysis grids.

``aoi`` imports none of villagewatch's other packages.
"""
from .errors import BoundaryFileError, DuplicateVillageError, VillageError
from .grid import Grid, grid_for, utm_epsg
from .village import FOCUS_KINDS, PILOT_TYPES, Village, is_safe_id

__all__ = [
    "Village", "Grid", "grid_for", "utm_epsg", "is_safe_id", "FOCUS_KINDS", "PILOT_TYPES",
    "VillageError", "BoundaryFileError", "DuplicateVillageError",
]
