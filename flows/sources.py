"""Build a ``sensing`` source from command-line style options (the CLI and Python share this)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sensing.base import Source

from .errors import ConfigurationError

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
    raise ConfigurationError(f"unknown source {kind!r}; choose one of {', '.join(SOURCE_KINDS)}")


def options_from_description(kind: str, described: dict[str, Any] | None) -> dict[str, Any]:
    """The constructor options of a ``kind`` source that wrote ``described`` (its
    ``describe()``, as kept in every manifest), so a re-run rebuilds the same source and its
    products' cache keys match. Only for sources whose description is their options (the demo);
    ``{}`` otherwise (STAC and files sources: give their options explicitly)."""
    if not described or described.get("kind") != kind or kind != "demo":
        return {}
    import dataclasses

    from sensing.demo import DemoSource

    names = {f.name for f in dataclasses.fields(DemoSource)}
    # the default time axis and the cloud climatology are described in words: their option is None
    words = {k for k in ("dates", "cloud_cover") if isinstance(described.get(k), str)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in described.items() if k in names and k not in words}
