"""The field-check rules on small inputs: the rural guideline's criteria, the status a body gets
from the register (confirmed, cleared unless changed, relapsed after treatment), the screening
precision, the register file and the sheets (CSV/XLSX round trip, units in headers).

Expected values come from the guideline's thresholds (透明度 < 25 cm, or < 40 % of a depth under
25 cm; 溶解氧 < 2 mg/L; 氨氮 > 15 mg/L; any one criterion) and from the rules stated in
``flows.fieldcheck.register`` (area +-50 %, BOI down 0.02, a method gained), not from the code."""
from __future__ import annotations

import csv
import io
import json

import pytest

from flows.errors import FieldSheetError, RegisterError
from flows.fieldcheck import (Check, FieldCheckParams, Register, assess, changed, precision, read_register, read_sheet,
                              sheet_csv, sheet_xlsx, status_on, write_register)
from flows.fieldcheck.sheet import COLUMNS

SCREENING = {"area_m2": 8900.0, "boi_mean": 0.030, "methods_agreeing": "boi,ndbwi,cie"}


def _check(verdict, screening_date="2024-04-20", check_date="2024-05-02", wb_id="wb-1", raised=True, **kw):
    return Check(wb_id=wb_id, screening_date=screening_date, check_date=check_date, verdict=verdict,
                 inspector="李工", screening=dict(SCREENING), raised=raised, **kw)


# --------------------------------------------------------------------------- the guideline's criteria
@pytest.mark.parametrize("values, met, verdict", [
    ({"transparency_cm": 24.9}, ["transparency_cm"], "black_odorous"),
    ({"transparency_cm": 25.0}, [], None),  # "< 25 cm": 25 is not black-odorous, and DO, NH3-N unmeasured
    ({"dissolved_oxygen_mg_l": 1.99}, ["dissolved_oxygen_mg_l"], "black_odorous"),
    ({"ammonia_nitrogen_mg_l": 15.0}, [], None),  # "> 15 mg/L"
    ({"ammonia_nitrogen_mg_l": 15.01}, ["ammonia_nitrogen_mg_l"], "black_odorous"),
    ({"transparency_cm": 30, "dissolved_oxygen_mg_l": 2.0, "ammonia_nitrogen_mg_l": 15.0}, [], "not_black_odorous"),
    ({"transparency_cm": 30, "dissolved_oxygen_mg_l": 6.0, "ammonia_nitrogen_mg_l": 40.0}, ["ammonia_nitrogen_mg_l"],
     "black_odorous"),  # any one criterion
    # water 20 cm deep: the transparency criterion is 40 % of the depth, 8 cm
    ({"transparency_cm": 7.9, "depth_cm": 20}, ["transparency_cm"], "black_odorous"),
    ({"transparency_cm": 8.1, "depth_cm": 20}, [], None),
    ({"orp_mv": -250}, [], None),  # ORP: recorded, not a criterion of the rural guideline
])
def test_guideline_criteria(values, met, verdict):
    said = assess(values)
    assert said["criteria_met"] == met
    assert said["guideline"] == verdict


def test_orp_is_compared_with_the_urban_bound_for_information_only():
    assert assess({"orp_mv": 49.0})["orp_below_urban_bound"] is True
    assert assess({"orp_mv": 50.0})["orp_below_urban_bound"] is False
    assert assess({})["orp_below_urban_bound"] is None


# --------------------------------------------------------------------------- statuses
def test_a_body_without_a_check_is_screened_and_a_check_of_its_date_decides():
    reg = Register("v")
    assert status_on(reg, "wb-1", "2024-04-20", SCREENING)[0] == "screened"
    for verdict in ("confirmed", "cleared", "treated", "checked"):
        reg = Register("v", (_check(verdict),))
        status, reason, check = status_on(reg, "wb-1", "2024-04-20", SCREENING)
        assert status == verdict and check.check_date == "2024-05-02" and "李工" in reason
    # a check of a later screening does not decide an earlier date
    reg = Register("v", (_check("confirmed", screening_date="2024-07-18", check_date="2024-08-01"),))
    assert status_on(reg, "wb-1", "2024-04-20", SCREENING)[0] == "screened"


def test_confirmed_and_pending_carry_over_to_later_dates():
    for verdict in ("confirmed", "checked"):
        reg = Register("v", (_check(verdict),))
        assert status_on(reg, "wb-1", "2024-07-18", SCREENING)[0] == verdict


def test_a_cleared_body_is_not_raised_again_unless_it_changes():
    reg = Register("v", (_check("cleared"),))
    later = "2024-07-18"
    same = dict(SCREENING, area_m2=8900 * 1.45, boi_mean=0.030 - 0.019)  # within +-50 % and a drop < 0.02
    assert status_on(reg, "wb-1", later, same)[0] == "cleared"
    for figures, why in [
        (dict(SCREENING, area_m2=8900 * 1.6), "area"),  # +60 %
        (dict(SCREENING, area_m2=8900 * 0.4), "area"),  # -60 %
        (dict(SCREENING, boi_mean=0.030 - 0.021), "BOI"),  # darker by 0.021 > 0.02
        (dict(SCREENING, methods_agreeing="boi,ndbwi,cie,dark"), "dark"),  # a method more
    ]:
        status, reason, _ = status_on(reg, "wb-1", later, figures)
        assert status == "screened" and "changed since cleared" in reason and why in reason
    # the amounts are parameters
    strict = FieldCheckParams(change_area_share=0.2)
    assert changed(dict(SCREENING, area_m2=8900 * 1.3), SCREENING, strict) is not None
    assert changed(dict(SCREENING, area_m2=8900 * 1.3), SCREENING) is None


