"""aoi.county: generated county registries tile their outline with valid village polygons of
1-10 km2, deterministic by seed, accepted by the registry reader and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from aoi import is_safe_id, load_villages
from aoi.county import CountySpec, CountySpecError, County, main, make_county

SPEC = CountySpec(villages=120, seed=7)


@pytest.fixture(scope="module")
def county() -> County:
    return make_county(SPEC)


def _utm(county: County, geom):
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{county.epsg}", always_xy=True)
    return shapely.transform(geom, lambda x, y: tr.transform(x, y), interleaved=False)


def test_villages_are_valid_polygons_with_areas_in_range(county):
    assert len(county.villages) == SPEC.villages
    geoms = [_utm(county, v.geometry) for v in county.villages]
    assert all(g.geom_type == "Polygon" and g.is_valid and not g.is_empty for g in geoms)
    areas = np.array([g.area / 1e6 for g in geoms])
    np.testing.assert_allclose(areas, county.areas_km2, rtol=1e-9)
    assert areas.min() >= 1.0 and areas.max() <= 10.0
    assert areas.sum() == pytest.approx(SPEC.villages * SPEC.mean_area_km2, rel=1e-9)  # the outline's area
    assert areas.max() / areas.min() > 2  # villages of different sizes, not a grid


def test_villages_tile_the_county_without_gaps_or_overlaps(county):
    geoms = [_utm(county, v.geometry) for v in county.villages]
    outline = _utm(county, county.outline)
    union = shapely.union_all(geoms)
    assert outline.symmetric_difference(union).area < 1.0  # m2: no gap, nothing outside
    assert sum(g.area for g in geoms) - union.area < 1.0  # m2: no overlap
    tree = shapely.STRtree(geoms)
    for i, g in enumerate(geoms):  # neighbours share borders, not areas
        for j in tree.query(g, predicate="intersects"):
            if j != i:
                assert g.intersection(geoms[j]).area < 1e-3


def test_registry_fields_ids_and_towns(county):
    ids = [v.id for v in county.villages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(is_safe_id(i) for i in ids)
    towns = {v.town for v in county.villages}
    assert 4 <= len(towns) <= 8  # about one town per 20 villages
    for v in county.villages:
        assert v.name_zh.endswith("村") and len(v.name_zh) == 3 and v.name_en.isalpha()
        assert v.county == "示例县 Shili" and v.province == "广东省 Guangdong" and v.town.split()[0].endswith("镇")
        assert "synthetic" in v.boundary_source and v.geometry.contains(shapely.Point(v.centre))


def test_same_seed_same_bytes_other_seed_other_county(county, tmp_path):
    a = county.write(tmp_path / "a.geojson").read_bytes()
    b = make_county(SPEC).write(tmp_path / "b.geojson").read_bytes()
    assert a == b
    other = make_county(CountySpec(villages=120, seed=8))
    assert other.villages[0].geometry != county.villages[0].geometry


def test_registry_file_reads_back_with_load_villages(county, tmp_path):
    path = county.write(tmp_path / "county.geojson")
    back = load_villages(path)
    assert [v.id for v in back] == [v.id for v in county.villages]
    for v, w in zip(back, county.villages):
        assert v.geometry.equals_exact(w.geometry, 1e-12) and v.town == w.town and v.focus == w.focus
    assert load_villages(path, ids=[back[3].id])[0].name_zh == back[3].name_zh


def test_cli_writes_a_registry(tmp_path, capsys):
    out = tmp_path / "c.geojson"
    assert main(["--villages", "11", "--seed", "2", "--out", str(out)]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 11
    assert "11 villages" in capsys.readouterr().out
    assert main(["--villages", "0", "--out", str(out)]) == 2


@pytest.mark.parametrize("kw", [{"villages": 0}, {"mean_area_km2": 12.0}, {"density_contrast": 200.0}])
def test_impossible_specs_are_refused(kw):
    with pytest.raises(CountySpecError):
        CountySpec(**kw)
