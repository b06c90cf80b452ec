"""How one imagery file is read (its header only): bands, mask, radiometry, units, date, sensor,
and where each of them came from. Used by ``sensing.files.FilesSource``.

Every setting is looked up, in order, in the band-map file's ``files: {<name>: {...}}`` entry,
the source's options (``FilesSource(scale=...)``, ``--scale``), the band map's top level, the
file's own metadata, and defaults; :class:`FileSpec` records which one gave each value.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import rasterio
from rasterio.enums import ColorInterp

from .bandpattern import acquisition_id, match_band_token, token_band
from .errors import ImageryFileError
from .fileread import mask_info
from .scene import COMMON_NAMES, REFLECTANCE_UNITS
from .sensors import SENSORS, UNKNOWN_SENSOR, check_sensor_name

log = logging.getLogger("villagewatch.sensing.files")

#: the band-map name of an alpha band: it becomes the mask, never data
ALPHA = "alpha"
LEVELS = ("surface", "toa")
#: metadata tags holding an acquisition time, most specific first
ACQUISITION_TAGS = ("ACQUISITIONDATETIME", "ACQUISITION_DATETIME", "ACQUISITIONDATE", "ACQUISITION_DATE",
                    "DATE_ACQUIRED", "IMAGINGDATE", "IMAGING_DATE", "EXIF_DATETIMEORIGINAL", "DATETIMEORIGINAL")
#: metadata tags naming the sensor (villagewatch's own outputs write ``SENSOR``)
SENSOR_TAGS = ("SENSOR", "VILLAGEWATCH_SENSOR")
_NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_BAND_SYNONYMS = {
    "r": "red", "g": "green", "b": "blue", "n": "nir", "nir": "nir", "near-infrared": "nir",
    "near infrared": "nir", "nearinfrared": "nir", "re": "rededge1", "rededge": "rededge1", "red edge": "rededge1",
    "red-edge": "rededge1", "a": ALPHA,
}
#: names used to fill a band-map example for a file whose bands cannot be told apart
_EXAMPLE = ("red", "green", "blue", "nir", "rededge1", "swir16", "swir22")


@dataclass(frozen=True)
class FileSpec:
    """How one file is read. ``bands`` are the data bands (common names) at 1-based
    ``indexes``; ``scales``/``offsets``/``nodatas`` are per data band; ``alpha`` is the band read
    as the mask (when GDAL does not already flag it); ``dataset_mask``: the file has a GDAL
    per-dataset mask (mask band, ``.msk`` or alpha). ``origin`` says where each setting came
    from; ``group`` is the acquisition the file belongs to (one-band files of one acquisition
    stack into one scene)."""

    path: Path
    bands: tuple[str, ...]
    indexes: tuple[int, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    nodatas: tuple[float | None, ...]
    date: dt.date
    date_from: str
    sensor: str
    sensor_from: str = ""
    alpha: int | None = None
    dataset_mask: bool = False
    mask: str = "none"
    units: str = "reflectance"
    level: str = "unknown"
    origin: Mapping[str, str] = field(default_factory=dict)
    group: str = ""
    group_id: str = ""

    @property
    def scale(self) -> float | tuple[float, ...]:
        return _one(self.scales)

    @property
    def offset(self) -> float | tuple[float, ...]:
        return _one(self.offsets)

    @property
    def nodata(self) -> float | None | tuple[float | None, ...]:
        return _one(self.nodatas)

    def record(self) -> dict[str, Any]:
        """The radiometry record kept in ``scene.attrs["radiometry"]`` (JSON-ready)."""
        def per(vals: tuple) -> Any:
            return _one(vals) if len(set(vals)) <= 1 else dict(zip(self.bands, vals))

        return {"bands": list(self.bands), "scale": per(self.scales), "offset": per(self.offsets),
                "nodata": per(self.nodatas), "mask": self.mask, "units": self.units, "level": self.level,
                "sensor": self.sensor, **{f"{k}_from": v for k, v in self.origin.items()}}


def _one(vals: tuple) -> Any:
    return vals[0] if len(set(vals)) == 1 else vals


@dataclass(frozen=True)
class Settings:
    """What the user said: the band map (a dict), the options, the band pattern."""

    band_map: Mapping[str, Any]
    options: Mapping[str, Any]
    band_regex: re.Pattern | None = None

    def get(self, path: Path, key: str) -> tuple[Any, str]:
        """``(value, where)`` of ``key`` for ``path`` (module docstring order), or ``(None, "")``."""
        per_file = (self.band_map.get("files") or {}).get(path.name) or {}
        if per_file.get(key) is not None:
            return per_file[key], "band map (file entry)"
        if self.options.get(key) is not None:
            return self.options[key], "option"
        if self.band_map.get(key) is not None:
            return self.band_map[key], "band map"
        return None, ""


# --------------------------------------------------------------------------- names and dates
def parse_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    m = re.match(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})", s)  # TIFF "YYYY:MM:DD HH:MM:SS", ISO
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return date_from_name(s)


def date_from_name(name: str) -> dt.date | None:
    """A ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD`` date in a file name (not inside a
    longer number)."""
    for m in _NAME_DATE.finditer(name):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def norm_band(name: str) -> str:
    n = str(name).strip().lower()
    return _BAND_SYNONYMS.get(n, n)


def check_bands(bands: Sequence[str], where: str) -> tuple[str, ...]:
    """Common names (or ``alpha``, once) in band order, normalised; an error names ``where``."""
    out = tuple(norm_band(b) for b in bands)
    bad = [b for b in out if b not in COMMON_NAMES and b != ALPHA]
    if bad:
        raise ImageryFileError(f"{where}: band names {bad} are not eo:common_name values "
                               f"({', '.join(COMMON_NAMES)}) nor {ALPHA!r} (an alpha band, read as the mask)")
    if len(set(out)) != len(out):
        raise ImageryFileError(f"{where}: band names repeat: {list(out)}")
    return out


def check_band_names(value: Any, where: str) -> None:
    """Validate a band map's ``bands``: a list of names, or a mapping token -> name (for
    ``band_pattern``)."""
    if isinstance(value, Mapping):
        check_bands(list(value.values()), where)
    elif value:
        check_bands(list(value), where)


# --------------------------------------------------------------------------- the spec
def file_spec(path: Path, settings: Settings) -> FileSpec:
    """Bands, mask, radiometry, units, date and sensor of ``path`` (reads its header only)."""
    try:
        with rasterio.open(path) as src:
            count, dtype, crs = src.count, src.dtypes[0], src.crs
            tags = {k.upper(): v for k, v in src.tags().items()}
            for ns in ("IMAGERY", "IMD"):
                try:
                    tags.update({k.upper(): v for k, v in src.tags(ns=ns).items()})
                except Exception:  # noqa: BLE001 - domain absent
                    pass
            descriptions, colorinterp = src.descriptions, tuple(src.colorinterp)
            file_nodata, scales, offsets = src.nodatavals, src.scales, src.offsets
            names = _band_names(path, settings, count, dtype, descriptions, colorinterp, src)
            bands, indexes, alpha_pos, not_alpha = _split_alpha(path, names, colorinterp, src)
            dataset_mask, gdal_alpha, mask_text = mask_info(src, indexes, not_alpha=not_alpha)
    except rasterio.errors.RasterioIOError as exc:
        raise ImageryFileError(f"{path}: not a readable GeoTIFF ({exc})") from exc
    if crs is None:
        raise ImageryFileError(f"{path}: has no CRS (georeference the file, e.g. gdal_edit.py -a_srs)")
    if not bands:
        raise ImageryFileError(f"{path}: the band map names no data band (only {ALPHA!r})")

    sensor, sensor_from = _sensor(path, settings, tags)
    origin: dict[str, str] = {"sensor": sensor_from}
    nodatas, origin["nodata"] = _nodata(path, settings, bands, indexes, file_nodata)
    # the alpha band is always read as the mask, also where GDAL flags it but does not derive the
    # dataset mask from it (e.g. a 5-band RGBN+alpha whose alpha is set by colour interpretation only)
    alpha = alpha_pos if alpha_pos is not None else gdal_alpha
    masks = [mask_text] if mask_text else []
    if alpha_pos is not None and alpha_pos != gdal_alpha:  # a band-map alpha GDAL does not flag
        masks.append(f"alpha band {alpha_pos} (band map)")
    elif alpha is not None and not mask_text:
        masks.append(f"alpha band {alpha}")
    if not_alpha:
        masks.append(f"band {not_alpha} flagged alpha by the file but read as data (its values are not a mask)")
    if any(n is not None for n in nodatas):
        masks.append("nodata " + ", ".join(sorted({f"{n:g}" for n in nodatas if n is not None})))
    sc, off, units, level = _radiometry(path, settings, bands, dtype, scales, offsets, sensor, origin)
    date, date_from = _date(path, settings, tags)
    group, group_id = _group(path, settings, bands, date)
    spec = FileSpec(path=path, bands=bands, indexes=indexes, scales=sc, offsets=off, nodatas=nodatas,
                    date=date, date_from=date_from, sensor=sensor, sensor_from=sensor_from, alpha=alpha,
                    dataset_mask=dataset_mask, mask="; ".join(masks) or "none",
                    units=units, level=level, origin=origin, group=group, group_id=group_id)
    log.info("%s: bands %s; values = DN x %s + %s (scale from %s, offset from %s); nodata %s (%s); mask: %s; "
             "%s%s; sensor %s (%s)", path.name, ",".join(bands), _fmt(spec.scale), _fmt(spec.offset),
             origin["scale"], origin["offset"], _fmt(spec.nodata), origin["nodata"], spec.mask, units,
             f" ({level})" if units == "reflectance" else "", sensor, sensor_from)
    return spec


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return "none" if v is None else f"{v:g}"


def _band_names(path: Path, settings: Settings, count: int, dtype: str, descriptions, colorinterp,
                src: rasterio.DatasetReader) -> tuple[str, ...]:
    """The file's bands in order (common names and ``alpha``)."""
    if settings.band_regex is not None:
        return (_pattern_band(path, settings, count),)
    bands, _ = settings.get(path, "bands")
    if bands and not isinstance(bands, Mapping):
        names = check_bands(bands, f"band map for {path.name}")
    elif all(descriptions) and all(norm_band(d) in COMMON_NAMES or norm_band(d) == ALPHA for d in descriptions):
        names = check_bands(descriptions, str(path))
    elif colorinterp[:3] == (ColorInterp.red, ColorInterp.green, ColorInterp.blue) and \
            (count == 3 or (count == 4 and colorinterp[3] == ColorInterp.alpha)):
        names = ("red", "green", "blue") + ((ALPHA,) if count == 4 else ())
        if count == 4 and (share := _mask_value_share(src, 4)) < ALPHA_LIKE_SHARE:
            raise ImageryFileError(
                f"{path}: band 4 is flagged alpha (colour interpretation) but only {100 * share:.0f} % of its pixels "
                f"are 0 or the maximum, so it is not a mask (GDAL writes 4-band 8-bit files as RGB + alpha by "
                f"default; it may be NIR); give a band map: --band-map red,green,blue,nir (or red,green,blue,alpha "
                f"if it is a mask)")
    elif count == 3 and dtype == "uint8":
        names = ("red", "green", "blue")
        log.warning("%s: 3 bands of 8 bits without colour interpretation or band map: assumed red, green, blue "
                    "in that order (give a band map if not)", path)
    else:
        example = ",".join(ALPHA if ci == ColorInterp.alpha else _EXAMPLE[i % len(_EXAMPLE)]
                           for i, ci in enumerate(colorinterp))
        raise ImageryFileError(
            f"{path}: cannot tell which band is which ({count} bands); give a band map naming each band in "
            f"order, e.g. --band-map {example} or a band_map.json beside the files")
    if len(names) != count:
        raise ImageryFileError(f"{path}: has {count} band(s) but the band map names {len(names)}: {list(names)}")
    return names


