"""One-band-per-file folders: which band a file holds, read from its name.

Landsat scenes come as ``LC08_L1TP_..._B4.TIF`` (one file per band) and many bureau
deliveries as ``red.tif``, ``nir.tif``. A *band pattern* says where the band is in the name:

- a template with ``{band}`` and shell wildcards: ``LC08_*_B{band}.TIF``, ``{band}.tif``
  (``*`` any text, ``?`` one character; case-insensitive, the whole name must match);
- or a regular expression with a named group ``band``: ``.*_SR_B(?P<band>\\d)\\.TIF``.

The *token* the pattern captures (``4``, ``8A``, ``red``, ``nir``) becomes a common name by,
in order: the band map's ``bands`` mapping (``{"4": "red"}``); the token itself when it is a
common name (or a synonym: ``r``, ``n``, ``near-infrared``); the sensor table
(``sensing.sensors.Sensor.band_for_token``: ``4`` -> ``red`` for ``landsat-c2-l2``). Files of
one acquisition are those whose names differ only in the token (``acquisition_key``).
"""
from __future__ import annotations

import re
from typing import Mapping

from .errors import SourceOptionError

_TOKEN = r"(?P<band>[A-Za-z0-9]+?)"


def compile_band_pattern(pattern: str) -> re.Pattern:
    """The regular expression of a ``{band}`` template or of a regex with ``(?P<band>...)``."""
    p = str(pattern).strip()
    if "(?P<band>" in p:
        try:
            return re.compile(p, re.IGNORECASE)
        except re.error as exc:
            raise SourceOptionError(f"band pattern {pattern!r} is not a valid regular expression: {exc}") from None
    if p.count("{band}") != 1:
        raise SourceOptionError(f"band pattern {pattern!r} must hold '{{band}}' once (e.g. LC08_*_B{{band}}.TIF) "
                         f"or be a regular expression with a group (?P<band>...)")
    parts = []
    for chunk in re.split(r"(\{band\}|\*|\?)", p):
        if chunk == "{band}":
            parts.append(_TOKEN)
        elif chunk == "*":
            parts.append(".*")
        elif chunk == "?":
            parts.append(".")
        else:
            parts.append(re.escape(chunk))
    return re.compile("".join(parts), re.IGNORECASE)


def match_band_token(regex: re.Pattern, name: str) -> tuple[str, str] | None:
    """``(token, acquisition_key)`` when the file name matches, else None. The key is the name
    with the token cut out, so the files of one acquisition share it."""
    m = regex.fullmatch(name)
    if not m or not m.group("band"):
        return None
    s, e = m.span("band")
    return m.group("band"), name[:s] + "{band}" + name[e:]


def acquisition_id(key: str) -> str:
    """A readable item id for an acquisition key: the name without the band token, its
    extension and a dangling band prefix (``LC08_..._T1_B{band}.TIF`` -> ``LC08_..._T1``)."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", key)
    stem = re.sub(r"[_\-.]?(?:b|band)?\{band\}", "", stem, flags=re.IGNORECASE)
    return stem.strip("_-. ")


def token_band(token: str, mapping: Mapping[str, str] | None, normalise, sensor=None) -> str | None:
    """The common name for ``token`` (module docstring), or None. ``normalise`` maps a name
    to a common name or returns it unchanged; ``sensor`` is a ``Sensor`` or None."""
    if mapping:
        for k, v in mapping.items():
            if str(k).strip().lower() == token.lower():
                return normalise(v)
    cand = normalise(token)
    from .scene import COMMON_NAMES

    if cand in COMMON_NAMES:
        return cand
    if sensor is not None:
        return sensor.band_for_token(token)
    return None
