"""STAC imagery source: pystac-client search + odc-stac load onto the village grid.

``StacSource(url="earth-search", collection="sentinel-2-l2a").load(village, start, end)``
returns a Scene (``sensing.scene``): surface reflectance (``sensing.radiometry``, per item),
cloud/shadow/snow masked (``sensing.masking``), one time step per solar day, each with its
``valid_fraction`` over the village polygon; dates under ``min_valid_fraction`` are dropped
with a log line. ``url`` is a preset (``earth-search``, ``planetary-computer``), any STAC API
URL, or a local static catalog / folder of saved item JSON (offline re-runs,
:meth:`StacSource.from_saved_items`).

Several items on one solar day (neighbouring tiles, overlapping paths) are mosaicked
(first valid pixel, items ordered by time then id). Because the BOA offset is per item, items
are grouped by (solar day, radiometry): each group is converted to reflectance with its own
scale/offset, then groups of the same day are fused, so a day mixing baselines is still right.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
import pystac
import xarray as xr
from shapely.geometry import mapping, shape

from aoi import Village, grid_for

from .errors import NoDataError, SensingError, SourceOptionError, SourceUnavailableError
from .http import (call_with_retries, is_transient_body_error, redact, redact_text, stac_api_io)
from .composite import fuse_same_day
from .masking import aoi_mask, aoi_valid_fraction, quality_valid
from .radiometry import Radiometry, asset_radiometry, to_reflectance
from .scene import DEFAULT_CHUNKS, assign_valid_fractions, check_scene
from .sensors import SENSORS, Sensor
from .stacitems import (LoadPlan, _as_date, _item_time, item_json_for_provenance, resolve_asset,  # noqa: F401
                        resolve_quality_asset, save_item_json)

log = logging.getLogger("villagewatch.sensing.stac")

PRESETS: Mapping[str, str] = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}
#: collection ids served under other names, mapped to our sensor names
COLLECTION_SENSORS: Mapping[str, str] = {
    "sentinel-2-l2a": "sentinel-2-l2a",
    "sentinel-2-c1-l2a": "sentinel-2-l2a",
    "sentinel-s2-l2a-cogs": "sentinel-2-l2a",
    "landsat-c2-l2": "landsat-c2-l2",
    "landsat-c2l2-sr": "landsat-c2-l2",
}
#: Landsat C2 L2 platforms with the OLI band layout in ``SENSORS["landsat-c2-l2"]``
LANDSAT_OLI_PLATFORMS = ("landsat-8", "landsat-9")
_PC_HOST = "planetarycomputer.microsoft.com"


@dataclass(frozen=True, kw_only=True)
class StacSource:
    """Imagery from a STAC API (or a local static catalog / saved items folder).

    ``url``: preset name, API URL, catalog.json path, or a folder of item JSON.
    ``collection``/``sensor``: ``sentinel-2-l2a`` (default) or ``landsat-c2-l2``.
    ``max_cloud``: maximum ``eo:cloud_cover`` (%). ``min_valid_fraction``: dates whose share
    of valid pixels over the village polygon is lower are dropped. ``resolution``: metres
    (default: the sensor's, 10 S2 / 30 Landsat). ``bands``: common-name subset (default: all
    of the sensor's). ``sign``: ``None`` signs Planetary Computer assets automatically with
    ``planetary_computer.sign_inplace``; ``True``/``False`` force it; a callable
    ``f(item) -> None`` signs in place. ``items_dir``: where the JSON of every item used is
    saved. ``chunks``: Dask chunk sizes (``{"x": 1024, "y": 1024}``). ``resampling``: for
    reflectance bands (the quality band is always ``nearest``). ``timeout`` (s),
    ``max_retries``, ``backoff`` (s): HTTP robustness of the search.
    """

    url: str = "earth-search"
    collection: str | None = None
    sensor: str | None = None
    max_cloud: float = 60.0
    min_valid_fraction: float = 0.2
    resolution: float | None = None
    bands: Sequence[str] | None = None
    sign: bool | Callable[[Any], Any] | None = None
    items_dir: str | Path | None = None
    chunks: Mapping[str, int] | None = None
    resampling: str = "bilinear"
    timeout: float = 30.0
    max_retries: int = 5
    backoff: float = 1.0
    limit: int = 100

    kind: ClassVar[str] = "stac"
    _sensor: Sensor = field(init=False, repr=False, compare=False)
    _collection: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sensor_name = self.sensor
        coll = self.collection
        if sensor_name is None:
            if coll is None:
                sensor_name = "sentinel-2-l2a"
            elif coll in COLLECTION_SENSORS:
                sensor_name = COLLECTION_SENSORS[coll]
            elif coll in SENSORS:
                sensor_name = coll
            else:
                raise SourceOptionError(f"unknown STAC collection {coll!r}: give sensor= one of "
                                 f"{', '.join(k for k in SENSORS if SENSORS[k].collections)}")
        if sensor_name not in SENSORS or not SENSORS[sensor_name].collections:
            raise SourceOptionError(f"sensor {sensor_name!r} is not a STAC sensor; choose one of "
                             f"{', '.join(k for k in SENSORS if SENSORS[k].collections)}")
        sen = SENSORS[sensor_name]
        if coll is None:
            coll = sen.collections.get(self.url, sen.name)
        object.__setattr__(self, "_sensor", sen)
        object.__setattr__(self, "_collection", coll)
        object.__setattr__(self, "sensor", sensor_name)
        object.__setattr__(self, "collection", coll)
        if self.bands is not None:
            bands = (self.bands,) if isinstance(self.bands, str) else tuple(self.bands)
            unknown = [b for b in bands if b not in sen.common_names()]
            if unknown or not bands:
                raise SourceOptionError(f"bands {unknown or bands} not offered by {sen.name}; "
                                 f"available: {', '.join(sen.common_names())}")
            object.__setattr__(self, "bands", bands)
        if not 0 <= float(self.max_cloud) <= 100:
            raise SourceOptionError(f"max_cloud must be 0..100 (%), got {self.max_cloud}")
        if not 0 <= float(self.min_valid_fraction) <= 1:
            raise SourceOptionError(f"min_valid_fraction must be 0..1, got {self.min_valid_fraction}")
        if self.resolution is not None and not float(self.resolution) > 0:
            raise SourceOptionError(f"resolution must be positive metres, got {self.resolution}")
        if self.chunks is not None:
            object.__setattr__(self, "chunks", dict(self.chunks))

    # ------------------------------------------------------------------ options
    @classmethod
    def from_saved_items(cls, items_dir: str | Path, **options: Any) -> "StacSource":
        """A source that re-reads the item JSON saved by an earlier run (offline re-run).
        ``collection`` defaults to the saved items' own."""
        folder = Path(items_dir)
        if not folder.is_dir():
            raise SourceUnavailableError(f"saved STAC items folder {folder} does not exist")
        if "collection" not in options and "sensor" not in options:
            for f in sorted(folder.glob("*.json")):
                coll = json.loads(f.read_text(encoding="utf-8")).get("collection")
                if coll:
                    options["collection"] = coll
                    break
        return cls(url=str(folder), **options)

    @property
    def api_url(self) -> str:
        """The resolved URL (presets expanded) or local path."""
        return PRESETS.get(self.url, self.url)

    @property
    def is_local(self) -> bool:
        u = self.api_url
        return not (u.startswith("http://") or u.startswith("https://"))

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(self.bands) if self.bands else self._sensor.common_names()

    @property
    def grid_resolution(self) -> float:
        return float(self.resolution) if self.resolution else float(self._sensor.resolution)

    def _signer(self, items: Sequence[pystac.Item] = ()) -> Callable[[Any], Any] | None:
        if callable(self.sign):
            return self.sign
        auto = self.sign is None and (
            _PC_HOST in self.api_url
            or any(".blob.core.windows.net" in (a.href or "") for it in items for a in it.assets.values())
        )
        if self.sign is True or auto:
            import planetary_computer

            return planetary_computer.sign_inplace
        return None

    def describe(self) -> dict:
        """Options that shaped the load (for the manifest); no credentials or signed URLs."""
        sign = ("custom" if callable(self.sign) else
                "planetary_computer" if (self.sign is True or (self.sign is None and _PC_HOST in self.api_url))
                else ("auto" if self.sign is None else False))
        return {
            "kind": self.kind,
            "url": redact(self.api_url),
            "preset": self.url if self.url in PRESETS else None,
            "collection": self._collection,
            "sensor": self.sensor,
            "max_cloud": float(self.max_cloud),
            "min_valid_fraction": float(self.min_valid_fraction),
            "resolution": self.grid_resolution,
            "bands": list(self.band_names),
            "resampling": {"reflectance": self.resampling, "quality": "nearest"},
            "mask": {"kind": self._sensor.mask.kind, "band": self._sensor.mask.band,
                     "values": list(self._sensor.mask.values)},
            "groupby": "solar_day",
            "sign": sign,
            "chunks": dict(self.chunks) if self.chunks else None,
            "items_dir": str(self.items_dir) if self.items_dir else None,
        }

    # ------------------------------------------------------------------ search
    def fetch(self, village: Village, start: dt.date, end: dt.date) -> list[pystac.Item]:
        """Every item the catalog or API offers for ``village``'s area and the window (unfiltered)."""
        with warnings.catch_warnings():  # pystac's storage-extension migration chatter
            warnings.filterwarnings("ignore", message="Could not parse bucket", category=UserWarning)
            return self._fetch_local() if self.is_local else self._fetch_api(village, start, end)

    def _fetch_local(self) -> list[pystac.Item]:
        path = Path(self.api_url.removeprefix("file://"))
        if not path.exists():
            raise SourceUnavailableError(f"STAC catalog {path} does not exist")
        if path.is_dir():
            items = []
            for f in sorted(path.glob("*.json")):
                d = json.loads(f.read_text(encoding="utf-8"))
                if d.get("type") == "Feature":
                    items.append(pystac.Item.from_dict(d, href=str(f)))
            items_out = items
        else:
            d = json.loads(path.read_text(encoding="utf-8"))
            if d.get("type") == "FeatureCollection":
                items_out = list(pystac.ItemCollection.from_dict(d))
            elif d.get("type") == "Feature":
                items_out = [pystac.Item.from_dict(d, href=str(path))]
            else:
                cat = pystac.read_file(str(path))
                items_out = list(cat.get_items(recursive=True)) if hasattr(cat, "get_items") else []
        for it in items_out:
            it.make_asset_hrefs_absolute()
        return items_out

    def _fetch_api(self, village: Village, start: dt.date, end: dt.date) -> list[pystac.Item]:
        from pystac_client import Client
        from pystac_client.conformance import ConformanceClasses
        from pystac_client.exceptions import APIError

        url = self.api_url
        signer = self._signer()
        # planetary_computer.sign_inplace signs whatever pystac-client hands its modifier
        # (pages, items, collections); a user callable gets the items afterwards.
        modifier = signer if not callable(self.sign) else None
        io = stac_api_io(timeout=self.timeout, max_retries=self.max_retries, backoff=self.backoff)

        def _run() -> list[pystac.Item]:
            # Client.open re-applies its own ``timeout`` to the StacApiIO: pass ours again
            client = Client.open(url, stac_io=io, modifier=modifier, timeout=self.timeout)
            if not client.conforms_to(ConformanceClasses.ITEM_SEARCH):
                log.info("%s does not offer item search; walking the catalog", redact(url))
                return list(client.get_items(recursive=True))
            params: dict[str, Any] = {
                "collections": [self._collection],
                "intersects": mapping(village.geometry),
                "datetime": f"{start.isoformat()}/{end.isoformat()}",
                "limit": self.limit,
            }
            if client.conforms_to(ConformanceClasses.QUERY):
                params["query"] = {"eo:cloud_cover": {"lte": float(self.max_cloud)}}
            elif client.conforms_to(ConformanceClasses.FILTER):
                params["filter"] = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, float(self.max_cloud)]}
                params["filter_lang"] = "cql2-json"
            return list(client.search(**params).items())

        try:
            return call_with_retries(_run, attempts=max(1, self.max_retries), backoff=self.backoff,
                                     retry_if=is_transient_body_error, what=f"STAC search at {redact(url)}")
        except APIError as exc:
            status = getattr(exc, "status_code", None)
            if status is None:
                raise SourceUnavailableError(f"STAC API {redact(url)} is unreachable: {redact_text(str(exc))}") from exc
            raise SourceUnavailableError(f"STAC API {redact(url)} answered HTTP {status}: {redact_text(str(exc))[:300]}") from exc
        except (pystac.errors.STACError, pystac.errors.STACTypeError) as exc:  # answered, not STAC
            raise SourceUnavailableError(f"{redact(url)} is not a STAC API: {redact_text(str(exc))}") from exc
        except ValueError as exc:  # JSONDecodeError after the retries
            if is_transient_body_error(exc):
                raise SourceUnavailableError(f"STAC API {redact(url)} returned invalid JSON: {redact_text(str(exc))}") from exc
            raise

    def _keep(self, item: pystac.Item, village: Village, start: dt.date, end: dt.date) -> str | None:
        """Why ``item`` is rejected (None: kept). Applied to every source of items, since
        static catalogs cannot filter and APIs differ in what they honour."""
        coll = item.collection_id
        if coll and coll != self._collection:
            return f"collection {coll}"
        day = _item_time(item).date()
        if not start <= day <= end:
            return f"date {day} outside {start}..{end}"
        cc = item.properties.get("eo:cloud_cover")
        if cc is not None and float(cc) > float(self.max_cloud):
            return f"eo:cloud_cover {float(cc):.1f} > {float(self.max_cloud):g}"
        if item.geometry is not None and not shape(item.geometry).intersects(village.geometry):
            return "footprint does not cover the village"
        if self._sensor.name == "landsat-c2-l2":
            platform = str(item.properties.get("platform", "")).lower().replace("_", "-")
            if platform and platform not in LANDSAT_OLI_PLATFORMS:
                return f"platform {platform} (only Landsat 8/9 OLI)"
        return None

    def search(self, village: Village, start: Any, end: Any, *, fetched: list[pystac.Item] | None = None
               ) -> list[pystac.Item]:
        """The items covering ``village`` between ``start`` and ``end`` (inclusive days) that pass
        the collection, date, cloud and footprint filters, sorted by time then id (signed when
        signing applies). ``fetched``: the answer of one search over several villages' area."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            raise SourceOptionError(f"village {village.id}: end {end} is before start {start}")
        raw = self.fetch(village, start, end) if fetched is None else fetched
        kept: dict[str, pystac.Item] = {}
        for it in raw:
            why = self._keep(it, village, start, end)
            if why is None:
                kept.setdefault(it.id, it)
            else:
                log.debug("village %s: item %s skipped: %s", village.id, it.id, why)
        items = sorted(kept.values(), key=lambda i: (_item_time(i), i.id))
        log.info("village %s: %d of %d %s items from %s between %s and %s kept",
                 village.id, len(items), len(raw), self._collection, redact(self.api_url), start, end)
        if self.is_local or callable(self.sign):
            signer = self._signer(items)
            if signer is not None:
                for it in items:
                    signer(it)
        return items

    # ------------------------------------------------------------------ load
    def load(self, village: Village, start: Any, end: Any) -> xr.Dataset:
        """The village's Scene between ``start`` and ``end`` (inclusive days)."""
        start, end = _as_date(start), _as_date(end)
        lp = self.prepare(village, self.search(village, start, end), start, end)
        ds, valid = self.reflectance(lp, self.read(lp, lp.grid))
        return self.select(village, lp, ds, self.valid_fraction(village, lp, valid))

    def prepare(self, village: Village, items: Sequence[pystac.Item], start: dt.date, end: dt.date) -> LoadPlan:
        """What a load of ``village`` reads: the usable items, their assets and radiometry, the
        grid and the time steps (solar day, radiometry); ``NoDataError`` when nothing is usable.
        Villages with equal :meth:`LoadPlan.share_key` read the same pixels (``sensing.tileshare``)."""
        window = f"{start}..{end}"
        if not items:
            raise NoDataError(
                f"village {village.id}: no {self._collection} items at {redact(self.api_url)} for {window} "
                f"with eo:cloud_cover <= {float(self.max_cloud):g}")
        sen = self._sensor
        names = self.band_names
        usable: list[pystac.Item] = []
        assets: dict[str, str] = {}
        quality: str | None = None
        for it in items:
            amap = {cn: resolve_asset(it, sen, cn) for cn in names}
            q = resolve_quality_asset(it, sen)
            missing = [cn for cn, a in amap.items() if a is None]
            if sen.mask.kind != "none" and q is None:
                missing.append(str(sen.mask.band))
            if missing:
                log.warning("village %s: item %s lacks %s; skipped", village.id, it.id, ", ".join(missing))
                continue
            if assets and (amap != assets or q != quality):
                log.warning("village %s: item %s names its assets differently (%s); skipped",
                            village.id, it.id, amap)
                continue
            assets, quality = amap, q
            usable.append(it)
        if not usable:
            raise NoDataError(f"village {village.id}: no {self._collection} item for {window} has the bands "
                              f"{', '.join(names)}" + (f" and {sen.mask.band}" if quality is None else ""))
        rad: dict[str, dict[str, Radiometry]] = {
            it.id: {cn: asset_radiometry(it, assets[cn], sen) for cn in names} for it in usable}
        lon = float(village.geometry.centroid.x)
        radkeys = sorted({tuple(rad[it.id][cn].key() for cn in names) for it in usable},
                         key=lambda k: json.dumps(k))
        key_of: dict[str, tuple[str, int]] = {}
        for it in usable:
            solar = (_item_time(it) + dt.timedelta(seconds=lon * 240.0)).date()
            key_of[it.id] = (solar.isoformat(), radkeys.index(tuple(rad[it.id][cn].key() for cn in names)))
        groups = sorted(set(key_of.values()))
        members = {g: sorted((it for it in usable if key_of[it.id] == g), key=lambda i: (_item_time(i), i.id))
                   for g in groups}
        return LoadPlan(window, usable, assets, quality, grid_for(village, self.grid_resolution), rad, key_of,
                        groups, members)

    def read(self, lp: LoadPlan, grid: Any) -> xr.Dataset:
        """The raw assets of ``lp`` on ``grid`` (lazy; one time step per group)."""
        raw = self._odc_load(lp.usable, lp.assets, lp.quality, grid, lp.key_of)
        if raw.sizes.get("time", 0) != len(lp.groups):  # pragma: no cover - odc-stac contract
            raise SensingError(f"odc-stac returned {raw.sizes.get('time')} time steps for {len(lp.groups)} groups")
        return raw

    def reflectance(self, lp: LoadPlan, raw: xr.Dataset) -> tuple[xr.Dataset, xr.DataArray]:
        """Reflectance of every band, masked by the quality band, and the quality mask (lazy,
        per pixel: a window of ``raw`` gives that window of the result); days with several
        radiometries fused."""
        names = self.band_names
        refl = {}
        for cn in names:
            g_rad = [lp.rad[lp.members[g][0].id][cn] for g in lp.groups]
            scale = xr.DataArray([r.scale for r in g_rad], dims="time")
            offset = xr.DataArray([r.offset for r in g_rad], dims="time")
            nodata = xr.DataArray([np.nan if r.nodata is None else float(r.nodata) for r in g_rad], dims="time")
            refl[cn] = to_reflectance(raw[lp.assets[cn]], scale, offset, nodata)
        if lp.quality is not None:
            valid = quality_valid(raw[lp.quality], self._sensor.mask)
        else:
            valid = refl[names[0]].notnull()
        ds = xr.Dataset({cn: refl[cn].where(valid) for cn in names})
        ds = ds.assign_coords(time=pd.DatetimeIndex(raw["time"].values).as_unit("ns"))
        if len(lp.days) < len(lp.groups):  # one day, several radiometries: fuse after scaling
            ds, valid = fuse_same_day(ds, valid, lp.days_unfused)
        return ds, valid

    def valid_fraction(self, village: Village, lp: LoadPlan, valid: xr.DataArray, *,
                       compute: bool = True) -> Any:
        """Per time step, the share of the village polygon's pixels that the quality band
        keeps (read now unless ``compute=False``: then lazy, for one read of many villages)."""
        try:
            vf = aoi_valid_fraction(valid, aoi_mask(village.geometry, lp.grid), compute=compute)
        except (SensingError, ValueError):
            raise
        except Exception as exc:  # rasterio / HTTP errors while reading the quality band
            raise SourceUnavailableError(
                f"village {village.id}: reading {self._collection} assets from {redact(self.api_url)} "
                f"failed: {type(exc).__name__}: {redact_text(str(exc))}") from exc
        return vf

    def select(self, village: Village, lp: LoadPlan, ds: xr.Dataset, vf: Any) -> xr.Dataset:
        """The Scene: the time steps whose valid fraction ``vf`` reaches ``min_valid_fraction``
        (the rest dropped with a log line), with their item ids, valid fractions and provenance."""
        names = self.band_names
        item_ids, days = lp.item_ids, lp.days
        vf_values = np.asarray(getattr(vf, "values", vf), dtype="float64")
        keep = vf_values >= float(self.min_valid_fraction)
        for d, f, k in zip(days, vf_values, keep):
            if not k:
                log.info("village %s: %s dropped: valid fraction %.2f over the AOI < %.2f",
                         village.id, d, f, float(self.min_valid_fraction))
            else:
                log.info("village %s: %s kept: valid fraction %.2f", village.id, d, f)
        if not keep.any():
            best = int(np.argmax(vf_values))
            raise NoDataError(
                f"village {village.id}: all {len(days)} date(s) in {lp.window} are under the valid fraction "
                f"{float(self.min_valid_fraction):.2f} over the village (best {vf_values[best]:.2f} on {days[best]})")
        idx = np.flatnonzero(keep)
        ds = ds.isel(time=idx)
        kept_ids = [item_ids[i] for i in idx]
        ds = ds.assign_coords(item_id=("time", kept_ids))
        ds = assign_valid_fractions(ds, vf_values[idx], {cn: vf_values[idx] for cn in names}, over="aoi",
                                    source=f"quality band {lp.quality}" if lp.quality else f"band {names[0]}")
        ds = self._finish(ds, lp.grid, kept_ids,
                          [lp.rad[lp.members[lp.groups[0]][0].id][cn].rule for cn in names],
                          {i.id: i for i in lp.usable})
        return check_scene(ds)

    def _odc_load(self, items: list[pystac.Item], assets: Mapping[str, str], quality: str | None,
                  grid: Any, key_of: Mapping[str, tuple[str, int]]) -> xr.Dataset:
        import odc.stac

        to_load = list(dict.fromkeys(list(assets.values()) + ([quality] if quality else [])))
        # dtypes come from raster:bands (float32 when absent); odc-stac 0.5 cannot combine a
        # per-band dtype dict with chunks. Nodata (DN 0 or NaN) is handled by to_reflectance.
        resampling: dict[str, str] = {"*": self.resampling}
        if quality:
            resampling[quality] = "nearest"
        chunks = {**{k: v for k, v in DEFAULT_CHUNKS.items() if k != "time"},
                  **{k: v for k, v in (self.chunks or {}).items() if k in ("x", "y")}}
        if any(not (a.href or "").startswith(("/", "file:")) for it in items for a in it.assets.values()):
            odc.stac.configure_rio(cloud_defaults=True, GDAL_HTTP_MAX_RETRY=str(self.max_retries),
                                   GDAL_HTTP_RETRY_DELAY=str(max(self.backoff, 0.5)))
        try:
            return odc.stac.load(
                items, bands=to_load, geobox=grid.geobox(), chunks=chunks,
                groupby=lambda item, parsed, idx: key_of[item.id],
                resampling=resampling, fail_on_error=True,
            )
        except ValueError as exc:
            raise SensingError(f"odc-stac cannot load {to_load} from {self._collection}: {redact_text(str(exc))}") from exc

    def _finish(self, ds: xr.Dataset, grid: Any, item_ids: list[str], rules: list[str],
                by_id: Mapping[str, pystac.Item]) -> xr.Dataset:
        ds = ds.drop_vars([c for c in ("spatial_ref",) if c in ds.coords])
        y, x = grid.coords()
        ds = ds.assign_coords(y=y, x=x)
        ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
        ds.attrs.update({
            "sensor": self.sensor,
            "item_ids": list(item_ids),
            "source": "stac",
            "stac_url": redact(self.api_url),
            "collection": self._collection,
            "resolution": grid.resolution,
            "radiometry": sorted(set(rules)),
            "reflectance_units": "reflectance",
            "reflectance_level": self._sensor.reflectance_level or "unknown",
        })
        for name in ds.data_vars:
            ds[name].attrs.update({"units": "1", "long_name": f"{name} surface reflectance"})
        if self.items_dir:
            for ids in item_ids:
                for iid in ids.split("+"):
                    save_item_json(by_id[iid], self.items_dir)
        return ds

