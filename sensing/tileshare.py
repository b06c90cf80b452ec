"""Read each tile once: villages that a source reads from the same items (STAC) or files on one
pixel lattice share one load over the union of their boxes, and each village's Scene is its
window of that load.

Each village's load (``StacSource.load``, ``FilesSource.load``) reads its own box of the same
assets; villages of a county fall in the same satellite tile and date, so per-village loading
reads each tile's blocks once per village. :func:`load_many` groups the villages whose loads
would read the same things on the same pixel lattice (STAC: ``LoadPlan.share_key``, the items,
assets, time steps, CRS and resolution; files: the files that overlap them and the target CRS),
cuts each group into clusters whose union box stays small (:data:`MAX_UNION_PIXELS`, and at most
:data:`MAX_UNION_RATIO` times the villages' own boxes), loads each cluster once (lazily) and
cuts every village's window from it: the pixels are those of the village's own load (same
lattice, same resampling per output pixel: tested byte for byte on the products), the valid
fractions are computed over each village's polygon in one pass over the cluster (files: a
second pass, as the union's own load computes its valid fractions first), the Scene contract
holds (``check_scene``). STAC items are searched once for the villages' area and filtered per
village as its own search does.

The reads then happen once per cluster and date: a Scene of a cluster carries
``attrs[SHARED]`` (a token) and ``attrs[SHARED_VILLAGE]``; :func:`read_date` (called by
``flows.scenes.for_products``) reads one date's windows of every village of the cluster in one
Dask computation and keeps the others' until they ask (only the latest date per cluster: the
batch runner, ``flows.batches``, goes date by date). A source without a shared load (the demo,
which renders each village) is loaded village by village.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
import threading
from typing import Any, Callable, Hashable, Sequence

import xarray as xr
from shapely.geometry import box
from shapely.ops import unary_union

from aoi import Village

from .masking import aoi_mask, aoi_valid_counts, valid_fractions_from
from .scene import DEFAULT_CHUNKS, assign_valid_fractions, check_scene, chunk_bands

log = logging.getLogger("villagewatch.sensing.tileshare")

SHARED = "shared_read"
SHARED_VILLAGE = "shared_village"
#: a cluster's union box holds at most this many pixels per band (one date of it is read into
#: memory at once: 2,000,000 pixels are 96 MB for twelve float32 bands) ...
MAX_UNION_PIXELS = 2_000_000
#: ... and at most this many times the pixels of its villages' own boxes (villages far apart
#: in one tile are not worth a read of everything between them)
MAX_UNION_RATIO = 2.0

_lock = threading.Lock()
_tokens = itertools.count(1)
_shared: dict[str, "_Cluster"] = {}


@dataclasses.dataclass
class _Cluster:
    """The villages' lazy Scenes of one shared load, and the latest date read for them."""

    scenes: dict[str, xr.Dataset]
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    date: Any = None
    ready: dict[str, xr.Dataset] = dataclasses.field(default_factory=dict)


Box = tuple[float, float, float, float]  # left, bottom, right, top in the lattice's CRS


# --------------------------------------------------------------------------- clusters
def clusters(boxes: dict[str, Box], resolution: float, *, max_pixels: int = MAX_UNION_PIXELS,
             max_ratio: float = MAX_UNION_RATIO) -> list[list[str]]:
    """Villages (by id, ``boxes`` on one lattice) in clusters whose union box stays within
    ``max_pixels`` and ``max_ratio`` times the sum of their own boxes; greedy, north to south
    then west to east, each village into the cluster it grows least."""
    def px(b: Box) -> float:
        return (b[2] - b[0]) * (b[3] - b[1]) / (resolution * resolution)

    out: list[tuple[Box, float, list[str]]] = []
    for vid in sorted(boxes, key=lambda k: (-round(boxes[k][3] / 1000.0), boxes[k][0], k)):
        b = boxes[vid]
        best, grow = None, math.inf
        for i, (u, own, _) in enumerate(out):
            n = (min(u[0], b[0]), min(u[1], b[1]), max(u[2], b[2]), max(u[3], b[3]))
            if px(n) <= max_pixels and px(n) <= max_ratio * (own + px(b)) and px(n) - px(u) < grow:
                best, grow = i, px(n) - px(u)
        if best is None:
            out.append((b, px(b), [vid]))
        else:
            u, own, members = out[best]
            out[best] = ((min(u[0], b[0]), min(u[1], b[1]), max(u[2], b[2]), max(u[3], b[3])), own + px(b),
                         members + [vid])
    return [members for _, _, members in out]


def _window(outer_transform: Any, inner_transform: Any, height: int, width: int) -> tuple[slice, slice] | None:
    """The rows and columns of ``inner`` (same lattice) in ``outer``; None when not aligned."""
    res = outer_transform.a
    c = (inner_transform.c - outer_transform.c) / res
    r = (outer_transform.f - inner_transform.f) / res
    if inner_transform.a != res or inner_transform.e != outer_transform.e or min(r, c) < 0 \
            or abs(c - round(c)) > 1e-6 or abs(r - round(r)) > 1e-6:
        return None
    r0, c0 = int(round(r)), int(round(c))
    return slice(r0, r0 + height), slice(c0, c0 + width)


