"""Local imagery source: GeoTIFF / COG orthomosaics and scenes (drones, GF-2, aerial, Landsat).

``FilesSource(paths="flights/", band_map=("red", "green", "blue", "nir")).load(village, start, end)``
returns a Scene (``sensing.scene``) with one time step per acquisition date.

Per file the settings come from, in order: the band-map file's ``files: {<name>: {...}}``
entry, the constructor options (the CLI's ``--scale``, ``--offset``, ``--nodata``, ``--sensor``,
``--band-pattern``, ``--date``), the band-map file's top level, the file's own metadata, and
defaults (``sensing.filespec``); README "Band maps" documents the band-map file. A band-map
file (YAML or JSON; ``band_map.json``/``band_map.yaml`` in the folder is picked up)::

    {"bands": ["red", "green", "blue", "nir"], "scale": 0.0001, "offset": 0, "nodata": 0,
     "sensor": "gf2-pms", "units": "reflectance", "level": "surface", "date": "2024-05-01",
     "files": {"flight2.tif": {"date": "2024-06-01"}}}

- **Bands**: ``band_map`` (common names in band order; ``alpha`` names an alpha band, which
  becomes the mask and is never data), else band descriptions naming common names, else the
  colour interpretation (red, green, blue [, alpha]); otherwise an error asks for a band map.
  A band whose colour interpretation is alpha must be called ``alpha`` unless its values are
  not a mask (see Masks). Bands missing from some acquisitions are dropped from all (log line).
- **One band per file** (Landsat ``..._B4.TIF``, deliveries ``red.tif``): ``band_pattern``
  (``LC08_*_B{band}.TIF``, ``{band}.tif`` or a regex with ``(?P<band>...)``, see
  ``sensing.bandpattern``) reads the band from the name (a common name, the band map's
  ``bands`` mapping ``{"4": "red"}``, or the sensor table's band numbers); files whose names
  differ only in the band form one acquisition and are stacked. Without a pattern, one-band
  files of one folder and date (bands from ``files`` entries or descriptions) are stacked too.
- **Masks**: each file's GDAL dataset mask is applied (``sensing.fileread``): a mask band
  (internal or ``.msk``), an alpha band (read as the mask whether GDAL derives a dataset mask
  from it or only flags its colour interpretation), the band's nodata (option/band map, else
  the file's, per band). Masked pixels are NaN in every band the mask covers (a band's nodata:
  that band). GDAL writes 4-band 8-bit files as RGB + alpha by default, so RGB+NIR files often
  carry NIR flagged alpha: a band map naming it ``nir`` is accepted (with a warning) only when
  its values are not a mask (``sensing.filespec``).
- **Radiometry**: ``value = DN x scale + offset``. Scale/offset: option / band map (per band
  as ``{"red": 0.0001, ...}`` if they differ), else the file's scale/offset tags. Units
  (``attrs["reflectance_units"]``): ``reflectance`` when a scale was given or tagged, or when
  the values of a non-8-bit file already lie in 0..2; ``relative`` (uncalibrated DN, scaled by
  1/255 for display only, a WARNING names the file) for 8-bit files without a scale; a
  non-8-bit file without scale whose values exceed 2 is an error asking for one. ``units``
  and ``level`` (``surface``/``toa``; default from the sensor table, else ``unknown``) may be
  given. Everything applied, and where it came from, is logged and kept in
  ``attrs["radiometry"]`` (per file).
- **Sensor**: the option / band map, or the file's ``SENSOR`` tag; otherwise ``unknown``
  (logged; never guessed from the band count). A name not in ``sensing.sensors.SENSORS`` is
  an ``UnknownSensorError`` listing the valid names.
- **Date**: band-map per-file ``date``; acquisition tags (``ACQUISITIONDATETIME``,
  ``ACQUISITION_DATE``, ``DATE_ACQUIRED``...); a ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD``
  date in the file name; ``TIFFTAG_DATETIME`` (often the processing time, hence late);
  finally ``date`` (option or band map). A file with none of these is an error. Files found
  but none dated in the window: ``NoDataError`` listing each file's date and the
  ``--start/--end`` that would take them (:meth:`FilesSource.window_error`).
- ``resampling="grid"`` (default): every file is reprojected onto
  ``aoi.grid_for(village, resolution)`` (local UTM; ``resolution`` defaults to the first file's
  pixel size in metres) with ``method``; by default bilinear (reflectance), or the pixel
  average when the target pixel is at least twice the file's (a 10 cm drone mosaic onto a
  10 m grid: bilinear would only sample it). NaN (masked) pixels never enter a resampled value;
  a pixel shrunk by averaging is valid when any of the pixels it averages is.
  ``resampling="native"``: the first overlapping file's own CRS and pixel grid, clipped to the
  village's bounding box (the grid's buffered extent); later files are pasted when they share
  that pixel grid and reprojected onto it otherwise. Both choices are in :meth:`describe`.
- **Mosaics**: acquisitions on the same date are mosaicked pixel by pixel: the first (by file
  name) that is valid in every band there, else per band the first valid one, so one file's
  fill never hides another file's data. Dates stack in time order. A file not overlapping the
  village is skipped with a log line; none overlapping is ``NoDataError``. Unreadable files, a
  missing CRS or a band count that does not match the band map are ``ImageryFileError`` naming
  the file; among several files such a file is skipped with a warning
  (``attrs["skipped_files"]``: path -> reason) and the error is raised only when no file is usable.
- ``valid_fraction`` per date: the share of the village polygon's pixels valid in every band
  (its ``attrs["bands"]`` lists them), and ``valid_fraction_<band>`` per band (``sensing.scene``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box
from shapely.ops import transform as shp_transform

from aoi import Village, grid_for

from .bandpattern import compile_band_pattern
from .errors import ImageryFileError, NoDataError, SourceOptionError
from .fileread import read_band
from .filespec import (
    ACQUISITION_TAGS,
    ALPHA,
    LEVELS,
    FileSpec,
    Settings,
    check_band_names,
    date_from_name,
    file_spec,
    parse_date,
)
from .masking import aoi_mask, aoi_valid_fractions
from .mosaic import first_valid, geobox_coords, paste
from .scene import DEFAULT_CHUNKS, REFLECTANCE_UNITS, assign_valid_fractions, check_scene, chunk_bands
from .sensors import UNKNOWN_SENSOR, check_sensor_name

__all__ = ["FilesSource", "FileSpec", "read_band_map", "date_from_name", "native_resolution_m",
           "ACQUISITION_TAGS", "ALPHA"]

log = logging.getLogger("villagewatch.sensing.files")

RESAMPLING_MODES = ("native", "grid")
TIFF_SUFFIXES = (".tif", ".tiff")
BAND_MAP_NAMES = ("band_map.json", "band_map.yaml", "band_map.yml", "bandmap.json", "bandmap.yaml", "bandmap.yml")
_M_PER_DEG = 111_319.49  # metres per degree of latitude on WGS 84 (mean)
_parse_date = parse_date
#: how many files an empty-window message lists by name
_LIST_MAX = 12


def read_band_map(source: Any) -> dict:
    """A band map as a dict from a path (JSON/YAML), a comma list, a sequence or a dict."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, (list, tuple)):
        return {"bands": [str(b) for b in source]}
    p = Path(str(source))
    if isinstance(source, Path) or p.suffix.lower() in (".json", ".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ImageryFileError(f"band-map file {p} does not exist")
        text = p.read_text(encoding="utf-8")
        try:
            if p.suffix.lower() == ".json":
                d = json.loads(text)
            else:
                import yaml

                d = yaml.safe_load(text)
        except Exception as exc:  # noqa: BLE001
            raise ImageryFileError(f"band-map file {p} is not valid {p.suffix[1:].upper()}: {exc}") from exc
        if isinstance(d, list):
            d = {"bands": d}
        if not isinstance(d, dict):
            raise ImageryFileError(f"band-map file {p} must hold a mapping with 'bands'")
        return d
    return {"bands": [b.strip() for b in str(source).split(",") if b.strip()]}


def native_resolution_m(src: rasterio.DatasetReader) -> float:
    """Pixel size in metres (for geographic CRSs: the north-south size at the file's centre)."""
    if src.crs is not None and src.crs.is_geographic:
        return round(abs(src.transform.e) * _M_PER_DEG, 3)
    return float(abs(src.transform.a))


@dataclass(frozen=True, kw_only=True)
class FilesSource:
    """Imagery from local GeoTIFF/COG files (module docstring for every rule).

    ``paths``: a folder (its ``*.tif``/``*.tiff``), one file, or a list of files.
    ``band_map``: common names in band order (``("red", "green", "blue", "nir")``,
    ``"red,green,blue,alpha"``), a band-map file (JSON/YAML), or a dict. ``scale``/``offset``/
    ``nodata``: radiometry (``value = DN x scale + offset``; a float, or a mapping band -> float).
    ``sensor``: a name from ``sensing.sensors.SENSORS`` (default: the file's ``SENSOR`` tag,
    else ``unknown``). ``units``: ``reflectance`` or ``relative``; ``level``: ``surface`` or
    ``toa``. ``band_pattern``: one band per file (``LC08_*_B{band}.TIF``). ``date``:
    acquisition date for files that do not say. ``resampling``: ``"grid"`` or ``"native"``;
    ``method``: the resampling kernel (``bilinear``, ``nearest``, ``cubic``, ``average``...;
    default: bilinear, average when shrinking by 2x or more). ``resolution``: grid mode pixel
    size in metres (default: the first file's).
    """

    paths: str | Path | Sequence[str | Path]
    band_map: Any = None
    scale: Any = None
    offset: Any = None
    nodata: Any = None
    sensor: str | None = None
    units: str | None = None
    level: str | None = None
    band_pattern: str | None = None
    date: Any = None
    resampling: str = "grid"
    method: str | None = None
    resolution: float | None = None
    chunks: Mapping[str, int] | None = None

    kind: ClassVar[str] = "files"
    _files: tuple[Path, ...] = field(init=False, repr=False, compare=False)
    _bandmap: dict = field(init=False, repr=False, compare=False)
    _bandmap_file: Path | None = field(init=False, repr=False, compare=False)
    _settings: Settings = field(init=False, repr=False, compare=False)
    _specs: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.resampling is None:
            object.__setattr__(self, "resampling", "grid")
        if self.resampling not in RESAMPLING_MODES:
            raise SourceOptionError(f"resampling must be one of {RESAMPLING_MODES}, got {self.resampling!r}")
        if self.sensor is not None:
            check_sensor_name(self.sensor, "sensor option")
        if self.units is not None and self.units not in REFLECTANCE_UNITS:
            raise SourceOptionError(f"units must be one of {', '.join(REFLECTANCE_UNITS)}, got {self.units!r}")
        if self.level is not None and self.level not in LEVELS:
            raise SourceOptionError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if self.resolution is not None and not float(self.resolution) > 0:
            raise SourceOptionError(f"resolution must be positive metres, got {self.resolution}")
        if self.date is not None and parse_date(self.date) is None:
            raise SourceOptionError(f"date {self.date!r} is not a date (YYYY-MM-DD)")
        files = self._list_files()
        bm = self.band_map
        if bm is None:
            folders = {f.parent for f in files}
            found = [d / n for d in sorted(folders) for n in BAND_MAP_NAMES if (d / n).is_file()]
            bm = found[0] if found else None
        object.__setattr__(self, "_files", tuple(files))
        object.__setattr__(self, "_bandmap", read_band_map(bm))
        is_file = isinstance(bm, (str, Path)) and Path(str(bm)).is_file()
        object.__setattr__(self, "_bandmap_file", Path(str(bm)) if is_file else None)
        where = f"band map {self._bandmap_file}" if self._bandmap_file else "band map"
        if self._bandmap.get("sensor"):
            check_sensor_name(str(self._bandmap["sensor"]), where)
        check_band_names(self._bandmap.get("bands"), where)
        pattern = self.band_pattern or self._bandmap.get("band_pattern")
        options = {"scale": self.scale, "offset": self.offset, "nodata": self.nodata, "sensor": self.sensor,
                   "units": self.units, "level": self.level, "date": self.date}
        object.__setattr__(self, "_settings", Settings(
            band_map=self._bandmap, options=options,
            band_regex=compile_band_pattern(pattern) if pattern else None))

    def _list_files(self) -> list[Path]:
        raw = [self.paths] if isinstance(self.paths, (str, Path)) else list(self.paths)
        files: list[Path] = []
        for entry in raw:
            p = Path(entry)
            if p.is_dir():
                found = sorted(f for f in p.iterdir() if f.suffix.lower() in TIFF_SUFFIXES and f.is_file())
                if not found:
                    log.warning("imagery folder %s holds no .tif/.tiff files", p)
                files.extend(found)
            elif p.is_file():
                files.append(p)
            else:
                raise ImageryFileError(f"imagery path {p} does not exist")
        if not files:
            raise NoDataError(f"no GeoTIFF/COG files in {', '.join(str(Path(e)) for e in raw)}")
        return files

    @property
    def files(self) -> tuple[Path, ...]:
        return self._files

    def describe(self) -> dict:
        bm = self._bandmap

        def opt(key: str) -> Any:
            return getattr(self, key) if getattr(self, key) is not None else bm.get(key)

        bands = bm.get("bands")
        return {
            "kind": self.kind,
            "paths": [str(p) for p in self._files],
            "band_map": (dict(bands) if isinstance(bands, Mapping) else list(bands)) if bands else None,
            "band_map_file": str(self._bandmap_file) if self._bandmap_file else None,
            "band_pattern": opt("band_pattern"),
            "scale": opt("scale"),
            "offset": opt("offset"),
            "nodata": opt("nodata"),
            "sensor": opt("sensor"),
            "units": opt("units"),
            "level": opt("level"),
            "date": str(parse_date(self.date or bm.get("date"))) if (self.date or bm.get("date")) else None,
            "resampling": self.resampling,
            "method": self.method or "auto: bilinear, average when shrinking >= 2x",
            "resolution": float(self.resolution) if self.resolution else None,
        }

    def spec(self, path: Path) -> FileSpec:
        """Bands, mask, radiometry, date and sensor of ``path`` (reads its header only; read once
        per file version, so its warnings are logged once)."""
        path = Path(path)
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in self._specs:
            self._specs[key] = file_spec(path, self._settings)
        return self._specs[key]

    # ------------------------------------------------------------ dates and the window
    def window_error(self, start: Any, end: Any, *, label: str = "imagery") -> NoDataError | None:
        """``NoDataError`` when files are found but none is dated in ``[start, end]``: the message
        lists each file's date (and where it came from) and the ``--start/--end`` that would take
        them all; ``None`` when some file is in the window (or no file is usable at all)."""
        start, end = parse_date(start), parse_date(end)
        specs, _ = self._readable_specs(label)
        if not specs or any(start <= s.date <= end for s in specs):
            return None
        return NoDataError(_window_message(label, specs, start, end))

    # ------------------------------------------------------------ load
    def load(self, village: Village, start: Any, end: Any) -> xr.Dataset:
        """The village's Scene from the files dated between ``start`` and ``end`` (inclusive)."""
        start, end = parse_date(start), parse_date(end)
        if start is None or end is None:
            raise SourceOptionError(f"village {village.id}: start/end must be dates")
        specs, skipped = self._readable_specs(f"village {village.id}")
        in_window = [s for s in specs if start <= s.date <= end]
        if not in_window:
            raise NoDataError(_window_message(f"village {village.id}", specs, start, end))
        for s in specs:
            if s not in in_window:
                log.info("village %s: %s (%s) outside %s..%s; skipped", village.id, s.path.name, s.date, start, end)
        overlapping = []
        for s in in_window:
            if self._overlaps(s.path, village):
                overlapping.append(s)
            else:
                log.warning("village %s: %s does not overlap the village; skipped", village.id, s.path.name)
        if not overlapping:
            raise NoDataError(f"village {village.id}: none of {len(self._files)} imagery file(s) "
                              f"overlaps the village between {start} and {end}")
        overlapping.sort(key=lambda s: (s.date, s.group, s.path.name))
        acquisitions: dict[tuple[dt.date, str], list[FileSpec]] = {}
        for s in overlapping:
            acquisitions.setdefault((s.date, s.group), []).append(s)
        acq_bands = {k: list(dict.fromkeys(b for s in v for b in s.bands)) for k, v in acquisitions.items()}
        first = next(iter(acq_bands.values()))
        common = [b for b in first if all(b in bs for bs in acq_bands.values())]
        dropped = sorted({b for bs in acq_bands.values() for b in bs} - set(common))
        if dropped:
            log.warning("village %s: bands %s are not in every acquisition; dropped", village.id, dropped)
        if not common:
            raise ImageryFileError(f"village {village.id}: the acquisitions share no band: "
                                   + "; ".join(f"{v[0].group_id}: {acq_bands[k]}" for k, v in acquisitions.items()))
        unknown = [s.path.name for s in overlapping if s.sensor == UNKNOWN_SENSOR]
        if unknown:
            log.warning("village %s: no sensor named for %s (neither a SENSOR tag nor the options): labelled "
                        "%r; give --sensor / sensor= if known", village.id, ", ".join(unknown[:_LIST_MAX]),
                        UNKNOWN_SENSOR)

        target = self._target(village, overlapping)
        per_date: dict[dt.date, list[tuple[str, xr.Dataset]]] = {}
        for (day, _), members in acquisitions.items():
            parts = [self._read_onto(s, target, common) for s in members]
            ds = first_valid(parts, common, every_band=False) if len(parts) > 1 else parts[0]
            per_date.setdefault(day, []).append((members[0].group_id, ds[[b for b in common if b in ds]]))
        times, stacks, ids = [], [], []
        for day in sorted(per_date):
            fused = first_valid([ds for _, ds in per_date[day]], common)
            times.append(pd.Timestamp(day))
            stacks.append(fused)
            ids.append("+".join(i for i, _ in per_date[day]))
        ds = xr.concat(stacks, dim=pd.DatetimeIndex(times, name="time").as_unit("ns"))
        ds = ds.transpose("time", "y", "x")
        chunks = {**DEFAULT_CHUNKS, **dict(self.chunks or {})}
        ds = chunk_bands(ds, chunks)
        ds = ds.assign_coords(item_id=("time", ids))

        aoi = aoi_mask(village.geometry, target)
        overall, per_band = aoi_valid_fractions(ds, aoi)
        ds = assign_valid_fractions(ds, overall, per_band, over="aoi", source="bands")
        for t, f in zip(times, overall):
            log.info("village %s: %s valid fraction %.3f over the AOI (every band; per band: %s)", village.id,
                     t.date(), f, ", ".join(f"{b} {per_band[b][times.index(t)]:.3f}" for b in common))
        ds = ds.rio.write_crs(str(target.crs)).rio.write_transform(target.transform)
        ds.attrs.update(self._scene_attrs(village, overlapping, ids, target, skipped))
        for name in ds.data_vars:
            what = "reflectance" if ds.attrs["reflectance_units"] == "reflectance" else "relative value (not reflectance)"
            ds[name].attrs.update({"units": "1", "long_name": f"{name} {what}"})
        return check_scene(ds)

    def _target(self, village: Village, specs: Sequence[FileSpec]):
        ref = specs[0]
        if self.resampling == "grid":
            with rasterio.open(ref.path) as src:
                res = float(self.resolution) if self.resolution else native_resolution_m(src)
            return grid_for(village, res).geobox()
        return self._native_geobox(ref.path, village, [s.path for s in specs])

    def _scene_attrs(self, village: Village, specs: Sequence[FileSpec], ids, target, skipped) -> dict:
        sensors = sorted({s.sensor for s in specs})
        units = sorted({s.units for s in specs})
        if len(units) > 1:
            log.warning("village %s: calibrated and relative files mixed (%s): the scene is relative", village.id,
                        ", ".join(f"{s.path.name} {s.units}" for s in specs))
        scene_units = "relative" if "relative" in units else "reflectance"
        levels = sorted({s.level for s in specs if s.units == "reflectance"})
        level = "none" if scene_units == "relative" else (levels[0] if len(levels) == 1 else "unknown")
        return {
            "sensor": sensors[0] if len(sensors) == 1 else "+".join(sensors),
            "item_ids": ids,
            "source": "files",
            "resampling": self.resampling,
            "resampling_method": self.method or "auto",
            "resolution": float(abs(target.resolution.x)),
            "files": [str(s.path) for s in specs],
            "dates_from": {s.path.name: s.date_from for s in specs},
            "sensors_from": {s.path.name: s.sensor_from for s in specs},
            "reflectance_units": scene_units,
            "reflectance_level": level,
            "radiometry": {s.path.name: s.record() for s in specs},
            "skipped_files": skipped,
        }

    def _readable_specs(self, label: str) -> tuple[list[FileSpec], dict[str, str]]:
        """The spec of every usable file; a file that cannot be used (corrupt, no CRS, no date,
        bands not matching the band map) is skipped with a warning naming it, so one bad upload
        in a shared folder does not stop every village. If no file is usable, the first
        file's error is raised."""
        specs: list[FileSpec] = []
        skipped: dict[str, str] = {}
        first: ImageryFileError | None = None
        for p in self._files:
            try:
                specs.append(self.spec(p))
            except ImageryFileError as exc:
                first = first or exc
                skipped[str(p)] = str(exc)
                log.warning("%s: skipping %s: %s", label, p, exc)
        if not specs and first is not None:
            raise first
        return specs, skipped

    def _overlaps(self, path: Path, village: Village) -> bool:
        with rasterio.open(path) as src:
            tr = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
            local = shp_transform(tr.transform, village.geometry)
            return box(*src.bounds).intersects(local)

    def _native_geobox(self, ref: Path, village: Village, paths: Sequence[Path]):
        """The reference file's pixel grid, clipped to the village's buffered bounding box
        and to the union of the files' footprints."""
        from odc.geo.geobox import GeoBox

        with rasterio.open(ref) as src:
            crs, transform = src.crs, src.transform
            res_m = native_resolution_m(src)
        g = grid_for(village, max(res_m, 1e-3))
        tr = Transformer.from_crs(g.crs, crs, always_xy=True)
        clip = shp_transform(tr.transform, box(*g.bounds))
        union = None
        for p in paths:
            with rasterio.open(p) as src:
                fp = box(*src.bounds)
                if src.crs != crs:
                    t2 = Transformer.from_crs(src.crs, crs, always_xy=True)
                    fp = shp_transform(t2.transform, fp)
            union = fp if union is None else union.union(fp)
        area = clip.intersection(union)
        minx, miny, maxx, maxy = area.bounds
        inv = ~transform
        cols, rows = zip(*[inv * (x, y) for x, y in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))])
        c0, c1 = math.floor(min(cols) + 1e-9), math.ceil(max(cols) - 1e-9)
        r0, r1 = math.floor(min(rows) + 1e-9), math.ceil(max(rows) - 1e-9)
        win_t = transform * Affine.translation(c0, r0)
        return GeoBox((max(1, r1 - r0), max(1, c1 - c0)), win_t, crs)

    def _read_onto(self, spec: FileSpec, target, bands: Sequence[str]) -> xr.Dataset:
        """One file's bands (those in ``bands``) as float32 on ``target``, masked pixels NaN
        (paste when the pixel grids agree, else reproject with ``method``)."""
        from odc.geo.geobox import GeoBox
        from odc.geo.overlap import compute_reproject_roi
        from odc.geo.xr import xr_reproject

        chunks = {**DEFAULT_CHUNKS, **dict(self.chunks or {})}
        out = {}
        info = None
        for name, index, scale, offset, nodata in zip(spec.bands, spec.indexes, spec.scales, spec.offsets,
                                                      spec.nodatas):
            if name not in bands:
                continue
            try:
                refl = read_band(spec.path, index, scale=scale, offset=offset, nodata=nodata,
                                 dataset_mask=spec.dataset_mask, alpha=spec.alpha, chunks=chunks)
            except rasterio.errors.RasterioIOError as exc:
                raise ImageryFileError(f"{spec.path}: cannot be read ({exc})") from exc
            if info is None:
                src_gbox = GeoBox(refl.shape, refl.rio.transform(), refl.rio.crs)
                info = compute_reproject_roi(src_gbox, target, ttol=1e-3, stol=1e-6)
            if info.paste_ok and info.read_shrink == 1:
                out[name] = paste(refl, info, target)
            else:
                method = self.method or ("average" if float(info.scale) >= 2.0 else "bilinear")
                out[name] = xr_reproject(refl, target, resampling=method, src_nodata=np.nan,
                                         dst_nodata=np.nan).astype("float32")
        ds = xr.Dataset(out)
        ds = ds.drop_vars([c for c in ds.coords if c not in ("y", "x")])
        y, x = geobox_coords(target)
        return ds.assign_coords(y=y, x=x)


def _window_message(label: str, specs: Sequence[FileSpec], start: dt.date, end: dt.date) -> str:
    """One line: no file dated in the window, each file's date, the window that takes them."""
    dated = sorted(specs, key=lambda s: (s.date, s.path.name))
    listed = "; ".join(f"{s.path.name} {s.date} ({s.date_from})" for s in dated[:_LIST_MAX])
    more = f"; and {len(dated) - _LIST_MAX} more" if len(dated) > _LIST_MAX else ""
    return (f"{label}: {len(specs)} imagery file(s) found but none dated between {start} and {end} "
            f"(their dates: {listed}{more}); use --start {dated[0].date} --end {dated[-1].date}")
