"""``villagewatch verify OUT SHEET`` on a copy of the session's demo night: every bad sheet gives
one clear error and leaves the register and every product byte-identical; a good sheet changes
the register, the statuses (field_check.geojson), the indicator tables, the catalog, the lists
and the page; later dates keep the verdicts (a cleared body stays cleared unless it changed, a
treated body flagged again is relapsed), and a night after the import carries them.

Bodies and dates are read from the output (the demo's dates may change), never hard-coded."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from flows.cli import main
from flows.fieldcheck.sheet import BY_KEY

pytestmark = pytest.mark.slow

LOCK = ".villagewatch.lock"


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file but the run lock (rewritten by every locked command)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != LOCK}


def features(path: Path) -> list[dict]:
    return [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]


def flagged_bodies(out: Path, village_id: str) -> dict[str, list[str]]:
    """wb_id -> the dates whose suspects include it (from the products)."""
    found: dict[str, list[str]] = {}
    for p in sorted((out / village_id).glob("20*/black_odorous_suspects.geojson")):
        for f in features(p):
            found.setdefault(f["wb_id"], []).append(p.parent.name)
    return found


def pick(out: Path, n_dates: int = 3) -> tuple[str, str, list[str]]:
    """(village, body, its dates) of a body the screening flagged on at least ``n_dates`` dates."""
    for vdir in sorted(p for p in out.iterdir() if (p / "index.html").is_file()):
        for wb_id, dates in sorted(flagged_bodies(out, vdir.name).items()):
            if len(dates) >= n_dates:
                return vdir.name, wb_id, dates
    pytest.skip("no demo body flagged on enough dates")


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    return rows[0], rows[1:]


def fill(out: Path, village: str, date: str, wb_id: str, dest: Path, **values: str) -> Path:
    """The date's downloaded sheet with ``wb_id``'s row filled in (keys: column keys)."""
    header, rows = read_csv(out / village / date / "field_check.csv")
    col = {h: i for i, h in enumerate(header)}
    (row,) = [r for r in rows if r[col[BY_KEY["wb_id"].header]] == wb_id]
    for key, value in values.items():
        row[col[BY_KEY[key].header]] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, row])
    dest.write_text(buf.getvalue(), encoding="utf-8-sig")
    return dest


def day_after(date: str, n: int = 1) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=n)).isoformat()


GOOD = dict(inspector="李工 Li", transparency_cm="12", dissolved_oxygen_mg_l="1.1", ammonia_nitrogen_mg_l="18",
            orp_mv="-120", verdict="confirmed", photos="IMG_0012.jpg; IMG_0013.jpg")


def run_verify(capsys, out: Path, sheet: Path, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", str(out), str(sheet), *extra])
    return rc, capsys.readouterr().err


def test_every_bad_sheet_gives_one_clear_error_and_changes_nothing(copy_night, tmp_path, capsys):
    out = copy_night
    village, wb_id, dates = pick(out, 1)
    date = dates[0]
    # a register to keep: one good import first
    good = fill(out, village, date, wb_id, tmp_path / "good.csv", check_date=day_after(date), **GOOD)
    assert run_verify(capsys, out, good)[0] == 0
    before = snapshot(out)
    assert f"{village}/fieldcheck/register.json" in before
    other = next(p.name for p in sorted(out.iterdir()) if (p / "index.html").is_file() and p.name != village)
    ok = dict(GOOD, check_date=day_after(date, 2))
    cases = {
        "unknown id": (dict(ok), {"wb_id": "wb-1-1"}, (), r"unknown water body id 'wb-1-1'"),
        "impossible value": (dict(ok, dissolved_oxygen_mg_l="85"), {}, (),
                             r"85 mg/L is impossible for dissolved oxygen: it must lie within 0\.\.30 mg/L"),
        "wrong unit in a cell": (dict(ok, transparency_cm="0.12 m"), {}, (),
                                 r"'0\.12 m' is in 'm', but transparency is taken in cm"),
        "wrong unit in the header": (dict(ok), {"header": ("透明度 transparency (cm)", "透明度 transparency (m)")}, (),
                                     r"column '透明度 transparency \(m\)' is in 'm'"),
        "another village": (dict(ok), {}, ("--village", other), rf"of village '{village}' .*not of '{other}'"),
        "rows of two villages": (dict(ok), {"second_row_village": other}, (), r"must hold one value"),
        "check in the future": (dict(ok, check_date="2999-01-01"), {}, (), r"2999-01-01 is in the future"),
        "check before the screening": (dict(ok, check_date=day_after(date, -1)), {}, (), r"before the screening date"),
        "verdict against the guideline": (dict(ok, verdict="cleared"), {}, (),
                                          r"verdict cleared but the guideline's criterion is met"),
        "no inspector": (dict(ok, inspector=""), {}, (), r"no inspector"),
        "unknown verdict": (dict(ok, verdict="black"), {}, (), r"verdict 'black' is not one of"),
        "values without a verdict": (dict(ok, verdict=""), {}, (), r"no verdict"),
        "a date without products": (dict(ok), {"screening_date": "2030-01-01"}, (),
                                    r"has no black-odorous screening for 2030-01-01"),
    }
    for name, (values, change, extra, needle) in cases.items():
        sheet = fill(out, village, date, wb_id, tmp_path / f"{name.replace(' ', '_')}.csv", **values)
        text = sheet.read_text(encoding="utf-8-sig")
        if "header" in change:
            text = text.replace(*change["header"])
        if "wb_id" in change:
            text = text.replace(wb_id, change["wb_id"])
        if "screening_date" in change:
            text = text.replace(f",{date},", f",{change['screening_date']},")
        if "second_row_village" in change:
            lines = text.splitlines()
            lines.append(lines[1].replace(village, change["second_row_village"], 1).replace(wb_id, wb_id + "x"))
            text = "\r\n".join(lines) + "\r\n"
        sheet.write_text(text, encoding="utf-8-sig")
        rc, err = run_verify(capsys, out, sheet, *extra)
        lines = err.strip().splitlines()
        assert rc == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith("villagewatch: error: "), (name, err)
        assert re.search(needle, lines[0]), (name, lines[0])
        assert "nothing was imported" in lines[0], name
        assert snapshot(out) == before, name
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    rc, err = run_verify(capsys, out, broken)
    assert rc == 2 and "not a readable XLSX workbook" in err and snapshot(out) == before


def test_a_verdict_changes_register_statuses_tables_catalog_lists_and_page(copy_night, tmp_path, capsys):
    out = copy_night
    village, wb_id, dates = pick(out, 3)
    d0, d1, d2 = dates[0], dates[1], dates[-1]
    fc0 = out / village / d0 / "field_check.geojson"
    (before,) = [f for f in features(fc0) if f["wb_id"] == wb_id]
    assert before["status"] == "screened" and before["on_sheet"] and before["verification"] == "unverified"
    sheet = fill(out, village, d0, wb_id, tmp_path / "s.csv", check_date=day_after(d0), **GOOD)
    rc, _ = run_verify(capsys, out, sheet)
    assert rc == 0

    reg = json.loads((out / village / "fieldcheck" / "register.json").read_text(encoding="utf-8"))
    (check,) = reg["checks"]
    assert (check["wb_id"], check["screening_date"], check["verdict"], check["inspector"]) == \
        (wb_id, d0, "confirmed", "李工 Li")
    assert check["measurements"] == {"transparency_cm": 12.0, "dissolved_oxygen_mg_l": 1.1,
                                     "ammonia_nitrogen_mg_l": 18.0, "orp_mv": -120.0}
    assert check["assessment"]["criteria_met"] == ["transparency_cm", "dissolved_oxygen_mg_l", "ammonia_nitrogen_mg_l"]
    assert check["photos"] == ["IMG_0012.jpg", "IMG_0013.jpg"]
    suspect = {f["wb_id"]: f for f in features(out / village / d0 / "black_odorous_suspects.geojson")}[wb_id]
    assert check["screening"]["area_m2"] == suspect["area_m2"]  # figures from the product, not the sheet

    for d in (d0, d1, d2):  # the verdict holds on its date and is carried to later ones
        (after,) = [f for f in features(out / village / d / "field_check.geojson") if f["wb_id"] == wb_id]
        assert after["status"] == "confirmed", d
    counts = json.loads((out / village / d0 / "field_check.json").read_text(encoding="utf-8"))["counts"]
    assert counts["confirmed"] == 1
    table = pd.read_parquet(out / village / "indicators.parquet")
    row = table[(table["date"] == pd.Timestamp(d0)) & (table["stream"] == "main")].iloc[0]
    assert row["suspects_confirmed"] == 1 and row["suspects_screened"] == counts["screened"]
    run_table = pd.read_parquet(out / "indicators.parquet")
    assert run_table[run_table["village_id"] == village]["suspects_confirmed"].sum() >= 3
    item = json.loads((out / village / d0 / "item.json").read_text(encoding="utf-8"))
    assert item["properties"]["villagewatch:field_check"]["confirmed"] == 1
    hrefs = {k: a["href"] for k, a in item["assets"].items()}
    for suffix in ("csv", "xlsx", "geojson", "json"):
        assert hrefs[f"field_check_{suffix}"] == f"./field_check.{suffix}"
    collection = json.loads((out / village / "collection.json").read_text(encoding="utf-8"))
    assert any(a["href"].endswith("fieldcheck/register.json") for a in collection["assets"].values())
    kind = "national" if suspect["area_m2"] >= 2000 else "provincial"
    listed = features(out / village / "fieldcheck" / f"{kind}_list.geojson")
    assert [f["wb_id"] for f in listed] == [wb_id] and listed[0]["area_m2"] == suspect["area_m2"]
    page = (out / village / "index.html").read_text(encoding="utf-8")
    assert '<span class="precision" data-village="' + village + '">1 / 1 = 100%</span>' in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "1 / 1 = 100%" in index  # the village's and its county's precision

    # treated (found on the day after d1), then flagged again on d2: relapsed
    sheet = fill(out, village, d1, wb_id, tmp_path / "t.csv", check_date=day_after(d1), inspector="王工",
                 transparency_cm="60", dissolved_oxygen_mg_l="5.2", ammonia_nitrogen_mg_l="1.5", verdict="treated")
    assert run_verify(capsys, out, sheet)[0] == 0
    (later,) = [f for f in features(out / village / d2 / "field_check.geojson") if f["wb_id"] == wb_id]
    if d2 > day_after(d1):
        assert later["status"] == "relapsed" and later["on_sheet"]
    assert {f["wb_id"]: f["status"] for f in features(out / village / d1 / "field_check.geojson")}[wb_id] == "treated"
    assert len(json.loads((out / village / "fieldcheck" / "register.json").read_text())["checks"]) == 2


def test_a_cleared_body_stays_cleared_on_later_dates_unless_it_changed(copy_night, tmp_path, capsys):
    out = copy_night
    village, wb_id, dates = pick(out, 2)
    d0 = dates[0]
    sheet = fill(out, village, d0, wb_id, tmp_path / "c.csv", check_date=day_after(d0), inspector="李工",
                 transparency_cm="45", dissolved_oxygen_mg_l="6.5", ammonia_nitrogen_mg_l="0.8", verdict="cleared")
    assert run_verify(capsys, out, sheet)[0] == 0
    then = {f["wb_id"]: f for f in features(out / village / d0 / "black_odorous_suspects.geojson")}[wb_id]
    for d in dates[1:]:
        now = {f["wb_id"]: f for f in features(out / village / d / "black_odorous_suspects.geojson")}[wb_id]
        # the stated rule, computed here from the products' numbers
        moved = (abs(now["area_m2"] - then["area_m2"]) / then["area_m2"] > 0.5 or then["boi_mean"] - now["boi_mean"] > 0.02
                 or bool(set(now["methods_agreeing"].split(",")) - set(then["methods_agreeing"].split(","))))
        (f,) = [f for f in features(out / village / d / "field_check.geojson") if f["wb_id"] == wb_id]
        assert f["status"] == ("screened" if moved else "cleared"), (d, f["status_reason"])
        assert f["on_sheet"] is moved
        header, rows = read_csv(out / village / d / "field_check.csv")
        on_sheet = {r[header.index(BY_KEY["wb_id"].header)] for r in rows}
        assert (wb_id in on_sheet) is moved


def test_a_night_after_the_import_carries_the_statuses(copy_night, tmp_path, capsys, demo_villages, demo_source):
    """The register is an input of the night: a night that reuses every product keeps the
    statuses byte for byte, and the table it rebuilds still counts them."""
    from flows.cli import DEMO_WINDOW
    from flows.params import Params
    from flows.runner import finish_run, run_plain

    out = copy_night
    village_id, wb_id, dates = pick(out, 2)
    sheet = fill(out, village_id, dates[0], wb_id, tmp_path / "s.csv", check_date=day_after(dates[0]), **GOOD)
    assert run_verify(capsys, out, sheet)[0] == 0
    status_files = sorted((out / village_id).glob("20*/field_check.*")) + [out / village_id / "fieldcheck" / "register.json"]
    before = {p: p.read_bytes() for p in status_files}
    village = next(v for v in demo_villages if v.id == village_id)
    runs = run_plain([village], demo_source, out, *DEMO_WINDOW, Params(), incremental=False)
    assert runs[0].status == "ok"
    finish_run(out, demo_villages, runs)
    assert {p: p.read_bytes() for p in status_files} == before
    for d in dates:
        (f,) = [f for f in features(out / village_id / d / "field_check.geojson") if f["wb_id"] == wb_id]
        assert f["status"] == "confirmed"
    table = pd.read_parquet(out / village_id / "indicators.parquet")
    row = table[(table["date"] == pd.Timestamp(dates[0])) & (table["stream"] == "main")]
    assert row["suspects_confirmed"].item() == 1
