"""indices.suspect_persistence: persistent when >= 2 of a body's last 3 clear observations flag
it, watch when flagged once; observations by stable id or by overlap, cloud-hidden dates skipped."""
from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

import indices

POND = box(0, 0, 100, 50)  # 5,000 m2
OTHER = box(500, 500, 560, 560)


def bodies(*rows):
    """rows: (wb_id, status, geometry)."""
    return gpd.GeoDataFrame({"wb_id": [r[0] for r in rows], "status": [r[1] for r in rows]},
                            geometry=[r[2] for r in rows], crs="EPSG:32649")


SUS, ORD = "suspect_black_odorous", "ordinary"


def verdict(current, date, history):
    out = indices.suspect_persistence(current, date, history)
    return list(zip(out["persistence"], out["persistence_dates"], out["persistence_observations"]))


def test_first_flag_is_watch_second_is_persistent():
    now = bodies(("a", SUS, POND), ("b", ORD, OTHER))
    assert verdict(now, "2024-03-01", []) == [("watch", "2024-03-01", "2024-03-01"), ("", "", "")]
    hist = [("2024-02-01", bodies(("a", SUS, POND)))]
    assert verdict(now, "2024-03-01", hist)[0] == ("persistent", "2024-02-01,2024-03-01", "2024-02-01,2024-03-01")


def test_only_the_last_three_clear_observations_vote():
    now = bodies(("a", SUS, POND))
    # flagged long ago, ordinary on the two latest clear dates: 1 of 3 -> watch
    hist = [("2024-01-01", bodies(("a", SUS, POND))), ("2024-02-01", bodies(("a", ORD, POND))),
            ("2024-02-15", bodies(("a", ORD, POND)))]
    assert verdict(now, "2024-03-01", hist)[0] == ("watch", "2024-03-01", "2024-02-01,2024-02-15,2024-03-01")
    # a cloud-hidden date (no valid observation) and a date without the body are not observations
    hist += [("2024-02-20", bodies(("a", "no_valid_observation", POND))), ("2024-02-25", bodies(("x", ORD, OTHER)))]
    assert verdict(now, "2024-03-01", hist)[0][2] == "2024-02-01,2024-02-15,2024-03-01"
    # later dates than the current one never vote
    assert verdict(now, "2024-01-15", hist)[0] == ("persistent", "2024-01-01,2024-01-15", "2024-01-01,2024-01-15")


def test_overlap_counts_when_the_id_changed():
    now = bodies(("new-id", SUS, POND))
    shifted = box(10, 0, 110, 50)  # covers 90 % of the pond
    assert verdict(now, "2024-03-01", [("2024-02-01", bodies(("old", SUS, shifted)))])[0][0] == "persistent"
    assert verdict(now, "2024-03-01", [("2024-02-01", bodies(("old", ORD, shifted)))])[0][0] == "watch"
    sliver = box(0, 0, 20, 50)  # 20 %: not an observation of this body
    assert verdict(now, "2024-03-01", [("2024-02-01", bodies(("old", SUS, sliver)))])[0][2] == "2024-03-01"


def test_window_and_votes_are_parameters():
    now = bodies(("a", SUS, POND))
    hist = [("2024-02-01", bodies(("a", SUS, POND)))]
    out = indices.suspect_persistence(now, "2024-03-01", hist, window=3, min_flags=3)
    assert out["persistence"].tolist() == ["watch"]
    with pytest.raises(ValueError, match="min_flags"):
        indices.suspect_persistence(now, "2024-03-01", hist, window=2, min_flags=3)
