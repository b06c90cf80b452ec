"""flows.publish.figures: a kept, cleared quicklook Figure draws the same pixels as a new one,
and its outlines the same pixels as GeoSeries.plot."""
from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
from shapely.geometry import MultiPolygon, Polygon

from flows.publish import figures

CRS = "EPSG:32649"
SQUARE = Polygon([(0, 0), (300, 0), (300, 200), (0, 200)], holes=[[(50, 50), (120, 50), (120, 120), (50, 120)]])
POND = MultiPolygon([Polygon([(200, 20), (280, 30), (260, 90)]), Polygon([(20, 150), (90, 160), (40, 190)])])


def pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def picture(fig, ax, geoms, *, colorbar: bool, title: str, outlines=figures.outline) -> np.ndarray:
    im = ax.imshow(np.arange(12.0).reshape(3, 4), extent=(0, 300, 0, 200), cmap="RdYlGn", interpolation="nearest")
    if colorbar:
        fig.colorbar(im, cax=fig.add_axes((0.83, 0.25, 0.025, 0.5)), label="NDVI")
    outlines(ax, gpd.GeoSeries(geoms, crs=CRS).boundary, color="#111111", linewidth=1.6, linestyle="--", zorder=4)
    ax.text(20, 20, "500 m")
    ax.legend(handles=[ax.collections[0]], labels=["village boundary"], loc="upper center")
    ax.set_title(title)
    fig.text(0.99, 0.99, "footer", ha="right", va="top")
    ax.set_xlim(0, 300)
    ax.set_ylim(0, 200)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return pixels(fig)


def in_new_thread(fn):
    box = []
    t = threading.Thread(target=lambda: box.append(fn()))
    t.start()
    t.join()
    return box[0]


def test_a_kept_figure_draws_what_a_new_figure_draws():
    def run():
        first = picture(*figures.figure(), [SQUARE], colorbar=True, title="A")
        second = picture(*figures.figure(), [POND], colorbar=False, title="B")
        again = picture(*figures.figure(), [SQUARE], colorbar=True, title="A")
        return first, second, again

    first, second, again = in_new_thread(run)
    new_second = picture(*figures.new_figure(), [POND], colorbar=False, title="B")
    assert (first != second).any()
    np.testing.assert_array_equal(second, new_second)
    np.testing.assert_array_equal(again, first)


def test_a_thread_keeps_one_figure_and_threads_do_not_share_it():
    def two():
        return figures.figure()[0], figures.figure()[0]

    a1, a2 = in_new_thread(two)
    b1, _ = in_new_thread(two)
    assert a1 is a2 and b1 is not a1
    fig, ax = in_new_thread(figures.figure)
    assert fig.axes == [ax] and not ax.collections and not fig.texts and ax.get_title() == ""


def test_outlines_are_the_pixels_geopandas_draws():
    def geopandas_plot(ax, geoms, **style):
        geoms.plot(ax=ax, **style)

    ours = picture(*figures.new_figure(), [SQUARE, POND], colorbar=False, title="t")
    theirs = picture(*figures.new_figure(), [SQUARE, POND], colorbar=False, title="t", outlines=geopandas_plot)
    np.testing.assert_array_equal(ours, theirs)
