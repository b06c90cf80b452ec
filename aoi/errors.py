"""Errors raised while reading village boundaries."""
from villagewatch import VillagewatchError


class VillageError(VillagewatchError, ValueError):
    """A village registry or boundary file is unusable; the message names file and feature."""


class BoundaryFileError(VillageError):
    """A boundary file cannot be read, lacks a CRS, or has bad geometry."""


class DuplicateVillageError(VillageError):
    """Two features share a village id."""


class MissingCRSError(BoundaryFileError):
    """A boundary file in a format that carries a CRS (GeoPackage, Shapefile) has none."""


class EmptyGeometryError(BoundaryFileError):
    """A feature has no geometry, or an empty one, or the file has no features."""


class GeometryTypeError(BoundaryFileError):
    """A feature's geometry is not a Polygon or MultiPolygon (a point, a line, ...)."""


class OutsideChinaError(BoundaryFileError):
    """A Chinese village's boundary lies outside China's bounding box (or is not lon/lat at all)."""


class VillagePropertyError(VillageError):
    """A registry feature lacks a required property or has a bad value (pilot_type, focus, ...)."""


class UnsafeVillageIdError(VillagePropertyError):
    """A village id is not an ASCII slug safe as a folder name (e.g. ``../x``)."""


class UnknownVillageError(VillageError):
    """A requested village id is not in the registry; the message lists the known ids."""


class BoundaryOptionError(VillageError):
    """A ``--boundary ID=PATH`` option is malformed or names a missing file."""


class BoundaryRepairedWarning(UserWarning):
    """An invalid boundary (self-intersection, ...) was repaired with ``shapely.make_valid``;
    the message names file and feature."""


class CRSOptionError(BoundaryOptionError):
    """A ``crs`` / ``--boundary-crs`` value is neither GCJ-02 nor a CRS pyproj knows; the
    message names the valid values."""


class BoundaryCRSError(BoundaryFileError):
    """A boundary file's declared CRS contradicts the ``crs`` asked for (a projected file read
    as GCJ-02, a GeoPackage declaring one CRS read as another)."""
