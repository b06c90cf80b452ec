"""The quicklooks' drawing surface: one matplotlib Figure (Agg canvas) per thread, kept and
cleared between pictures, and the outlines drawn straight as matplotlib collections.

Why: a new Figure and Axes per picture cost about a fifth of a quicklook's CPU (matplotlib
builds every axis' ticks, spines and transforms), and ``GeoSeries.plot`` about a tenth (it
checks and decomposes every layer again and labels the axes). The kept Figure is reset to the
state a new one has after the drawing functions' own settings: the layers, texts, legend,
title and the colour-bar axes of the last picture removed (``clear``); what every picture
sets again (limits, aspect, empty ticks, hidden axis labels) it sets again. The pictures are
the same pixels as from a new Figure (tested).

One Figure per thread: the quicklooks of a batch are drawn on its worker threads at once, and
a matplotlib Figure is not thread-safe.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

FIGSIZE = (7.0, 6.4)
DPI = 100
#: the map's axes in figure fractions (left, bottom, width, height)
MAP_AXES = (0.03, 0.14, 0.78, 0.74)

_local = threading.local()


def _canvas_class():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class _Canvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs) -> None:
            """Nothing: a redraw after each layer would render the whole figure each time on
            Agg; ``savefig`` renders the finished figure once (the same pixels)."""

    return _Canvas


def new_figure() -> tuple[Any, Any]:
    """A new quicklook Figure on an Agg canvas (no pyplot state) and its map axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    _canvas_class()(fig)
    ax = fig.add_axes(MAP_AXES)
    # the map has no axis ticks or labels: an invisible axis draws nothing, and skips its layout
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)
    return fig, ax


def clear(fig, ax) -> None:
    """Remove what a picture drew: the map's layers and texts, its legend and title, the
    figure's texts and every axes but the map (a colour bar's)."""
    for artist in (*ax.images, *ax.collections, *ax.patches, *ax.texts, *ax.lines, *ax.artists):
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.set_title("")
    for text in list(fig.texts):
        text.remove()
    for other in [a for a in fig.axes if a is not ax]:
        fig.delaxes(other)


def figure() -> tuple[Any, Any]:
    """This thread's quicklook Figure and map axes, cleared (made on first use)."""
    kept = getattr(_local, "figure", None)
    if kept is None:
        kept = _local.figure = new_figure()
    else:
        clear(*kept)
    return kept


def outline(ax, geoms, **style: Any) -> None:
    """The outlines (LineStrings, MultiLineStrings, rings) of ``geoms`` as one LineCollection
    with ``style``: what ``GeoSeries.plot`` draws for lines (geometries normalised, split into
    parts, empty ones left out), without its checks, aspect and axis labels."""
    import shapely
    from matplotlib.collections import LineCollection

    # normalised first, as geopandas does (the same vertex order: the same dashes and pixels)
    parts = shapely.get_parts(shapely.normalize(np.asarray(geoms)))
    parts = parts[~shapely.is_empty(parts)]
    if not len(parts):
        return
    segments = [np.asarray(p.coords)[:, :2] for p in parts]
    ax.add_collection(LineCollection(segments, **style), autolim=True)
