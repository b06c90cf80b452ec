"""The embedded demo source: deterministic Sentinel-2-like scenes and drone orthomosaics of
each village, with their ground truth (see :mod:`sensing.demo.source`)."""
from .source import (
    DEFAULT_DATES,
    DRONE_VILLAGES,
    S2_BANDS,
    DemoSource,
    demo_villages_with_drone,
)
from .profiles import DEFAULT_PROFILE, PROFILES, DemoProfile, get_profile
from .spectra import CLASS_NAMES, SPECTRA_SOURCES, WATER_CLASSES

__all__ = [
    "DemoSource", "demo_villages_with_drone", "DEFAULT_DATES", "DRONE_VILLAGES", "S2_BANDS",
    "CLASS_NAMES", "SPECTRA_SOURCES", "WATER_CLASSES", "DemoProfile", "PROFILES", "DEFAULT_PROFILE", "get_profile",
]
