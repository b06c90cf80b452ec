"""The root of villagewatch's own names: the exception every package's errors derive from.

Imports nothing, so every package may import it (``aoi``, ``sensing``, ``indices``, ``flows``);
``docs/architecture.md`` lists each package's errors beneath it.
"""
from __future__ import annotations

__all__ = ["VillagewatchError"]


class VillagewatchError(Exception):
    """Anything villagewatch raises on purpose: bad input, missing data, an unreachable source,
    a busy output folder. The CLI prints one line for any of them and exits with code 2."""
