"""PNG quicklooks for the download page (matplotlib, Agg canvas, no pyplot state).

- per date: NDVI (or, for RGB-only imagery such as drone orthomosaics, the first vegetation
  index it has: ExG, VARI) with the village boundary, water bodies outlined in blue and
  black-odorous water suspects in magenta; and beside it the true colour
  (``quicklook_true_colour.png``, from ``true_colour.tif``) with the same outlines;
- per change pair: the change classes (vegetation loss/gain from ``vegetation_change.tif``,
  water gain/loss from ``water_change.tif``) with the boundary, the later date's water bodies
  and suspects (new suspects filled).

Every picture has a title with the village's Chinese name (a CJK font via
``flows.publish.fonts.use_cjk_font``; pinyin only, with a warning, when none is installed), the date(s),
a legend, a scale bar in metres on the village's UTM grid and a north arrow. The PNG bytes
are deterministic (no ``Software`` tag, fixed size and dpi) and carry the checksum of their
inputs in a text chunk, so an unchanged quicklook is not drawn again.
"""
from __future__ import annotations

import hashlib
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from aoi import Village

from ..products.atomic import atomic_path
from ..products.cache import Kept, files_key, fresh
from ..products.inventory import ProductSet
from ..products.layout import MANIFEST, NEW_SUSPECTS, QUICKLOOK, QUICKLOOK_TRUE_COLOUR, SUSPECTS, TRUE_COLOUR, WATER_BODIES
from .fonts import use_cjk_font
from .figures import DPI, FIGSIZE, figure, outline

log = logging.getLogger("villagewatch.flows")

#: bump when the drawing changes, so existing quicklooks are redrawn
QUICKLOOK_VERSION = "5"  # 5: one kept Figure per thread (flows.publish.figures); 4: the one cache rule
#: quicklook size in pixels (width, height)
SIZE_PX = (int(FIGSIZE[0] * DPI), int(FIGSIZE[1] * DPI))
#: at most this many raster pixels a side are read (from the COG's overviews)
MAX_PIXELS = 900
INPUTS_KEY = "villagewatch-inputs"
#: zlib level of every PNG picture (quicklooks, map layers): lossless, so the pixels are the
#: same at any level; level 1 encodes a 700 x 640 quicklook in about a third of the time of
#: PIL's default 6 (measured: 14 against 35-45 ms) for files about 15 % larger
PNG_COMPRESS_LEVEL = 1

#: index tried for the date picture, in order, with colour map and range
DATE_LAYERS: tuple[tuple[str, str, float, float], ...] = (
    ("ndvi", "RdYlGn", -0.2, 0.9), ("exg", "RdYlGn", -0.1, 0.3), ("vari", "RdYlGn", -0.3, 0.5),
)
BOUNDARY_COLOUR, WATER_COLOUR, SUSPECT_COLOUR = "#111111", "#1f4e9c", "#e0119d"
#: change classes: (label, colour)
CHANGE_CLASSES = {
    "no change": "#e6e6e6", "vegetation loss": "#c8641e", "vegetation gain": "#2e9b3a",
    "water gain": "#2b7bd6", "water loss": "#f2c12e",
}
NODATA_COLOUR = "#ffffff"


@dataclass
class Raster:
    """A (possibly decimated) band with its extent in the raster's CRS (metres)."""

    data: np.ma.MaskedArray
    extent: tuple[float, float, float, float]  # left, right, bottom, top
    crs: Any


def read_raster(path: Path, max_pixels: int = MAX_PIXELS) -> Raster:
    """Band 1 of ``path`` decimated to at most ``max_pixels`` a side, nodata masked."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        f = max(1, math.ceil(max(src.width, src.height) / max_pixels))
        shape = (max(1, src.height // f), max(1, src.width // f))
        data = src.read(1, out_shape=shape, masked=True, resampling=Resampling.nearest)
        b = src.bounds
        data = np.ma.masked_invalid(data) if data.dtype.kind == "f" else data
        return Raster(data, (b.left, b.right, b.bottom, b.top), src.crs)


def quicklook_key(files: Sequence[Path], village: Village, ps: ProductSet) -> str:
    """The quicklook's key by the one rule (``flows.products.cache.files_key``): its input
    files, the drawing version, the set, the village's names and boundary."""
    return files_key(files, kind="quicklook", version=QUICKLOOK_VERSION, set=f"{ps.kind}:{ps.stream}",
                     village=[village.id, village.name_zh, village.name_en, village.boundary_source],
                     boundary=hashlib.sha256(village.geometry.wkb).hexdigest())


