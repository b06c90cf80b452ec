"""A demo layout (``scenery.Layout``) rasterised on one grid: per pixel class, vegetation
amplitude and phase before and after the planted change, and the feature under each pixel."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize

from .scenery import Layout
from .spectra import BUILT, FOREST


# rasterio.features hides the NotGeoreferencedWarning of its transient in-memory dataset with the
# thread-unsafe ``warnings.catch_warnings``, so under Dask threads it escapes now and then;
# ignored where rasterio.features raises it only (as in ``indices._raster``)
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module=r"rasterio\.features")


def burn(shapes, shape: tuple[int, int], transform: Affine, dtype: str) -> np.ndarray:
    """``rasterio.features.rasterize`` (fill 0, later shapes on top)."""
    if not shapes:
        return np.zeros(shape, dtype)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype=dtype)


@dataclass(frozen=True, eq=False)
class Fields:
    """A layout rasterised on one grid: per pixel class, vegetation amplitude and phase,
    before and after the planted change, plus the feature id under each pixel."""

    cls_before: np.ndarray
    cls_after: np.ndarray
    amp_before: np.ndarray
    amp_after: np.ndarray
    phase: np.ndarray
    feature_id: np.ndarray  # 0 background, i + 1 for layout.features[i]
    cell: np.ndarray | None = None  # the field parcel under each pixel, -1 in forest

    def _changed(self, after) -> np.ndarray | None:
        """Pixels whose (top) feature has changed: ``after`` is a bool (all or none) or the
        feature ids (``feature_id`` values) whose planted change has happened."""
        if isinstance(after, (bool, np.bool_)):
            return None
        return np.isin(self.feature_id, np.fromiter(after, dtype="int32", count=len(after)))

    def cls(self, after) -> np.ndarray:
        changed = self._changed(after)
        if changed is None:
            return self.cls_after if after else self.cls_before
        return np.where(changed, self.cls_after, self.cls_before)

    def amp(self, after) -> np.ndarray:
        changed = self._changed(after)
        if changed is None:
            return self.amp_after if after else self.amp_before
        return np.where(changed, self.amp_after, self.amp_before)


def rasterize_layout(layout: Layout, transform: Affine, shape: tuple[int, int]) -> Fields:
    """Burn the layout onto a north-up grid (pixel-centre rule, later features on top)."""
    h, w = shape
    xs = transform.c + transform.a * (np.arange(w) + 0.5)
    ys = transform.f + transform.e * (np.arange(h) + 0.5)
    X, Y = np.meshgrid(xs, ys)
    forest = layout.terrain(X, Y) > layout.forest_threshold
    cell = layout.field_cell(X, Y)
    f = layout.fields
    base_cls = np.where(forest, FOREST, f["cell_class"][cell]).astype("int8")
    base_amp = np.where(forest, 1.0, f["cell_amp"][cell]).astype("float32")
    phase = np.where(forest, 0.0, f["cell_phase"][cell]).astype("float32")
    shapes = [(feat.geometry, i + 1) for i, feat in enumerate(layout.features)]
    fid = burn(shapes, shape, transform, "int32")
    before = np.array([0] + [ft.before for ft in layout.features], dtype="int8")
    after = np.array([0] + [ft.after for ft in layout.features], dtype="int8")
    famp = np.array([1.0] + [ft.amp for ft in layout.features], dtype="float32")
    has = fid > 0
    trees = layout.tree_share(X, Y).astype("float32")

    def state(table):
        c = np.where(has & (table[fid] > 0), table[fid], base_cls).astype("int8")
        a = np.where(has, famp[fid], base_amp).astype("float32")
        # village trees: the settlement's greenness times a per-block share
        a = np.where(c == BUILT, a * trees, a)
        # a feature that keeps or plants vegetation (dikes, new-pond cropland) uses its own amp
        a = np.where(has & (c == FOREST), 1.0, a)
        return c, a.astype("float32")

    cb, ab = state(before)
    ca, aa = state(after)
    parcel = np.where(forest, -1, cell).astype("int32")
    return Fields(cb, ca, ab, aa, phase, fid, parcel)