def _pattern_band(path: Path, settings: Settings, count: int) -> str:
    m = match_band_token(settings.band_regex, path.name)
    if m is None:
        raise ImageryFileError(f"{path}: its name does not match the band pattern {settings.band_regex.pattern!r}")
    if count != 1:
        raise ImageryFileError(f"{path}: a band pattern names one band per file, but the file has {count} bands")
    token = m[0]
    mapping, _ = settings.get(path, "bands")
    sensor_name, _ = settings.get(path, "sensor")
    sen = SENSORS.get(sensor_name) if sensor_name else None
    band = token_band(token, mapping if isinstance(mapping, Mapping) else None, norm_band, sen)
    if band is None:
        how = (f"sensor {sen.name} has no band {token!r}" if sen else
               "give the sensor (--sensor, its band numbers are in sensing.sensors) or a band-map "
               f"'bands' mapping such as {{\"{token}\": \"<common name>\"}}")
        raise ImageryFileError(f"{path}: band {token!r} (from its name) is not a known band: {how}")
    if band == ALPHA:
        raise ImageryFileError(f"{path}: a one-band file cannot be the alpha band of another file")
    return check_bands([band], str(path))[0]


def _split_alpha(path: Path, names: tuple[str, ...], colorinterp,
                 src: rasterio.DatasetReader) -> tuple[tuple[str, ...], tuple[int, ...], int | None, int | None]:
    """Data bands with their 1-based indexes, the alpha band, and the band the file flags alpha
    that is read as data (or None).

    A band whose colour interpretation is alpha must be called ``alpha``, unless its values show
    that it is not a mask: GDAL's GeoTIFF driver writes a 4-band 8-bit file as RGB + alpha by
    default, so many RGB+NIR files carry NIR flagged alpha. A band map naming such a band (e.g.
    ``nir``) is accepted, with a warning, when under 99 % of its pixels are 0 or the type's
    maximum (:func:`_is_alpha_like`); a true alpha band named ``nir`` is refused."""
    not_alpha = None
    for i, ci in enumerate(colorinterp):
        if ci == ColorInterp.alpha and names[i] != ALPHA:
            share = _mask_value_share(src, i + 1)
            fix = f"gdal_edit.py -colorinterp_{i + 1} undefined {path.name}"
            if share < ALPHA_LIKE_SHARE:
                log.warning("%s: band %d is flagged alpha (colour interpretation) but only %.0f %% of its pixels "
                            "are 0 or the maximum, so it is not a mask: read as %r as the band map says (to clear "
                            "the flag: %s)", path, i + 1, 100 * share, names[i], fix)
                not_alpha = i + 1
                continue
            fixed = ",".join(ALPHA if j == i else n for j, n in enumerate(names) if j == i or n != ALPHA)
            raise ImageryFileError(
                f"{path}: band {i + 1} is alpha (its colour interpretation; {100 * share:.0f} % of its pixels are 0 "
                f"or the maximum, as in a mask), but the band map calls it {names[i]!r}; an alpha band is the mask "
                f"of the others, not a spectral band: call it {ALPHA!r} (e.g. {fixed}). If band {i + 1} really is "
                f"{names[i]}, clear the file's flag first: {fix}")
    alpha = [i + 1 for i, n in enumerate(names) if n == ALPHA]
    data = [(n, i + 1) for i, n in enumerate(names) if n != ALPHA]
    return tuple(n for n, _ in data), tuple(i for _, i in data), (alpha[0] if alpha else None), not_alpha