def test_a_treated_body_flagged_again_after_its_treatment_is_relapsed():
    reg = Register("v", (_check("confirmed"), _check("treated", screening_date="2024-07-18", check_date="2024-09-01")))
    assert status_on(reg, "wb-1", "2024-10-25", SCREENING)[0] == "relapsed"
    assert status_on(reg, "wb-1", "2024-08-15", SCREENING)[0] == "treated"  # flagged before it was found treated
    # a check of the relapse decides that date
    reg = reg.merged([_check("confirmed", screening_date="2024-10-25", check_date="2024-11-02")])
    assert status_on(reg, "wb-1", "2024-10-25", SCREENING)[0] == "confirmed"
    assert status_on(reg, "wb-1", "2025-01-12", SCREENING)[0] == "confirmed"


def test_precision_is_confirmed_of_checked_screenings():
    checks = [_check("confirmed", wb_id="a"), _check("confirmed", wb_id="b"), _check("confirmed", wb_id="c"),
              _check("cleared", wb_id="d"),
              _check("checked", wb_id="e"),  # pending: not decisive
              _check("cleared", wb_id="f", raised=False),  # not raised by the satellite: not a test of it
              _check("treated", wb_id="a", screening_date="2024-07-18", check_date="2024-09-01")]
    assert precision(checks) == {"checked": 4, "confirmed": 3, "cleared": 1, "precision": 0.75}
    # a later decisive check of the same screening replaces the earlier one
    checks.append(_check("cleared", wb_id="c", check_date="2024-05-20"))
    assert precision(checks)["precision"] == 0.5
    assert precision([])["precision"] is None


# --------------------------------------------------------------------------- the register file
def test_register_round_trip_and_corrections(tmp_path):
    (tmp_path / "v").mkdir()
    reg = Register("v", (_check("cleared"),))
    path = write_register(tmp_path, reg)
    assert read_register(tmp_path, "v") == reg
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema"] == "villagewatch-register/1" and doc["checks"][0]["verdict"] == "cleared"
    # the same body, screening and day imported again replaces the check; another day adds one
    fixed = reg.merged([_check("confirmed")])
    assert [c.verdict for c in fixed.checks] == ["confirmed"]
    assert len(fixed.merged([_check("treated", check_date="2024-09-01")]).checks) == 2
    assert read_register(tmp_path, "other").checks == ()


@pytest.mark.parametrize("text, why", [("{not json", "cannot be read"),
                                       ('{"schema": "x"}', "villagewatch-register/1"),
                                       ('{"schema": "villagewatch-register/1", "village": "w", "checks": []}', "'w'")])
def test_a_broken_register_is_named_and_left_alone(tmp_path, text, why):
    path = tmp_path / "v" / "fieldcheck" / "register.json"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegisterError, match="register.json") as err:
        read_register(tmp_path, "v")
    assert why in str(err.value)
    assert path.read_text(encoding="utf-8") == text


# --------------------------------------------------------------------------- sheets
ROWS = [{"village": "v", "screening_date": "2024-04-20", "wb_id": "wb-1", "status": "screened", "list": "national",
         "area_m2": 8900.0, "lon": 116.1, "lat": 24.2, "methods_agreeing": "boi,ndbwi"},
        {"village": "v", "screening_date": "2024-04-20", "wb_id": "wb-2", "status": "relapsed", "list": "provincial",
         "area_m2": 900.0, "lon": 116.2, "lat": 24.3, "methods_agreeing": "boi"}]


def test_csv_and_xlsx_sheets_read_back_with_bilingual_headers(tmp_path):
    csv_path, xlsx_path = tmp_path / "s.csv", tmp_path / "s.xlsx"
    csv_path.write_bytes(sheet_csv(ROWS))
    xlsx_path.write_bytes(sheet_xlsx(ROWS, title="t"))
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows the Chinese
    header = next(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert header == [c.header for c in COLUMNS]
    assert "透明度 transparency (cm)" in header and "溶解氧 dissolved oxygen (mg/L)" in header
    assert "氨氮 ammonia nitrogen (mg/L)" in header and "氧化还原电位 ORP (mV)" in header
    for path in (csv_path, xlsx_path):
        rows = read_sheet(path)
        assert [r.number for r in rows] == [2, 3]
        assert [str(r.cells["wb_id"]) for r in rows] == ["wb-1", "wb-2"]
        assert str(rows[1].cells["status"]).startswith("relapsed")
    # deterministic bytes (no clock time in the workbook: openpyxl stamps the save time into
    # docProps/core.xml, and zip entries carry their write time)
    assert sheet_xlsx(ROWS, title="t") == xlsx_path.read_bytes()
    import zipfile

    with zipfile.ZipFile(xlsx_path) as zf:
        core = zf.read("docProps/core.xml")
        assert b"2000-01-01T00:00:00Z</dcterms:modified>" in core
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_sheet_whose_header_changed_unit_is_refused(tmp_path):
    text = sheet_csv(ROWS).decode("utf-8-sig").replace("透明度 transparency (cm)", "透明度 transparency (m)")
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FieldSheetError, match=r"transparency \(m\).*in 'm'.*in cm"):
        read_sheet(path)
    # a CSV saved by Chinese Excel (GB18030) reads the same
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(sheet_csv(ROWS).decode("utf-8-sig").encode("gb18030"))
    assert [str(r.cells["wb_id"]) for r in read_sheet(gbk)] == ["wb-1", "wb-2"]
    other = tmp_path / "s.txt"
    other.write_text("x")
    with pytest.raises(FieldSheetError, match=r"\.csv or \.xlsx"):
        read_sheet(other)
