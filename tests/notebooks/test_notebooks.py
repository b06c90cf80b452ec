"""The analysts' notebooks run top to bottom on a demo output, and notebook 03 writes the
officers' field-check list (CSV + GeoJSON) with one row per suspect."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

from support.paths import REPO  # noqa: E402

NOTEBOOKS = REPO / "notebooks"
NAMES = ("01_one_village", "02_all_villages", "03_review_suspects")
FIELD_COLUMNS = ["wb_id", "village", "village_zh", "date", "area_m2", "list", "confidence",
                 "verification", "field_result", "lon", "lat"]


def _kernel_manager(kernel_dir: Path, env: dict[str, str]):
    """A kernel of *this* interpreter (the venv's), whatever kernelspecs the machine has:
    a private kernelspec whose argv starts with ``sys.executable`` and whose env carries ours."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = kernel_dir / "kernels" / "villagewatch-test"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "villagewatch tests", "language": "python",
        "env": {**env, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(kernel_dir / "kernels")])
    return AsyncKernelManager(kernel_name="villagewatch-test", kernel_spec_manager=ksm)


def run_notebook(name: str, workdir: Path, env: dict[str, str]):
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    km = _kernel_manager(workdir / "_kernel", env)
    client = nbclient.NotebookClient(nb, km=km, timeout=180, resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


@pytest.fixture(scope="module")
def executed(demo_out, tmp_path_factory):
    """Each notebook executed once against the demo output (fieldcheck files in a tmp dir)."""
    work = tmp_path_factory.mktemp("notebooks")
    env = {"VILLAGEWATCH_OUT": str(demo_out), "VILLAGEWATCH_FIELDCHECK": str(work / "fieldcheck")}
    results, timings = {}, {}
    for name in NAMES:
        t0 = time.perf_counter()
        results[name] = run_notebook(name, work, env)
        timings[name] = time.perf_counter() - t0
    return results, timings, work


def _outputs(nb, output_type=None):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if output_type is None or o["output_type"] == output_type]


def test_notebooks_are_stored_without_outputs():
    import nbformat

    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), name
        assert any(c.cell_type == "markdown" for c in nb.cells), name
        src = "\n".join(c.source for c in code)
        assert "VILLAGEWATCH_OUT" in "\n".join(c.source for c in nb.cells) or "output_dir(" in src


def test_notebooks_run_without_errors_and_draw(executed):
    results, timings, _ = executed
    for name, nb in results.items():
        assert not _outputs(nb, "error"), name
        images = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
        assert len(images) >= 2, f"{name} drew {len(images)} figures"
    assert sum(timings.values()) < 120, timings


def test_notebook_01_products_match_the_scene(executed):
    results, _, _ = executed
    text = "".join(o.get("text", "") for o in _outputs(results["01_one_village"], "stream"))
    # the NDVI COG is the indices function on the scene, to float32 precision
    line = next(l for l in text.splitlines() if l.startswith("max |NDVI(scene) - NDVI(COG)|"))
    assert float(line.rsplit(":", 1)[1]) < 1e-6


def test_notebook_03_writes_the_field_check_list(executed, demo_out):
    import geopandas as gpd
    import pandas as pd

    from flows import api

    _, _, work = executed
    folder = work / "fieldcheck"
    csvs, gjs = sorted(folder.glob("*.csv")), sorted(folder.glob("*.geojson"))
    assert len(csvs) == 1 and len(gjs) == 1, sorted(folder.iterdir())
    table = pd.read_csv(csvs[0], dtype={"wb_id": str, "field_result": str})
    gdf = gpd.read_file(gjs[0])

    expected = []  # one row per suspect on each village's latest date
    for v in api.villages_in(demo_out):
        latest = api.dates(demo_out, v)[-1]
        for wb_id in api.suspects(demo_out, v, latest)["wb_id"]:
            expected.append((str(wb_id), v, latest))
    assert expected, "the demo plants black-odorous water: there must be suspects"
    got = sorted(zip(table["wb_id"].astype(str), table["village"], table["date"]))
    assert got == sorted(expected)
    assert sorted(zip(gdf["wb_id"].astype(str), gdf["village"], gdf["date"].astype(str))) == sorted(expected)

    assert list(table.columns[: len(FIELD_COLUMNS)]) == FIELD_COLUMNS
    assert set(FIELD_COLUMNS) <= set(gdf.columns)
    assert (table["verification"] == "unverified").all()
    assert table["field_result"].isna().all()  # blank: for the field officer
    assert (table["area_m2"] > 0).all()
    assert table["list"].isin(["national", "provincial"]).all()
    assert ((table["list"] == "national") == (table["area_m2"] >= 2000)).all()
    assert table["confidence"].between(0, 1).all() and (table["confidence"] > 0).all()
    assert list(table["confidence"]) == sorted(table["confidence"], reverse=True)  # most certain first
    # GeoJSON: RFC 7946 lon/lat, the CSV's lon/lat is a point inside each polygon
    assert gdf.crs.to_epsg() == 4326
    raw = json.loads(gjs[0].read_text())
    assert "crs" not in raw and raw["type"] == "FeatureCollection"
    pts = gpd.points_from_xy(table["lon"], table["lat"], crs="EPSG:4326")
    by_key = dict(zip(zip(gdf["wb_id"].astype(str), gdf["village"], gdf["date"].astype(str)), gdf.geometry))
    for p, key in zip(pts, zip(table["wb_id"].astype(str), table["village"], table["date"])):
        assert by_key[key].buffer(1e-6).contains(p), key