#: share of a band's pixels at 0 or the type's maximum from which it reads as a mask (alpha)
ALPHA_LIKE_SHARE = 0.99


def _mask_value_share(src: rasterio.DatasetReader, index: int) -> float:
    """Share of band ``index``'s pixels (a decimated read, at most ~512 x 512) that are 0 or the
    maximum of the band's type (255 for 8 bits): about 1 for an alpha mask (anti-aliased edges
    aside), well below 1 for a spectral band."""
    f = max(1, int(max(src.width, src.height) // 512))
    a = src.read(index, out_shape=(max(1, src.height // f), max(1, src.width // f)))
    dt = np.dtype(src.dtypes[index - 1])
    top = np.iinfo(dt).max if dt.kind in "ui" else 1.0
    return float(((a == 0) | (a == top)).mean()) if a.size else 1.0


def _sensor(path: Path, settings: Settings, tags: Mapping[str, str]) -> tuple[str, str]:
    value, where = settings.get(path, "sensor")
    if value is not None:
        return check_sensor_name(str(value), f"{path.name} ({where})"), where
    for t in SENSOR_TAGS:
        v = tags.get(t)
        if v and v in SENSORS:
            return v, f"file tag {t}"
        if v:
            log.info("%s: tag %s=%r is not a sensor name of sensing.sensors; sensor left unknown", path.name, t, v)
    return UNKNOWN_SENSOR, "neither the file nor the user names one"


def _per_band(value: Any, bands: tuple[str, ...], key: str, path: Path, *, required: bool) -> tuple:
    """A scalar for every band, or a mapping band -> value (missing bands: an error when
    ``required``, else None)."""
    if isinstance(value, Mapping):
        vals = {norm_band(k): v for k, v in value.items()}
        missing = [b for b in bands if b not in vals]
        if missing and required:
            raise ImageryFileError(f"{path}: {key} names no value for band(s) {missing} (has {sorted(vals)})")
        return tuple(None if vals.get(b) is None else float(vals[b]) for b in bands)
    try:
        return tuple(float(value) for _ in bands)
    except (TypeError, ValueError):
        raise ImageryFileError(f"{path}: {key} {value!r} is not a number or a mapping band -> number") from None


def _nodata(path: Path, settings: Settings, bands, indexes, file_nodata) -> tuple[tuple, str]:
    value, where = settings.get(path, "nodata")
    if value is not None:
        return _per_band(value, bands, "nodata", path, required=False), where
    vals = tuple(None if file_nodata[i - 1] is None else float(file_nodata[i - 1]) for i in indexes)
    return vals, ("file" if any(v is not None for v in vals) else "none")


def _radiometry(path: Path, settings: Settings, bands, dtype: str, scales, offsets, sensor: str,
                origin: dict[str, str]) -> tuple[tuple, tuple, str, str]:
    """``(scales, offsets, units, level)``; ``origin`` gets ``scale``, ``offset``, ``units``,
    ``level``. Rules in ``sensing.files``'s docstring."""
    scale, s_from = settings.get(path, "scale")
    offset, o_from = settings.get(path, "offset")
    units, u_from = settings.get(path, "units")
    level, l_from = settings.get(path, "level")
    if units is not None and units not in REFLECTANCE_UNITS:
        raise ImageryFileError(f"{path}: units {units!r} ({u_from}) must be one of {', '.join(REFLECTANCE_UNITS)}")
    if level is not None and level not in LEVELS:
        raise ImageryFileError(f"{path}: level {level!r} ({l_from}) must be one of {', '.join(LEVELS)}")
    n = len(bands)
    if scale is None and offset is None:
        tagged = [i for i in range(len(scales)) if scales[i] != 1 or offsets[i] != 0]
        if tagged:
            scale = dict(zip(bands, (float(s) for s in scales))) if len(set(scales)) > 1 else float(scales[0])
            offset = dict(zip(bands, (float(o) for o in offsets))) if len(set(offsets)) > 1 else float(offsets[0])
            s_from = o_from = "file tags (scale/offset)"
    eight_bit = np.dtype(dtype).kind in "ui" and np.dtype(dtype).itemsize == 1
    if scale is not None:
        sc = _per_band(scale, bands, "scale", path, required=True)
        if units is None:
            units, u_from = "reflectance", f"scale given ({s_from})"
    elif units == "relative" or (units is None and eight_bit):
        top = float(np.iinfo(dtype).max) if np.dtype(dtype).kind in "ui" else 1.0
        sc, s_from = (1.0 / top,) * n, f"default for relative values: 1/{top:g} (display only)"
        if units is None:
            units, u_from = "relative", "8-bit digital numbers without a scale"
            log.warning("%s: 8-bit digital numbers and no scale (option, band map or file tags): read as "
                        "RELATIVE values DN/255, not reflectance; products with absolute thresholds are not "
                        "computed on them. If the file holds calibrated reflectance, give its scale and offset "
                        "(--scale/--offset or 'scale'/'offset' in the band map)", path)
    else:
        sc, s_from = (1.0,) * n, "default 1 (values already reflectance)"
        if units is None:
            _check_unscaled(path, sensor)
            units, u_from = "reflectance", "values within 0..2 and no scale: taken as reflectance"
    off = _per_band(0.0 if offset is None else offset, bands, "offset", path, required=True)
    o_from = o_from or "default 0"
    if units == "reflectance":
        sen = SENSORS.get(sensor)
        if level is None and sen is not None and sen.reflectance_level:
            level, l_from = sen.reflectance_level, f"sensor table ({sensor})"
        level, l_from = (level, l_from) if level is not None else ("unknown", "not stated")
    else:
        level, l_from = "none", "relative values"
    origin.update(scale=s_from, offset=o_from, units=u_from, level=l_from)
    return sc, off, units, level


def _check_unscaled(path: Path, sensor: str) -> None:
    """Values of a non-8-bit file without any scale must look like reflectance."""
    with rasterio.open(path) as src:
        f = max(1, int(max(src.width, src.height) // 256))
        a = src.read(1, out_shape=(max(1, src.height // f), max(1, src.width // f)), masked=True)
    vmax = float(a.max()) if a.count() else 0.0
    if vmax > 2.0:
        sen = SENSORS.get(sensor)
        hint = (f"; {sen.name} products are usually scale {sen.scale:g} offset {sen.offset:g}, check the "
                f"file's documentation" if sen is not None and (sen.scale != 1 or sen.offset != 0) else "")
        raise ImageryFileError(
            f"{path}: values reach {vmax:g}, not reflectance (0..1) and no scale given; give scale and offset "
            f"(e.g. --scale 0.0001 for reflectance x 10000), or units 'relative' for uncalibrated digital "
            f"numbers{hint}")


def _date(path: Path, settings: Settings, tags: Mapping[str, str]) -> tuple[dt.date, str]:
    per_file = (settings.band_map.get("files") or {}).get(path.name) or {}
    if per_file.get("date"):
        d = parse_date(per_file["date"])
        if d:
            return d, "band map (file entry)"
    for t in ACQUISITION_TAGS:
        if tags.get(t):
            d = parse_date(tags[t])
            if d:
                return d, f"tag {t}"
    d = date_from_name(path.name)
    if d:
        return d, "file name"
    if tags.get("TIFFTAG_DATETIME"):
        d = parse_date(tags["TIFFTAG_DATETIME"])
        if d:
            return d, "tag TIFFTAG_DATETIME"
    opt, bm = settings.options.get("date"), settings.band_map.get("date")
    d = parse_date(opt or bm)
    if d:
        return d, "option" if opt else "band map"
    raise ImageryFileError(f"{path}: no acquisition date in its metadata or name; "
                           f"give one (--date YYYY-MM-DD or 'date' in the band map)")


def _group(path: Path, settings: Settings, bands: tuple[str, ...], date: dt.date) -> tuple[str, str]:
    """The acquisition key and id: files matching the band pattern share the name without the
    band token; other one-band files share their folder and date; a multi-band file is its own."""
    if settings.band_regex is not None:
        m = match_band_token(settings.band_regex, path.name)
        key = m[1] if m else path.name
        return f"{path.parent}/{key}", acquisition_id(key) or path.parent.name
    if len(bands) == 1:
        return f"{path.parent}/{date.isoformat()}", path.parent.name or path.stem
    return str(path), path.stem
