"""Local imagery source: GeoTIFF / COG orthomosaics and scenes (drones, GF-2, aerial).

``FilesSource(paths="flights/", band_map=("red", "green", "blue", "nir")).load(village, start, end)``
returns a Scene (``sensing.scene``) with one time step per acquisition date.

Per file the settings come from, in order: the band-map file's ``files: {<name>: {...}}``
entry, the constructor options, the band-map file's top level, the file's own metadata, and
defaults. A band-map file (YAML or JSON; ``band_map.json``/``band_map.yaml`` in the folder is
picked up automatically)::

    {"bands": ["red", "green", "blue", "nir"], "scale": 0.003921, "offset": 0, "nodata": 0,
     "sensor": "drone-rgb", "date": "2024-05-01",
     "files": {"flight2.tif": {"date": "2024-06-01"}}}

- Bands: ``band_map`` (common names in band order), else band descriptions naming common
  names, else a 3-band file's red/green/blue colour interpretation; otherwise an error asks
  for a band map. Bands missing from some files are dropped from all (log line).
- Radiometry: ``reflectance = DN x scale + offset``; scale defaults to the file's own
  scale/offset tags, else 1/255 for 8-bit files, else 1 (and values above 2 are then an error
  asking for ``scale``). Nodata (option, band map, or the file's) becomes NaN.
- Date: band-map per-file ``date``; acquisition tags (``ACQUISITIONDATETIME``,
  ``ACQUISITION_DATE``, ``DATE_ACQUIRED``...); a ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD``
  date in the file name; ``TIFFTAG_DATETIME`` (often the processing time, hence late);
  finally ``date`` (option or band map). A file with none of these is an error.
- ``resampling="grid"`` (default): every file is reprojected onto
  ``aoi.grid_for(village, resolution)`` (local UTM; ``resolution`` defaults to the first file's
  pixel size in metres) with ``method``; by default bilinear (reflectance), or the pixel
  average when the target pixel is at least twice the file's (a 10 cm drone mosaic onto a
  10 m grid: bilinear would only sample it).
  ``resampling="native"``: the first overlapping file's own CRS and pixel grid, clipped to the
  village's bounding box (the grid's buffered extent); later files are pasted when they share
  that pixel grid and reprojected onto it otherwise. Both choices are in :meth:`describe`.
- Files on the same date are mosaicked (first file wins where both have data); dates stack
  in time order. A file not overlapping the village is skipped with a log line; none
  overlapping is ``NoDataError``. Unreadable files, a missing CRS or a band count that does
  not match the band map are ``ImageryFileError`` naming the file; among several files such a
  file is skipped with a warning (``attrs["skipped_files"]``: path -> reason) and the error is
  raised only when no file is usable.
- ``valid_fraction`` per date: the share of the village polygon's pixels where the first
  band has data (nodata and outside the files are NaN).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
import rasterio
import rioxarray
import xarray as xr
from affine import Affine
from pyproj import Transformer
from rasterio.enums import ColorInterp
from shapely.geometry import box
from shapely.ops import transform as shp_transform

from aoi import Village, grid_for

from .errors import ImageryFileError, NoDataError
from .masking import aoi_mask, aoi_valid_fraction
from .radiometry import to_reflectance
from .scene import COMMON_NAMES, DEFAULT_CHUNKS, check_scene
from .sensors import SENSORS

log = logging.getLogger("villagewatch.sensing.files")

RESAMPLING_MODES = ("native", "grid")
TIFF_SUFFIXES = (".tif", ".tiff")
BAND_MAP_NAMES = ("band_map.json", "band_map.yaml", "band_map.yml", "bandmap.json", "bandmap.yaml", "bandmap.yml")
#: metadata tags holding an acquisition time, most specific first
ACQUISITION_TAGS = ("ACQUISITIONDATETIME", "ACQUISITION_DATETIME", "ACQUISITIONDATE", "ACQUISITION_DATE",
                    "DATE_ACQUIRED", "IMAGINGDATE", "IMAGING_DATE", "EXIF_DATETIMEORIGINAL", "DATETIMEORIGINAL")
_NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_BAND_SYNONYMS = {
    "r": "red", "g": "green", "b": "blue", "n": "nir", "nir": "nir", "near-infrared": "nir",
    "near infrared": "nir", "nearinfrared": "nir", "re": "rededge1", "rededge": "rededge1", "red edge": "rededge1",
    "red-edge": "rededge1",
}
_M_PER_DEG = 111_319.49  # metres per degree of latitude on WGS 84 (mean)


@dataclass(frozen=True)
class FileSpec:
    """How one file is read: its bands, radiometry, date and where each came from."""

    path: Path
    bands: tuple[str, ...]
    scale: float
    offset: float
    nodata: float | None
    date: dt.date
    date_from: str
    sensor: str


def _parse_date(value: Any) -> dt.date | None:
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
    m = _NAME_DATE.search(s)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def date_from_name(name: str) -> dt.date | None:
    """A ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD`` date in a file name (not inside a
    longer number)."""
    for m in _NAME_DATE.finditer(name):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


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


def _norm_band(name: str) -> str:
    n = str(name).strip().lower()
    return _BAND_SYNONYMS.get(n, n)


def _check_bands(bands: Sequence[str], where: str) -> tuple[str, ...]:
    out = tuple(_norm_band(b) for b in bands)
    bad = [b for b in out if b not in COMMON_NAMES]
    if bad:
        raise ImageryFileError(f"{where}: band names {bad} are not eo:common_name values "
                               f"({', '.join(COMMON_NAMES)})")
    if len(set(out)) != len(out):
        raise ImageryFileError(f"{where}: band names repeat: {list(out)}")
    return out


def native_resolution_m(src: rasterio.DatasetReader) -> float:
    """Pixel size in metres (for geographic CRSs: the north-south size at the file's centre)."""
    if src.crs is not None and src.crs.is_geographic:
        return round(abs(src.transform.e) * _M_PER_DEG, 3)
    return float(abs(src.transform.a))


@dataclass(frozen=True, kw_only=True)
class FilesSource:
    """Imagery from local GeoTIFF/COG files.

    ``paths``: a folder (its ``*.tif``/``*.tiff``), one file, or a list of files.
    ``band_map``: common names in band order (``("red", "green", "blue", "nir")`` or
    ``"red,green,blue,nir"``), a band-map file (JSON/YAML), or a dict. ``scale``/``offset``/
    ``nodata``: radiometry (``reflectance = DN x scale + offset``). ``sensor``: a name from
    ``sensing.sensors.SENSORS`` (default: ``drone-rgb`` for RGB-only files, else
    ``drone-multispectral``). ``date``: acquisition date for files that do not say.
    ``resampling``: ``"grid"`` or ``"native"`` (see the module docstring); ``method``: the
    resampling kernel (``bilinear``, ``nearest``, ``cubic``, ``average``...; default: bilinear,
    average when shrinking by 2x or more). ``resolution``:
    grid mode pixel size in metres (default: the first file's).
    """

    paths: str | Path | Sequence[str | Path]
    band_map: Any = None
    scale: float | None = None
    offset: float | None = None
    nodata: float | None = None
    sensor: str | None = None
    date: Any = None
    resampling: str = "grid"
    method: str | None = None
    resolution: float | None = None
    chunks: Mapping[str, int] | None = None

    kind: ClassVar[str] = "files"
    _files: tuple[Path, ...] = field(init=False, repr=False, compare=False)
    _bandmap: dict = field(init=False, repr=False, compare=False)
    _bandmap_file: Path | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.resampling is None:
            object.__setattr__(self, "resampling", "grid")
        if self.resampling not in RESAMPLING_MODES:
            raise ValueError(f"resampling must be one of {RESAMPLING_MODES}, got {self.resampling!r}")
        if self.sensor is not None and self.sensor not in SENSORS:
            raise ValueError(f"unknown sensor {self.sensor!r}; known: {', '.join(SENSORS)}")
        if self.resolution is not None and not float(self.resolution) > 0:
            raise ValueError(f"resolution must be positive metres, got {self.resolution}")
        if self.date is not None and _parse_date(self.date) is None:
            raise ValueError(f"date {self.date!r} is not a date (YYYY-MM-DD)")
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
        if self._bandmap.get("sensor") and self._bandmap["sensor"] not in SENSORS:
            raise ImageryFileError(f"band map names unknown sensor {self._bandmap['sensor']!r}")
        if self._bandmap.get("bands"):
            _check_bands(self._bandmap["bands"], "band map")

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
        return {
            "kind": self.kind,
            "paths": [str(p) for p in self._files],
            "band_map": list(bm["bands"]) if bm.get("bands") else None,
            "band_map_file": str(self._bandmap_file) if self._bandmap_file else None,
            "scale": self.scale if self.scale is not None else bm.get("scale"),
            "offset": self.offset if self.offset is not None else bm.get("offset"),
            "nodata": self.nodata if self.nodata is not None else bm.get("nodata"),
            "sensor": self.sensor or bm.get("sensor"),
            "date": str(_parse_date(self.date or bm.get("date"))) if (self.date or bm.get("date")) else None,
            "resampling": self.resampling,
            "method": self.method or "auto: bilinear, average when shrinking >= 2x",
            "resolution": float(self.resolution) if self.resolution else None,
        }

    # ------------------------------------------------------------ per-file settings
    def _setting(self, path: Path, key: str, option: Any) -> Any:
        per_file = (self._bandmap.get("files") or {}).get(path.name) or {}
        if key in per_file:
            return per_file[key]
        if option is not None:
            return option
        return self._bandmap.get(key)

    def spec(self, path: Path) -> FileSpec:
        """Bands, radiometry, date and sensor of ``path`` (reads its header only)."""
        try:
            with rasterio.open(path) as src:
                count, dtype = src.count, src.dtypes[0]
                crs = src.crs
                tags = {k.upper(): v for k, v in src.tags().items()}
                for ns in ("IMAGERY", "IMD"):
                    try:
                        tags.update({k.upper(): v for k, v in src.tags(ns=ns).items()})
                    except Exception:  # noqa: BLE001 - domain absent
                        pass
                descriptions = src.descriptions
                colorinterp = src.colorinterp
                file_nodata = src.nodata
                scales, offsets = src.scales, src.offsets
        except rasterio.errors.RasterioIOError as exc:
            raise ImageryFileError(f"{path}: not a readable GeoTIFF ({exc})") from exc
        if crs is None:
            raise ImageryFileError(f"{path}: has no CRS (georeference the file, e.g. gdal_edit.py -a_srs)")

        bands = self._setting(path, "bands", None)
        if bands:
            bands = _check_bands(bands, f"band map for {path.name}")
        elif all(descriptions) and all(_norm_band(d) in COMMON_NAMES for d in descriptions):
            bands = _check_bands(descriptions, str(path))
        elif count == 3 and tuple(colorinterp) == (ColorInterp.red, ColorInterp.green, ColorInterp.blue):
            bands = ("red", "green", "blue")
        elif count == 3 and dtype == "uint8":
            bands = ("red", "green", "blue")
        else:
            raise ImageryFileError(
                f"{path}: cannot tell which band is which ({count} bands); give a band map, "
                f"e.g. --band-map red,green,blue,nir or a band_map.json beside the files")
        if len(bands) != count:
            raise ImageryFileError(f"{path}: has {count} band(s) but the band map names {len(bands)}: {list(bands)}")

        scale = self._setting(path, "scale", self.scale)
        offset = self._setting(path, "offset", self.offset)
        if scale is None and offset is None and (any(s != 1 for s in scales) or any(o != 0 for o in offsets)):
            scale, offset = float(scales[0]), float(offsets[0])
        if scale is None:
            scale = 1 / 255.0 if dtype == "uint8" else 1.0
            if dtype != "uint8":
                self._check_unscaled(path)
        nodata = self._setting(path, "nodata", self.nodata)
        if nodata is None:
            nodata = file_nodata

        date, date_from = None, ""
        per_file = (self._bandmap.get("files") or {}).get(path.name) or {}
        if per_file.get("date"):
            date, date_from = _parse_date(per_file["date"]), "band map (file entry)"
        if date is None:
            for t in ACQUISITION_TAGS:
                if tags.get(t):
                    date, date_from = _parse_date(tags[t]), f"tag {t}"
                    if date:
                        break
        if date is None:
            date, date_from = date_from_name(path.name), "file name"
        if date is None and tags.get("TIFFTAG_DATETIME"):
            date, date_from = _parse_date(tags["TIFFTAG_DATETIME"]), "tag TIFFTAG_DATETIME"
        if date is None and (self.date or self._bandmap.get("date")):
            date = _parse_date(self.date or self._bandmap.get("date"))
            date_from = "option" if self.date else "band map"
        if date is None:
            raise ImageryFileError(f"{path}: no acquisition date in its metadata or name; "
                                   f"give one (--date YYYY-MM-DD or 'date' in the band map)")

        sensor = self._setting(path, "sensor", self.sensor)
        if sensor is None:
            sensor = "drone-rgb" if set(bands) <= {"red", "green", "blue"} else "drone-multispectral"
        if sensor not in SENSORS:
            raise ImageryFileError(f"{path}: unknown sensor {sensor!r}; known: {', '.join(SENSORS)}")
        return FileSpec(path=path, bands=tuple(bands), scale=float(scale), offset=float(offset or 0.0),
                        nodata=None if nodata is None else float(nodata), date=date, date_from=date_from,
                        sensor=sensor)

    @staticmethod
    def _check_unscaled(path: Path) -> None:
        """Values of a non-8-bit file without any scale must look like reflectance."""
        with rasterio.open(path) as src:
            f = max(1, int(max(src.width, src.height) // 256))
            a = src.read(1, out_shape=(max(1, src.height // f), max(1, src.width // f)), masked=True)
        vmax = float(a.max()) if a.count() else 0.0
        if vmax > 2.0:
            raise ImageryFileError(
                f"{path}: values reach {vmax:g}, not reflectance (0..1) and no scale given; "
                f"give scale (e.g. 0.0001 for reflectance x 10000)")

    # ------------------------------------------------------------ load
    def load(self, village: Village, start: Any, end: Any) -> xr.Dataset:
        """The village's Scene from the files dated between ``start`` and ``end`` (inclusive)."""
        start, end = _parse_date(start), _parse_date(end)
        if start is None or end is None:
            raise ValueError(f"village {village.id}: start/end must be dates")
        specs, skipped = self._readable_specs(village)
        in_window = [s for s in specs if start <= s.date <= end]
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
        overlapping.sort(key=lambda s: (s.date, s.path.name))
        common = [b for b in overlapping[0].bands if all(b in s.bands for s in overlapping)]
        dropped = sorted({b for s in overlapping for b in s.bands} - set(common))
        if dropped:
            log.warning("village %s: bands %s are not in every file; dropped", village.id, dropped)
        if not common:
            raise ImageryFileError(f"village {village.id}: the files share no band: "
                                   + "; ".join(f"{s.path.name}: {list(s.bands)}" for s in overlapping))

        ref = overlapping[0]
        if self.resampling == "grid":
            with rasterio.open(ref.path) as src:
                res = float(self.resolution) if self.resolution else native_resolution_m(src)
            target = grid_for(village, res).geobox()
        else:
            target = self._native_geobox(ref.path, village, [s.path for s in overlapping])

        per_date: dict[dt.date, list[tuple[FileSpec, xr.Dataset]]] = {}
        for s in overlapping:
            per_date.setdefault(s.date, []).append((s, self._read_onto(s, target, common)))
        times, stacks, ids = [], [], []
        for day in sorted(per_date):
            fused = None
            for _, ds in per_date[day]:
                fused = ds if fused is None else fused.combine_first(ds)
            times.append(pd.Timestamp(day))
            stacks.append(fused)
            ids.append("+".join(s.path.stem for s, _ in per_date[day]))
        ds = xr.concat(stacks, dim=pd.DatetimeIndex(times, name="time").as_unit("ns"))
        ds = ds.transpose("time", "y", "x")
        chunks = {**DEFAULT_CHUNKS, **dict(self.chunks or {})}
        ds = ds.chunk({k: v for k, v in chunks.items() if k in ds.dims})

        aoi = aoi_mask(village.geometry, target)
        vf = aoi_valid_fraction(ds[common[0]].notnull(), aoi)
        ds = ds.assign_coords(item_id=("time", ids), valid_fraction=("time", np.asarray(vf.values, "float64")))
        for t, f in zip(times, vf.values):
            log.info("village %s: %s valid fraction %.2f over the AOI", village.id, t.date(), f)
        ds = ds.rio.write_crs(str(target.crs)).rio.write_transform(target.transform)
        sensors = sorted({s.sensor for s in overlapping})
        ds.attrs.update({
            "sensor": sensors[0] if len(sensors) == 1 else "+".join(sensors),
            "item_ids": ids,
            "source": "files",
            "resampling": self.resampling,
            "resampling_method": self.method or "auto",
            "resolution": float(abs(target.resolution.x)),
            "files": [str(s.path) for s in overlapping],
            "dates_from": {s.path.name: s.date_from for s in overlapping},
            "skipped_files": skipped,
        })
        for name in ds.data_vars:
            ds[name].attrs.update({"units": "1", "long_name": f"{name} reflectance"})
        return check_scene(ds)

    def _readable_specs(self, village: Village) -> tuple[list[FileSpec], dict[str, str]]:
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
                log.warning("village %s: skipping %s: %s", village.id, p, exc)
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
        """One file as float32 reflectance on ``target`` (paste when the pixel grids agree,
        else reproject with ``method``)."""
        from odc.geo.geobox import GeoBox
        from odc.geo.overlap import compute_reproject_roi
        from odc.geo.xr import xr_reproject

        chunks = {**DEFAULT_CHUNKS, **dict(self.chunks or {})}
        try:
            da = rioxarray.open_rasterio(spec.path, chunks={"band": -1, "y": chunks["y"], "x": chunks["x"]},
                                         masked=False, lock=False)
        except Exception as exc:  # noqa: BLE001
            raise ImageryFileError(f"{spec.path}: cannot be read ({exc})") from exc
        src_gbox = GeoBox(da.shape[-2:], da.rio.transform(), da.rio.crs)
        out = {}
        info = compute_reproject_roi(src_gbox, target, ttol=1e-3, stol=1e-6)
        for i, name in enumerate(spec.bands):
            if name not in bands:
                continue
            band = da.isel(band=i).drop_vars("band")
            refl = to_reflectance(band, spec.scale, spec.offset, spec.nodata)
            refl = refl.rio.write_crs(da.rio.crs).rio.write_transform(da.rio.transform())
            if info.paste_ok and info.read_shrink == 1:
                out[name] = _paste(refl, info, target)
            else:
                method = self.method or ("average" if float(info.scale) >= 2.0 else "bilinear")
                out[name] = xr_reproject(refl, target, resampling=method, src_nodata=np.nan,
                                         dst_nodata=np.nan).astype("float32")
        ds = xr.Dataset(out)
        ds = ds.drop_vars([c for c in ds.coords if c not in ("y", "x")])
        y, x = _geobox_coords(target)
        return ds.assign_coords(y=y, x=x)


def _geobox_coords(gbox) -> tuple[np.ndarray, np.ndarray]:
    t: Affine = gbox.transform
    ny, nx = gbox.shape
    return t.f + t.e * (np.arange(ny) + 0.5), t.c + t.a * (np.arange(nx) + 0.5)


def _paste(da: xr.DataArray, info, target) -> xr.DataArray:
    """Copy the overlapping window of ``da`` into ``target``'s shape (NaN elsewhere): exact,
    no resampling, for files on the target's pixel grid."""
    ys, xs = info.roi_src
    yd, xd = info.roi_dst
    H, W = target.shape
    sub = da.isel(y=ys, x=xs).drop_vars(["y", "x", "spatial_ref"], errors="ignore")
    padded = sub.pad(y=(yd.start, H - yd.stop), x=(xd.start, W - xd.stop), constant_values=np.nan)
    return padded.astype("float32")
