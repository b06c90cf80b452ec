"""Errors of ``flows``: everything beneath :class:`FlowsError`, itself a ``VillagewatchError``.

Where an error is also a built-in kind (a bad value, a missing file, a lost connection) it
derives from that too, so callers that catch ``ValueError`` or ``FileNotFoundError`` still do.
"""
from __future__ import annotations

from villagewatch import VillagewatchError


class FlowsError(VillagewatchError):
    """Base class of the errors raised while planning, running, writing or publishing a night."""


class ConfigurationError(FlowsError, ValueError):
    """A run option or environment setting is unusable (an unknown source kind, a bad
    ``VILLAGEWATCH_DASK_TIMEOUT``, an unknown option); the message names it."""


class UnsafeNameError(FlowsError, ValueError):
    """A village id, date or stream name that would not be a single safe folder name
    (``../x``, ``/etc``, ``2024-13-45``): refused before any path is made from it."""


class BoundaryCheckError(FlowsError, ValueError):
    """A village boundary is empty, has no area, or is far larger than a village."""


class ProductMissingError(FlowsError, FileNotFoundError):
    """A product a step reads (an earlier date's water bodies, a date's NDVI) is not in the
    output folder; the message names the file and the step that needed it."""


class ProductWriteError(FlowsError, ValueError):
    """A product that cannot be written as asked (a raster without a CRS, a 3-D layer for a
    2-D COG, vectors without a CRS); the message names the product."""


class TreeRegistryError(FlowsError, ValueError):
    """A tree registry file that cannot be used; the message names the file and the feature."""


class OutputBusyError(FlowsError, RuntimeError):
    """Another run holds the output folder's lock: two runs on one folder would remove each
    other's temporaries and race on the same final names."""


class DaskClusterUnavailableError(FlowsError, ConnectionError):
    """The Dask scheduler named by ``--dask-address`` cannot be reached (or the address is no
    scheduler address): nothing can be computed, so the night stops before any village."""


class FieldCheckError(FlowsError, ValueError):
    """A field-check sheet or register that cannot be used (``villagewatch verify``): the message
    names the file, the row and column, the value and what was expected. Nothing is imported."""


class FieldSheetError(FieldCheckError):
    """A filled field-check sheet with an unknown id, an impossible value, a wrong unit, a
    missing field, or rows of another village or date than the one it is imported for."""


class RegisterError(FieldCheckError):
    """A village's field-check register (``<village>/fieldcheck/register.json``) that cannot be
    read: it is left as it is, and nothing is imported until it is repaired."""