def stored_key(png: Path) -> str | None:
    """The inputs key a quicklook was drawn from (its PNG text chunk), or ``None``."""
    if not png.is_file():
        return None
    try:
        from PIL import Image

        with Image.open(png) as im:
            return im.info.get(INPUTS_KEY)
    except Exception:  # unreadable: draw again
        return None


# --------------------------------------------------------------------------- map furniture
def nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^n m), the largest at most a fifth of ``span_m``."""
    target = max(span_m / 5.0, 1.0)
    unit = 10.0 ** math.floor(math.log10(target))
    return next(m * unit for m in (5, 2, 1) if m * unit <= target)


def _fmt_m(m: float) -> str:
    return f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m"


def draw_scale_bar(ax, extent: tuple[float, float, float, float]) -> None:
    """A two-segment black/white scale bar in metres at the lower left (UTM grid units)."""
    from matplotlib.patches import Rectangle

    left, right, bottom, top = extent
    length = nice_length(right - left)
    h = (top - bottom) * 0.012
    x0, y0 = left + (right - left) * 0.04, bottom + (top - bottom) * 0.05
    ax.add_patch(Rectangle((x0 - length * 0.1, y0 - h * 1.5), length * 1.45, h * 5.6, facecolor="white",
                           edgecolor="none", alpha=0.8, zorder=5))
    for i in range(2):
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, h, facecolor="black" if i == 0 else "white",
                               edgecolor="black", linewidth=0.8, zorder=6))
    for x, label in ((x0, "0"), (x0 + length, _fmt_m(length))):
        ax.text(x, y0 + h * 1.6, label, ha="center", va="bottom", fontsize=8, zorder=7)


def draw_north_arrow(ax) -> None:
    """An arrow pointing to grid north (UTM; the convergence is well under 2° in the pilot areas)."""
    ax.annotate("N", xy=(0.94, 0.95), xytext=(0.94, 0.84), xycoords="axes fraction", ha="center", va="center",
                fontsize=11, fontweight="bold", zorder=8,
                arrowprops=dict(facecolor="black", edgecolor="white", width=4, headwidth=11, headlength=9),
                bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))


def _title_font() -> str | None:
    font = use_cjk_font()
    if font is None:
        warnings.warn("no CJK font installed (apt-get install fonts-noto-cjk): quicklook titles show pinyin only",
                      RuntimeWarning, stacklevel=3)
    return font


def _title(village: Village, what: str, cjk: bool) -> str:
    name = f"{village.name_zh} {village.name_en}" if cjk else village.name_en
    return f"{name}\n{what}"


def _vector(path: Path, crs):
    """A GeoJSON product in ``crs``, or ``None`` when missing or empty. A date's index picture
    and its true colour show the same vectors: the last few reads are kept (by the file's
    size and modification time, and the CRS), never changed by the drawing."""
    if not path.is_file():
        return None
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size, crs.to_wkt() if crs is not None else None)
    return _vectors.get(key, lambda: _read_vector(path, crs))


def _read_vector(path: Path, crs):
    import geopandas as gpd

    gdf = gpd.read_file(path)
    return None if gdf.empty else (gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf).to_crs(crs)


#: the last 8 vector files read (``_vector``): a date's water bodies and suspects, a change's new suspects
_vectors = Kept(8)


def _boundary(village: Village, crs):
    import geopandas as gpd

    return gpd.GeoSeries([village.geometry], crs="EPSG:4326").to_crs(crs)


def _overlay(ax, village: Village, crs, water: Path | None, suspects: Path | None,
             new_suspects: Path | None = None) -> list:
    """Boundary, water bodies, suspects (and new suspects filled); returns legend handles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    outline(ax, _boundary(village, crs).boundary, color=BOUNDARY_COLOUR, linewidth=1.6, linestyle="--", zorder=4)
    handles.append(Line2D([], [], color=BOUNDARY_COLOUR, linestyle="--", linewidth=1.6,
                          label="village boundary" + (" (approx.)" if village.boundary_source == "approximate" else "")))
    wb = _vector(water, crs) if water else None
    if wb is not None:
        outline(ax, wb.boundary, color=WATER_COLOUR, linewidth=0.9, zorder=4)
        handles.append(Line2D([], [], color=WATER_COLOUR, linewidth=1.2, label=f"water bodies ({len(wb)})"))
    ns = _vector(new_suspects, crs) if new_suspects else None
    if ns is not None:
        ns.plot(ax=ax, color=SUSPECT_COLOUR, alpha=0.45, zorder=4)
        handles.append(Patch(facecolor=SUSPECT_COLOUR, alpha=0.45, label=f"new black-odorous suspects ({len(ns)})"))
    if suspects is None or not suspects.is_file():  # imagery without water products (RGB drone)
        return handles
    sus = _vector(suspects, crs)
    if sus is not None:
        outline(ax, sus.boundary, color=SUSPECT_COLOUR, linewidth=2.0, zorder=5)
    handles.append(Line2D([], [], color=SUSPECT_COLOUR, linewidth=2.0,
                          label=f"black-odorous suspects ({0 if sus is None else len(sus)})"))
    return handles