def _rechunk(ds: xr.Dataset, chunks: dict[str, int] | None) -> xr.Dataset:
    """``ds`` in the chunks of a load of its own window (``chunks`` over y and x)."""
    c = {**{k: v for k, v in DEFAULT_CHUNKS.items() if k != "time"},
         **{k: v for k, v in (chunks or {}).items() if k in ("x", "y")}}
    return chunk_bands(ds, c)


def _union_village(villages: Sequence[Village], geometry: Any) -> Village:
    return dataclasses.replace(villages[0], id=f"{villages[0].id[:40]}-and-{len(villages) - 1}-more", geometry=geometry)


def _tag(scenes: dict[str, xr.Dataset]) -> dict[str, xr.Dataset]:
    """Mark a cluster's Scenes for :func:`read_date` (not one village alone: nothing to share)."""
    if len(scenes) < 2:
        return scenes
    token = f"shared-{next(_tokens)}"
    for vid, sc in scenes.items():
        sc.attrs.update({SHARED: token, SHARED_VILLAGE: vid})
    with _lock:
        _shared[token] = _Cluster(dict(scenes))
    return scenes


def _guarded(out: dict[str, Any], vids: Sequence[str], fn: Callable[[], dict[str, Any]]) -> None:
    """``out`` updated with ``fn()``; if it fails, every village of ``vids`` gets the error
    (its own load, village by village, then says what is wrong with it)."""
    try:
        out.update(fn())
    except Exception as exc:  # noqa: BLE001 - reported per village by its own load
        log.info("shared load of %d villages failed (%s: %s); they are loaded one by one",
                 len(vids), type(exc).__name__, exc)
        out.update({v: exc for v in vids})


# --------------------------------------------------------------------------- STAC
def _stac(src: Any, villages: Sequence[Village], start: dt.date, end: dt.date) -> dict[str, Any]:
    import dask

    out: dict[str, Any] = {}
    area = _union_village(villages, box(*unary_union([v.geometry for v in villages]).bounds))
    fetched = src.fetch(area, start, end)
    plans: dict[str, Any] = {}
    for v in villages:
        try:
            plans[v.id] = src.prepare(v, src.search(v, start, end, fetched=[i.clone() for i in fetched]), start, end)
        except Exception as exc:  # noqa: BLE001 - its own load says it again
            out[v.id] = exc
    by_id = {v.id: v for v in villages}
    groups: dict[Hashable, list[str]] = {}
    for vid, lp in plans.items():
        groups.setdefault(lp.share_key(), []).append(vid)

    def load(vids: list[str]) -> dict[str, Any]:
        grids = [plans[v].grid for v in vids]
        union = _union_grid(grids)
        raw = src.read(plans[vids[0]], union)
        parts = {}
        for vid, g in zip(vids, grids):
            rows, cols = _window(union.transform, g.transform, g.height, g.width)
            ds, valid = src.reflectance(plans[vid], _rechunk(raw.isel(y=rows, x=cols), src.chunks))
            parts[vid] = (ds, src.valid_fraction(by_id[vid], plans[vid], valid, compute=False))
        vfs = dask.compute(*[vf for _, vf in parts.values()])  # the quality band read once
        res: dict[str, Any] = {}
        for (vid, (ds, _)), vf in zip(parts.items(), vfs):
            try:
                res[vid] = src.select(by_id[vid], plans[vid], ds, vf)
            except Exception as exc:  # noqa: BLE001 - e.g. every date under the valid fraction
                res[vid] = exc
        _tag({k: v for k, v in res.items() if isinstance(v, xr.Dataset)})
        return res

    for vids in groups.values():
        for members in clusters({v: plans[v].grid.bounds for v in vids}, plans[vids[0]].grid.resolution):
            _guarded(out, members, lambda m=members: load(m))
    return out


def _union_grid(grids: Sequence[Any]) -> Any:
    """The grid over every grid of ``grids`` (one CRS, one lattice)."""
    from affine import Affine

    from aoi.grid import Grid

    g0 = grids[0]
    left = min(g.bounds[0] for g in grids)
    bottom = min(g.bounds[1] for g in grids)
    right = max(g.bounds[2] for g in grids)
    top = max(g.bounds[3] for g in grids)
    r = g0.resolution
    return Grid(g0.crs, r, Affine(r, 0.0, left, 0.0, -r, top), int(round((right - left) / r)),
                int(round((top - bottom) / r)))


