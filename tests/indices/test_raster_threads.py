"""rasterio.features under threads: its transient in-memory dataset's NotGeoreferencedWarning is
hidden with the thread-unsafe ``warnings.catch_warnings`` and escaped now and then in nights
(Dask threads). Run in a fresh interpreter: pytest resets warning filters around each test.
Without the filter the threaded loop below shows the warning (checked by hand: 3 of 3 runs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from support.paths import REPO

SCRIPT = r"""
import json, threading, warnings
import numpy as np
from affine import Affine
from shapely.geometry import box
warnings.simplefilter("always")  # every warning shown, not once per place
import indices  # installs the narrow filter (indices._raster) in front
from indices._raster import burn_mask, polygons
import rasterio

got = []
warnings.showwarning = lambda message, category, filename, *a, **k: got.append([category.__name__, filename])
T = Affine(10, 0, 500000, 0, -10, 2500640)

# first (the threads' racing catch_warnings can leave any filter behind): a file written with no
# geotransform
with rasterio.open(PATH, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as dst:
    dst.write(np.zeros((1, 4, 4), "uint8"))
with rasterio.open(PATH) as src:
    identity = src.transform.is_identity
on_file = list(got)
got.clear()
areas = []

def work():
    for _ in range(200):
        m = burn_mask(box(500000, 2500000, 500500, 2500500), (64, 64), T)
        areas.append((int(m.sum()), polygons(m.astype("int32"), T)[1].area))

threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
threaded = list(got)
print(json.dumps({"threaded": threaded, "file": on_file, "identity": identity, "areas": sorted(set(areas))}))
"""


def test_threaded_rasterize_and_shapes_do_not_warn_but_an_ungeoreferenced_file_still_does(tmp_path):
    code = SCRIPT.replace("PATH", repr(str(tmp_path / "nogeo.tif")))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # a 500 m square on a 10 m grid: 2,500 pixel centres inside, traced back as 250,000 m2, every time
    assert res["areas"] == [[50 * 50, 500.0 * 500.0]]
    assert res["threaded"] == []  # 1,600 rasterize + shapes calls on 4 threads, no warning
    # a file written with no geotransform is still flagged, from rasterio.open (not rasterio.features)
    assert res["identity"] is True
    # (once on writing it, once on opening it), both raised from rasterio/__init__.py
    assert [c for c, _ in res["file"]] == ["NotGeoreferencedWarning"] * 2
    assert {f.rsplit("/", 1)[-1] for _, f in res["file"]} == {"__init__.py"}