def _finish(fig, ax, raster: Raster, handles: list, footer: str) -> None:
    left, right, bottom, top = raster.extent
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    draw_scale_bar(ax, raster.extent)
    draw_north_arrow(ax)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3 if len(handles) > 6 else 2, fontsize=7.5, frameon=False)
    fig.text(0.99, 0.99, footer, ha="right", va="top", fontsize=6.5, color="#555555")


def _save(fig, png: Path, key: str) -> Path:
    with atomic_path(png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None, INPUTS_KEY: key},
                    pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return png


def _footer(raster: Raster, ps: ProductSet) -> str:
    epsg = raster.crs.to_epsg() if raster.crs else None
    demo = "  ·  SYNTHETIC DEMO DATA" if ps.demo else ""
    return f"grid EPSG:{epsg}  ·  villagewatch{demo}"


# --------------------------------------------------------------------------- the two pictures
def date_layer(folder: Path) -> tuple[Path, str, float, float] | None:
    """The index drawn for a date: the first of :data:`DATE_LAYERS` present in ``folder``."""
    for name, cmap, lo, hi in DATE_LAYERS:
        if (folder / f"{name}.tif").is_file():
            return folder / f"{name}.tif", cmap, lo, hi
    return None


def draw_date(ps: ProductSet, village: Village, png: Path, key: str) -> Path | None:
    """The date's vegetation index with boundary, water bodies and suspects."""
    layer = date_layer(ps.folder)
    if layer is None:
        return None
    path, cmap, lo, hi = layer
    import matplotlib

    with matplotlib.rc_context():
        cjk = _title_font() is not None
        fig, ax = figure()
        r = read_raster(path)
        im = ax.imshow(r.data, extent=r.extent, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest", zorder=1)
        cax = fig.add_axes((0.83, 0.25, 0.025, 0.5))
        fig.colorbar(im, cax=cax, label=path.stem.upper())
        handles = _overlay(ax, village, r.crs, ps.folder / WATER_BODIES, ps.folder / SUSPECTS)
        stream = "" if ps.stream == "main" else f" [{ps.stream}]"
        ax.set_title(_title(village, f"{ps.key}{stream}  {path.stem.upper()}", cjk), fontsize=12)
        _finish(fig, ax, r, handles, _footer(r, ps))
        return _save(fig, png, key)


def read_rgb(path: Path, max_pixels: int = MAX_PIXELS) -> Raster:
    """The three bands of a true-colour COG (``flows.products.truecolour``) as a (y, x, 4) RGBA
    uint8 array, decimated like :func:`read_raster`; transparent where all bands are 0 (no data)."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        f = max(1, math.ceil(max(src.width, src.height) / max_pixels))
        shape = (3, max(1, src.height // f), max(1, src.width // f))
        data = src.read([1, 2, 3], out_shape=shape, resampling=Resampling.nearest)
        b = src.bounds
        alpha = np.where((data == 0).all(axis=0), 0, 255).astype("uint8")
        rgba = np.dstack([data[0], data[1], data[2], alpha])
        return Raster(np.ma.masked_array(rgba), (b.left, b.right, b.bottom, b.top), src.crs)


def draw_true_colour(ps: ProductSet, village: Village, png: Path, key: str) -> Path | None:
    """The date's true colour (stretched red, green, blue) with boundary, water bodies and suspects."""
    tif = ps.folder / TRUE_COLOUR
    if not tif.is_file():
        return None
    import matplotlib

    with matplotlib.rc_context():
        cjk = _title_font() is not None
        fig, ax = figure()
        r = read_rgb(tif)
        ax.imshow(r.data.data, extent=r.extent, interpolation="nearest", zorder=1)
        handles = _overlay(ax, village, r.crs, ps.folder / WATER_BODIES, ps.folder / SUSPECTS)
        stretch = ps.manifest.get("true_colour", {})
        stream = "" if ps.stream == "main" else f" [{ps.stream}]"
        ax.set_title(_title(village, f"{ps.key}{stream}  {'真彩色 ' if cjk else ''}true colour", cjk), fontsize=12)
        footer = _footer(r, ps)
        if stretch:
            footer = (f"R,G,B {stretch['percentiles'][0]:g}-{stretch['percentiles'][1]:g} % stretch "
                      f"{stretch['low']:.3f}..{stretch['high']:.3f}  ·  " + footer)
        _finish(fig, ax, r, handles, footer)
        return _save(fig, png, key)


def true_colour_quicklook(ps: ProductSet, village: Village) -> Path | None:
    """Draw (or keep) a date's true-colour quicklook beside its index picture; ``None`` for a
    change pair or a date without ``true_colour.tif``."""
    if ps.kind != "date" or not (ps.folder / TRUE_COLOUR).is_file():
        return None
    png = ps.folder / QUICKLOOK_TRUE_COLOUR
    key = quicklook_key([ps.folder / MANIFEST], village, ps) + ":true_colour"
    if fresh(stored_key(png), key):
        return png
    return draw_true_colour(ps, village, png, key)


def change_classes(veg: Raster | None, water: Raster | None) -> np.ma.MaskedArray:
    """Class codes 0 no change, 1 vegetation loss, 2 vegetation gain, 3 water gain, 4 water loss
    (water change drawn over vegetation change); masked where neither has data."""
    base = veg if veg is not None else water
    out = np.zeros(base.data.shape, dtype="uint8")
    valid = np.zeros(base.data.shape, dtype=bool)
    if veg is not None:
        v = veg.data.filled(255)
        valid |= v != 255
        out[v == 1], out[v == 2] = 1, 2
    if water is not None and water.data.shape == out.shape:
        w = water.data.filled(255)
        valid |= w != 255
        out[w == 1], out[w == 2] = 3, 4
    return np.ma.masked_array(out, mask=~valid)


def draw_change(ps: ProductSet, village: Village, png: Path, key: str, date_folder: Path | None) -> Path | None:
    """The change classes between the pair's dates with boundary, water bodies and suspects of the later date."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    veg_p, water_p = ps.folder / "vegetation_change.tif", ps.folder / "water_change.tif"
    if not veg_p.is_file() and not water_p.is_file():
        return None
    import matplotlib

    with matplotlib.rc_context():
        cjk = _title_font() is not None
        fig, ax = figure()
        veg = read_raster(veg_p) if veg_p.is_file() else None
        water = read_raster(water_p) if water_p.is_file() else None
        r = veg or water
        cmap = ListedColormap(list(CHANGE_CLASSES.values())).with_extremes(bad=NODATA_COLOUR)
        ax.imshow(change_classes(veg, water), extent=r.extent, cmap=cmap, vmin=-0.5, vmax=4.5,
                  interpolation="nearest", zorder=1)
        handles = [Patch(facecolor=c, edgecolor="#999999", label=k) for k, c in CHANGE_CLASSES.items()]
        later = date_folder
        handles += _overlay(ax, village, r.crs, later / WATER_BODIES if later else None,
                            later / SUSPECTS if later else None, ps.folder / NEW_SUSPECTS)
        d_from, d_to = ps.dates
        stream = "" if ps.stream == "main" else f" [{ps.stream}]"
        ax.set_title(_title(village, f"change {d_from} → {d_to}{stream}", cjk), fontsize=12)
        _finish(fig, ax, r, handles, _footer(r, ps))
        return _save(fig, png, key)


def quicklook(ps: ProductSet, village: Village) -> Path | None:
    """Draw (or keep, if its inputs are unchanged) the quicklook of a product set; ``None`` if
    the set has nothing to draw."""
    png = ps.folder / QUICKLOOK
    later = ps.later_date_folder() if ps.kind == "change" else None
    inputs = [ps.folder / MANIFEST] + ([later / MANIFEST] if later else [])
    key = quicklook_key(inputs, village, ps)
    if fresh(stored_key(png), key):
        return png
    if ps.kind == "date":
        return draw_date(ps, village, png, key)
    return draw_change(ps, village, png, key, later)