# --------------------------------------------------------------------------- files
def _files(src: Any, villages: Sequence[Village], start: dt.date, end: dt.date) -> dict[str, Any]:
    import dask

    from aoi import grid_for

    from .mosaic import geobox_coords

    specs, _ = src._readable_specs("shared load")
    in_window = [s for s in specs if start <= s.date <= end]
    groups: dict[Hashable, list[Village]] = {}
    for v in villages:
        paths = tuple(sorted(str(s.path) for s in in_window if src._overlaps(s.path, v)))
        crs = grid_for(v, 10.0).crs if src.resampling == "grid" else None
        groups.setdefault((paths, crs), []).append(v)
    out: dict[str, Any] = {}

    def load(members: list[Village], overlapping: list[Any]) -> dict[str, Any]:
        union = src.load(_union_village(members, unary_union([v.geometry for v in members])), start, end)
        ut = union.rio.transform(recalc=True)
        parts = {}
        for v in members:
            target = src._target(v, overlapping)
            win = _window(ut, target.transform, *target.shape)
            if win is None:
                raise ValueError(f"village {v.id}: its grid is not a window of the shared load")
            ds = union.isel(y=win[0], x=win[1]).drop_vars([c for c in union.coords if c.startswith("valid_fraction")])
            y, x = geobox_coords(target)
            ds = _rechunk(ds.assign_coords(y=y, x=x), src.chunks)
            ds = ds.rio.write_crs(str(target.crs)).rio.write_transform(target.transform)
            parts[v.id] = (ds, aoi_valid_counts(ds, aoi_mask(v.geometry, target)))
        counts = dask.compute(*[c for _, c in parts.values()])  # the bands read once
        res = {}
        for (vid, (ds, _)), c in zip(parts.items(), counts):
            overall, per_band = valid_fractions_from(*c)
            ds = assign_valid_fractions(ds, overall, per_band, over="aoi", source="bands")
            ds.attrs = dict(union.attrs)
            res[vid] = check_scene(ds)
        return _tag(res)

    for (paths, _), vs in groups.items():
        if not paths:
            continue  # its own load says why
        overlapping = sorted((s for s in in_window if str(s.path) in paths),
                             key=lambda s: (s.date, s.group, s.path.name))
        boxes = {}
        for v in vs:
            t = src._target(v, overlapping)
            boxes[v.id] = tuple(t.boundingbox)
        res = abs(src._target(vs[0], overlapping).resolution.x)
        by_id = {v.id: v for v in vs}
        for members in clusters(boxes, res):
            if len(members) > 1:
                _guarded(out, members, lambda m=members: load([by_id[i] for i in m], overlapping))
    return out


# --------------------------------------------------------------------------- the interface
def load_many(source: Any, villages: Sequence[Village], start: Any, end: Any) -> dict[str, Any]:
    """``{village id: Scene or the exception of its shared load}`` for the villages a shared
    load covers (STAC and files sources); a village missing from the answer (another source, a
    village alone in its cluster for files) or with an exception is to be loaded by
    ``source.load`` (which raises its own error)."""
    kind = getattr(source, "kind", None)
    start, end = (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]) for d in (start, end))
    if len(villages) < 2 or kind not in ("stac", "files"):
        return {}
    try:
        return (_stac if kind == "stac" else _files)(source, villages, start, end)
    except Exception as exc:  # noqa: BLE001 - each village's own load reports what is wrong
        log.info("shared load failed (%s: %s); villages loaded one by one", type(exc).__name__, exc)
        return {v.id: exc for v in villages}


def read_date(scene_t: xr.Dataset) -> xr.Dataset:
    """``scene_t`` (one date of a village's Scene) read into memory; for a Scene of a shared
    load, the same date of every village of its cluster is read at once (one read of the
    tile's window) and kept for them."""
    token = scene_t.attrs.get(SHARED)
    cluster = _shared.get(token) if token else None
    if cluster is None:
        return scene_t.compute()
    vid = scene_t.attrs[SHARED_VILLAGE]
    t = scene_t["time"].values
    with cluster.lock:
        if cluster.date != t:
            others = {k: sc.isel(time=list(sc["time"].values).index(t)) for k, sc in cluster.scenes.items()
                      if k != vid and t in sc["time"].values}
            import dask

            own, *rest = dask.compute(scene_t, *others.values())
            cluster.date, cluster.ready = t, dict(zip(others, rest))
            return own
        mine = cluster.ready.pop(vid, None)
    if mine is None:
        return scene_t.compute()
    mine.attrs = dict(scene_t.attrs)
    return mine


def release(scenes: Sequence[xr.Dataset]) -> None:
    """Forget the shared reads of ``scenes`` (at the end of a batch)."""
    with _lock:
        for sc in scenes:
            _shared.pop(sc.attrs.get(SHARED, ""), None)


def is_shared(scene: xr.Dataset) -> bool:
    return bool(scene.attrs.get(SHARED))


__all__ = ["MAX_UNION_PIXELS", "MAX_UNION_RATIO", "SHARED", "SHARED_VILLAGE", "clusters", "is_shared",
           "load_many", "read_date", "release"]

