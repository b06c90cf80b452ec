"""Errors raised while reading village boundaries."""


class VillageError(ValueError):
    """A village registry or boundary file is unusable; the message names file and feature."""


class BoundaryFileError(VillageError):
    """A boundary file cannot be read, lacks a CRS, or has bad geometry."""


class DuplicateVillageError(VillageError):
    """Two features share a village id."""
