"""Build a ``sensing`` source from command-line style options (the CLI and Python share this)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sensing.base import Source

SOURCE_KINDS = ("demo", "stac", "files")


def build_source(kind: str, **options: Any) -> Source:
    """``build_source("demo", seed=1)``, ``build_source("stac", url="earth-search", ...)``,
    ``build_source("files", paths="DIR", band_map=...)``; unknown options are a clear error."""
    options = {k: v for k, v in options.items() if v is not None}
    if kind == "demo":
        from sensing.demo import DemoSource

        return DemoSource(**options)
    if kind == "stac":
        from sensing.stac import StacSource

        return StacSource(**options)
    if kind == "files":
        from sensing.files import FilesSource

        if "paths" in options and isinstance(options["paths"], (str, Path)):
            options["paths"] = Path(options["paths"])
        return FilesSource(**options)
    raise ValueError(f"unknown source {kind!r}; choose one of {', '.join(SOURCE_KINDS)}")
