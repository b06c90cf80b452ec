"""The offline download page for environmental officers: ``OUT/index.html`` and
``OUT/<village>/index.html``.

Static HTML in UTF-8 (``lang="zh-CN"``), inline CSS, no external resource, only relative
links, every text escaped. The only scripts are the offline map's (``flows.publish.webmap``:
the vendored Leaflet and ``villagewatch-map.js`` from ``OUT/_static``, the layer description
inlined as JSON). The index shows every pilot area on the map (coloured by its open suspects)
and lists each (Chinese name first, pinyin beside it) with its county, division code, pilot
type, the status of its last run, its latest date, headline figures and screening precision,
and the precision per county; a village page shows the map (true colour, NDVI, change
classes, water bodies, suspects by field-check status, change polygons, boundary; a date
selector and a layer switcher), the field-check section (``flows.publish.fieldpage``), the
quicklooks and, per date and change pair, the download links of every file, and the
indicator table. Pages say when boundaries are approximate and when the data is synthetic
demo data. Nothing on them changes between runs over the same products (no clock time).
"""
from __future__ import annotations

import html
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from aoi import Village

from ..products.atomic import write_text
from ..products.inventory import ProductSet, VillageProducts
from ..fieldcheck import FieldCheckSummary
from ..products.layout import (ALERTS_FIGURES, CATALOG, CHANGE_FIGURES, COLLECTION, DATE_FIGURES, FIELD_CHECK_GEOJSON,
                               MANIFEST, PAGE, QUICKLOOK, QUICKLOOK_TRUE_COLOUR, STATIC_FOLDER, SUSPECTS, TABLE,
                               WATCHES_FOLDER, run_table, watches_dir)
from .catalog import asset_title
from .fieldpage import county_table, fieldcheck_block, open_suspects, precision_text

log = logging.getLogger("villagewatch.flows")

PILOT_TYPES = {"regional-comprehensive": "区域综合型 regional-comprehensive",
               "domain-featured": "领域特色型 domain-featured"}
STATUS_TEXT = {"ok": "正常 ok", "no-data": "无数据 no data", "failed": "失败 failed"}

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0 auto;max-width:1100px;padding:1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
h3{font-size:1.05em;margin:1em 0 .3em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em}
th{background:#f0f3f6;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em;margin:.6em 0}
.demo{background:#fdecea;border-left-color:#d93025}.error{background:#fdecea;border-left-color:#d93025}
.pinyin{color:#666;font-size:.9em;margin-left:.4em}.set{border:1px solid #ddd;border-radius:4px;padding:.6em;margin:.8em 0}
.set img{max-width:100%;height:auto;display:block}.files{font-size:.9em;columns:2}
nav a{margin-right:1em}.small{font-size:.85em;color:#555}
.pair{display:flex;gap:.5em;flex-wrap:wrap}.pair img{flex:1 1 45%;min-width:300px}
"""

#: indicator table columns shown on the village page (the parquet has them all)
TABLE_COLUMNS = [
    ("date", "日期 date"), ("stream", "数据流 stream"), ("sensor", "传感器 sensor"),
    ("valid_fraction", "有效比例 valid"), ("ndvi_mean", "NDVI 均值 mean"),
    ("vegetation_cover", "植被覆盖 veg. cover"), ("water_area_m2", "水体面积 water m²"),
    ("n_water_bodies", "水体数 water bodies"), ("n_black_odorous_suspects", "疑似黑臭 suspects"),
    ("n_persistent_suspects", "持续疑似 persistent"), ("n_watch_suspects", "观察 watch"),
    ("black_odorous_area_m2", "疑似黑臭面积 m²"), ("vegetation_loss_area_m2", "植被减少 veg. loss m²"),
    ("vegetation_gain_area_m2", "植被增加 veg. gain m²"), ("water_gain_area_m2", "水体增加 water gain m²"),
    ("water_loss_area_m2", "水体减少 water loss m²"), ("new_black_odorous_suspects", "新增疑似 new suspects"),
    ("farmland_conversion_area_m2", "疑似耕地非农化 m²"), ("ancient_tree_alerts", "古树预警 tree alerts"),
    ("suspects_screened", "待核查 screened"), ("suspects_confirmed", "确认黑臭 confirmed"),
    ("suspects_cleared", "排除 cleared"), ("suspects_relapsed", "返黑返臭 relapsed"),
]


def trees_block(vp) -> str:
    """The ancient-tree watch (一树一码): one row per registered tree, alerts first, and the
    watch's files for download; empty when the village has no tree registry."""
    path = watches_dir(vp.folder.parent, vp.village_id) / "ancient_trees.geojson"
    if not path.is_file():
        return ""
    try:
        feats = json.loads(path.read_text(encoding="utf-8")).get("features", [])
    except (OSError, ValueError) as exc:
        return f'<p class="note error">ancient_trees.geojson: {esc(str(exc))}</p>'

    def num(v):
        return "–" if v is None else f"{float(v):.2f}"

    rows = []
    for f in sorted(feats, key=lambda f: (not f["properties"].get("alert"), str(f["properties"].get("code")))):
        pr = f["properties"]
        alert = "⚠ 预警 alert" if pr.get("alert") else "正常 ok"
        rows.append("<tr>" + "".join(f"<td>{esc(str(x))}</td>" for x in (
            pr.get("code", ""), pr.get("name_zh") or "", pr.get("species") or "")) +
            f'<td class="num">{num(pr.get("ndvi_mean"))}</td><td class="num">{num(pr.get("change"))}</td>'
            f"<td>{esc(alert)}</td><td>{esc(', '.join(pr.get('alert_dates') or []))}</td></tr>")
    head = ["编码 code", "名称 name", "树种 species", "NDVI", "变化 change", "状态 status", "预警日期 alert dates"]
    links = " · ".join(f'<a href="{WATCHES_FOLDER}/{esc(p.name)}" download>{esc(p.name)}</a>' for p in vp.watches)
    return ('<h2 id="trees">古树名木监测 Ancient trees (一树一码)</h2>'
            f"<p class=\"small\">冠层 NDVI 相对基线下降预警 canopy NDVI decline against the baseline · {links}</p>"
            f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


@dataclass
class VillageEntry:
    """What the pages say about one village."""

    village: Village
    products: VillageProducts | None = None
    status: str = ""
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    fieldcheck: FieldCheckSummary | None = None

    @property
    def has_page(self) -> bool:
        return self.products is not None and bool(self.products.sets)

    @property
    def demo(self) -> bool:
        return self.products is not None and self.products.demo


# --------------------------------------------------------------------------- small helpers
def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def href(rel: str) -> str:
    """A relative URL for a POSIX path under the output folder, percent-encoded and escaped."""
    return esc(quote(rel, safe="/._-"))


def fmt_num(value: Any, *, digits: int = 3) -> str:
    """Figures for people: thousands separators for large numbers, 3 significant digits else."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}g}"
    return str(value)


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def headline(entry: VillageEntry) -> dict[str, Any]:
    """Latest date, its water area and suspects, and the vegetation loss of the change alerts
    (candidate and confirmed area, against the same season: ``flows.products.alerts``); without
    alerts, the latest change's."""
    vp = entry.products
    out: dict[str, Any] = {"latest": None, "water_area_m2": None, "suspects": None, "veg_loss_m2": None,
                           "change": None}
    if vp is None:
        return out
    if vp.dates:
        last = vp.dates[-1]
        ind = _read_json(last.folder / DATE_FIGURES)
        out.update(latest=last.key, water_area_m2=ind.get("water_area_m2"),
                   suspects=ind.get("n_black_odorous_suspects"))
    alerts = _read_json(watches_dir(vp.folder.parent, vp.village_id) / ALERTS_FIGURES).get("figures")
    if alerts:
        out.update(veg_loss_m2=alerts.get("vegetation_loss_area_m2"),
                   change=f"{alerts.get('first_date')} → {alerts.get('latest_date')}")
    elif vp.changes:
        last = vp.changes[-1]
        out.update(veg_loss_m2=_read_json(last.folder / CHANGE_FIGURES).get("vegetation_loss_area_m2"),
                   change=last.key.replace("_", " → "))
    return out


def document(title: str, body: str, head: str = "") -> str:
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n{head + chr(10) if head else ''}<style>{CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def _notes(entries: Iterable[VillageEntry]) -> str:
    entries = list(entries)
    parts = []
    if any(e.demo for e in entries):
        parts.append('<p class="note demo"><strong>演示数据 Demo data.</strong> 本页产品由合成的演示影像生成，'
                     '并非真实观测。 These products were made from synthetic demo imagery, not observations.</p>')
    if any(e.village.boundary_source == "approximate" for e in entries):
        parts.append('<p class="note"><strong>边界为近似范围 Approximate boundaries.</strong> '
                     '标注“近似”的村界是围绕村庄已知位置的近似范围，并非官方边界。 Village boundaries marked '
                     '“approximate” are a few km² around the village’s best-known location, not official '
                     'boundaries.</p>')
    return "\n".join(parts)


# --------------------------------------------------------------------------- index.html
def _status_cell(entry: VillageEntry) -> str:
    text = STATUS_TEXT.get(entry.status, entry.status or "–")
    reason = f'<br><span class="small">{esc(entry.reason)}</span>' if entry.reason else ""
    return f"{esc(text)}{reason}"


def _index_row(entry: VillageEntry) -> str:
    v, h = entry.village, headline(entry)
    name = esc(v.name_zh)
    if entry.has_page:
        name = f'<a href="{href(v.id + "/index.html")}">{name}</a>'
    approx = ' <span class="small">(边界近似 approx.)</span>' if v.boundary_source == "approximate" else ""
    problems = (f'<br><span class="small">发布问题 publishing problems: {len(entry.problems)}</span>'
                if entry.problems else "")
    cells = [
        f'{name}<span class="pinyin">{esc(v.name_en)}</span>{approx}',
        esc(v.county), esc(v.admin_code or "–"), esc(PILOT_TYPES.get(v.pilot_type, v.pilot_type)),
        _status_cell(entry) + problems, esc(h["latest"] or "–"),
    ]
    fc = entry.fieldcheck
    nums = [fmt_num(h["water_area_m2"]), fmt_num(h["suspects"]), fmt_num(open_suspects(fc)),
            precision_text(fc.precision) if fc else "–", fmt_num(h["veg_loss_m2"])]
    return ("<tr>" + "".join(f"<td>{c}</td>" for c in cells)
            + "".join(f'<td class="num">{esc(n)}</td>' for n in nums) + "</tr>")


def render_index(entries: Sequence[VillageEntry], *, has_run_table: bool = False, map_block: tuple[str, str] = ("", ""),
                 counties: dict | None = None) -> str:
    """``OUT/index.html``: the map of every pilot area, each with its status, headline
    figures and screening precision, and the precision per county."""
    head = ["村 Village", "县/区 County", "统计用区划代码 Division code", "试点类型 Pilot type", "最近运行 Last run",
            "最新日期 Latest date", "水体面积 Water area (m²)", "疑似黑臭水体 Black-odorous suspects",
            "待处理 Open (not cleared)", "筛查精度 Precision (confirmed of checked)",
            "植被减少 Vegetation loss, alerts (m²)"]
    rows = "\n".join(_index_row(e) for e in entries)
    links = [f'<a href="{CATALOG}">STAC 目录 {CATALOG}</a>']
    if has_run_table:
        links.append(f'<a href="{TABLE}">全部指标 {TABLE}</a>')
    body = (f"<h1>数字乡村试点遥感监测 <span class=\"pinyin\">villagewatch: digital-village pilot areas</span></h1>\n"
            f"{_notes(entries)}\n<nav>{' '.join(links)}</nav>\n"
            + (f'<h2 id="map">地图 Map</h2>\n{map_block[0]}\n' if map_block[0] else "")
            + f"<table>\n<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead>\n"
            f"<tbody>\n{rows}\n</tbody>\n</table>\n"
            "<p class=\"small\">水体面积与疑似黑臭水体数为最新日期的数值；植被减少为与往年同季相比的变化预警面积"
            "（待确认与已确认）。 Water area and suspects are of the latest date; vegetation loss is the area of the "
            "change alerts against the same season of earlier years (candidate and confirmed). "
            "Suspects are candidates for a field check, not findings; open ones are not cleared by a check.</p>\n"
            + county_table(counties or {}) + (f"\n{map_block[1]}" if map_block[1] else ""))
    from .webmap import map_head

    return document("数字乡村试点遥感监测 villagewatch", body, map_head(STATIC_FOLDER) if map_block[0] else "")


# --------------------------------------------------------------------------- <village>/index.html
def _file_links(ps: ProductSet, vdir: Path) -> str:
    """Download links of a product set's COGs, GeoJSON and other files, grouped."""
    groups: dict[str, list[str]] = {"COG (GeoTIFF)": [], "GeoJSON": [], "其他 other": []}
    for p in ps.outputs() + [ps.folder / MANIFEST]:
        if not p.is_file():
            continue
        group = {".tif": "COG (GeoTIFF)", ".geojson": "GeoJSON"}.get(p.suffix, "其他 other")
        rel = p.relative_to(vdir).as_posix()
        groups[group].append(f'<li><a href="{href(rel)}" download>{esc(p.name)}</a> '
                             f'<span class="small">{esc(asset_title(p.stem))}, {esc(fmt_bytes(p.stat().st_size))}</span></li>')
    return "\n".join(f"<h4>{esc(g)}</h4>\n<ul class=\"files\">\n" + "\n".join(items) + "\n</ul>"
                     for g, items in groups.items() if items)


def _set_block(ps: ProductSet, vdir: Path) -> str:
    stream = "" if ps.stream == "main" else f" [{ps.stream}]"
    label = ps.key if ps.kind == "date" else " → ".join(ps.dates)
    parts = [f'<div class="set" id="{esc(ps.item_id)}">\n<h3>{esc(label + stream)}</h3>']
    pics = []
    for name, what in ((QUICKLOOK, "quicklook"), (QUICKLOOK_TRUE_COLOUR, "true colour quicklook")):
        ql = ps.folder / name
        if ql.is_file():
            alt = f"{ps.village_id} {label}{stream} {what}"
            pics.append(f'<img src="{href(ql.relative_to(vdir).as_posix())}" alt="{esc(alt)}" width="700" height="640">')
    if pics:
        parts.append(f'<div class="pair">{"".join(pics)}</div>' if len(pics) > 1 else pics[0])
    if ps.kind == "change":
        z = ps.package_path()
        if z.is_file():
            parts.append(f'<p><a href="{href(z.relative_to(vdir).as_posix())}" download><strong>'
                         f'下载整个变化数据包 Download the whole change package</strong> ({esc(z.name)}, '
                         f'{esc(fmt_bytes(z.stat().st_size))})</a></p>')
        figures = _read_json(ps.folder / CHANGE_FIGURES)
        if figures:
            parts.append(_figures_table(figures))
    else:
        checked = ps.folder / FIELD_CHECK_GEOJSON  # the suspects with their field-check verdicts, when made
        parts.append(suspects_block(checked if checked.is_file() else ps.folder / SUSPECTS))
    if ps.manifest.get("skipped_products"):
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(ps.manifest["skipped_products"].items()))
        parts.append(f'<p class="small">未生成 not made: {esc(reasons)}</p>')
    parts.append(_file_links(ps, vdir))
    parts.append("</div>")
    return "\n".join(parts)


PERSISTENCE_TEXT = {"persistent": "持续疑似 persistent", "watch": "观察 watch (flagged once)"}


def suspects_block(path: Path) -> str:
    """A date's black-odorous suspects: persistent ones first, each with the dates that flagged
    it (``persistence_dates``); empty when the date has no suspects file or no suspect."""
    try:
        features = json.loads(path.read_text(encoding="utf-8")).get("features", [])
    except (OSError, ValueError):
        return ""
    if not features:
        return ""
    props = sorted((f.get("properties") or {} for f in features if (f.get("properties") or {}).get("raised", True)),
                   key=lambda p: (p.get("persistence") != "persistent", -(p.get("area_m2") or 0)))
    head = ["编号 wb_id", "持续性 persistence", "疑似日期 dates flagged", "类型 type", "面积 m²", "名录 list", "核查 verification"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (
            p.get("wb_id"), PERSISTENCE_TEXT.get(p.get("persistence"), p.get("persistence") or "–"),
            (p.get("persistence_dates") or "").replace(",", ", "), p.get("black_odorous_type") or "–",
            fmt_num(p.get("area_m2")), p.get("list") or "–", p.get("verification") or "–")) + "</tr>"
        for p in props)
    note = ("持续疑似：最近三次晴空观测中至少两次被判为疑似；观察：仅一次。 Persistent: flagged on at least 2 of the "
            "body's last 3 clear observations; watch: flagged once. Suspects are screening results, not verdicts: "
            "field checks decide.")
    return (f'<h4>疑似黑臭水体 Black-odorous suspects</h4>\n<p class="small">{esc(note)}</p>\n<table><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head) + f"</tr></thead><tbody>{rows}</tbody></table>")


def screening_limits(manifest: dict[str, Any]) -> str:
    """What the black-odorous screening of a date could not see, from the thresholds its
    manifest recorded (``parameters.black_odorous``); empty without them. The bright type is named
    as a blind spot when it was not screened, or above ``bright_max`` when it was."""
    bo = (manifest.get("parameters") or {}).get("black_odorous") or {}
    if not bo:
        return ""
    if bo.get("bright_type"):
        bright = (f"明亮型（高悬浮物）黑臭水体仅在反射率低于 {bo.get('bright_max')} 时筛查。 The bright, "
                  f"high-suspended-matter type is screened only below reflectance {bo.get('bright_max')} and with "
                  f"NIR/red >= {bo.get('bright_min_nir_red')}; brighter, it cannot be told from turbid water.")
    else:
        bright = ("未筛查明亮型（高悬浮物）黑臭水体。 The bright, high-suspended-matter type of black-odorous water "
                  "is not screened: on one date its colour cannot be told from moderately turbid river water, so a "
                  "bright black-odorous pond or ditch is not flagged.")
    items = [bright,
             "窄于一个像元、或水体掩膜完全未覆盖的沟渠不在筛查之内。 Ditches narrower than a pixel, and water the water "
             "mask misses entirely, are not screened (mixed pixels joined to mapped water are).",
             shadow_limit(bo)]
    return ('<div class="note"><strong>黑臭水体筛查的盲区 What the black-odorous screening cannot see</strong><ul>'
            + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul></div>")


def shadow_limit(bo: dict[str, Any]) -> str:
    """The shadow item of ``screening_limits`` from the recorded cast-shadow guard settings."""
    if not bo.get("cast_shadow_guard"):
        return "水面上的建筑与树木阴影可能被误判。 Building and tree shadows on water can still be called suspects."
    h = bo.get("cast_shadow_max_height_m")
    return (f"按太阳方位剔除房屋与树木（高至 {h} 米）投在水面的阴影；紧贴向阳岸的窄带黑臭水体当日可能漏判。 "
            f"Shadows of houses and trees up to {h} m high are removed by the sun's position; black-odorous water in "
            "a narrow strip along the sunward shore of ordinary water can be missed on that date, and taller casters' "
            "shadows can still be called suspects.")


def _figures_table(figures: dict[str, Any]) -> str:
    rows = [(k, v) for k, v in sorted(figures.items()) if k not in ("from", "to")]
    body = "".join(f'<tr><th>{esc(k)}</th><td class="num">{esc(fmt_num(v))}</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def indicator_table(path: Path | None) -> str:
    """The village's indicator table as HTML (selected columns), or a note when there is none."""
    if path is None:
        return "<p>尚无指标表 No indicator table yet.</p>"
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # a broken table must not break the page
        log.warning("publish: %s: unreadable indicator table: %s", path, exc)
        return f'<p class="note error">指标表无法读取 The indicator table could not be read: {esc(exc)}</p>'
    cols = [(c, t) for c, t in TABLE_COLUMNS if c in df.columns]
    head = "".join(f"<th>{esc(t)}</th>" for _, t in cols)
    rows = []
    for rec in df.to_dict("records"):
        cells = []
        for c, _ in cols:
            v = rec[c]
            if c == "date" and hasattr(v, "strftime"):
                v = v.strftime("%Y-%m-%d")
            elif hasattr(v, "item"):
                v = v.item()
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{esc(fmt_num(v) if c not in ('date', 'stream', 'sensor') else v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


def render_village(entry: VillageEntry, *, map_block: tuple[str, str] = ("", "")) -> str:
    """``OUT/<village>/index.html``: the map, the field checks, quicklooks, downloads per date
    and change pair, indicator table."""
    v, vp = entry.village, entry.products
    assert vp is not None
    h = headline(entry)
    facts = [("县/区 County", v.county), ("镇 Town", v.town), ("省 Province", v.province),
             ("统计用区划代码 Division code", v.admin_code or "–"),
             ("试点类型 Pilot type", PILOT_TYPES.get(v.pilot_type, v.pilot_type)),
             ("关注 Focus", ", ".join(v.focus)), ("边界来源 Boundary", v.boundary_source),
             ("最近运行 Last run", STATUS_TEXT.get(entry.status, entry.status or "–")
              + (f" ({entry.reason})" if entry.reason else "")),
             ("最新日期 Latest date", h["latest"] or "–")]
    facts_html = "".join(f"<tr><th>{esc(k)}</th><td>{esc(val)}</td></tr>" for k, val in facts)
    problems = ""
    if entry.problems:
        items = "".join(f"<li>{esc(p)}</li>" for p in entry.problems)
        problems = f'<div class="note error"><strong>发布问题 Publishing problems</strong><ul>{items}</ul></div>'
    vdir = vp.folder
    dates = [s for s in vp.sets if s.kind == "date"][::-1]
    changes = [s for s in vp.sets if s.kind == "change"][::-1]
    table_link = f'<p><a href="{TABLE}" download>{TABLE}</a></p>' if vp.table else ""
    nav = (f'<nav><a href="../{PAGE}">← 全部村庄 all villages</a><a href="#map">地图 map</a>'
           '<a href="#fieldcheck">现场核查 field check</a><a href="#changes">变化 changes</a>'
           '<a href="#dates">日期 dates</a><a href="#indicators">指标 indicators</a>'
           f'<a href="{COLLECTION}">STAC {COLLECTION}</a></nav>')
    body = "\n".join([
        nav,
        f"<h1>{esc(v.name_zh)}<span class=\"pinyin\">{esc(v.name_en)}</span></h1>",
        _notes([entry]), problems, f"<table>{facts_html}</table>",
        f'<h2 id="map">地图 Map</h2>\n{map_block[0]}' if map_block[0] else "",
        fieldcheck_block(entry.fieldcheck, vdir) if entry.fieldcheck is not None else "",
        '<h2 id="changes">变化检测 Change between dates</h2>',
        "\n".join(_set_block(s, vdir) for s in changes) or "<p>尚无变化产品 No change products yet.</p>",
        '<h2 id="dates">各日期产品 Products per date</h2>',
        screening_limits(dates[0].manifest) if dates else "",
        "\n".join(_set_block(s, vdir) for s in dates) or "<p>尚无产品 No products yet.</p>",
        trees_block(vp),
        '<h2 id="indicators">指标表 Indicator table</h2>', table_link, indicator_table(vp.table),
        map_block[1],
    ])
    from .webmap import map_head

    return document(f"{v.name_zh} {v.name_en} · villagewatch", body, map_head(f"../{STATIC_FOLDER}") if map_block[0] else "")


# --------------------------------------------------------------------------- writing
def write_if_changed(path: Path, text: str) -> Path:
    """Write ``text`` atomically unless ``path`` already holds exactly these bytes."""
    if not (path.is_file() and path.read_bytes() == text.encode("utf-8")):
        write_text(path, text)
    return path


def _index_point(e: VillageEntry) -> dict[str, Any]:
    v = e.village
    lon, lat = v.centre or v.geometry.representative_point().coords[0]
    h = headline(e)
    n_open = open_suspects(e.fieldcheck)
    return {"lon": round(float(lon), 6), "lat": round(float(lat), 6), "id": v.id, "name_zh": v.name_zh,
            "name_en": v.name_en, "county": v.county, "admin_code": v.admin_code,
            "n_black_odorous_suspects": n_open if n_open is not None else h["suspects"],
            "href": f"{v.id}/{PAGE}" if e.has_page else None}


def write_pages(out: str | Path, entries: Sequence[VillageEntry], *, basemap: dict | None = None,
                counties: dict | None = None) -> list[Path]:
    """Write every village page, then the index (which notes a page that failed); returns
    their paths. ``basemap``: the maps' online basemap (``None``: none, the default)."""
    from .webmap import index_description, map_html, village_description

    out = Path(out)
    written = []
    for e in entries:
        if not e.has_page:
            continue
        try:
            desc = village_description(e.products, e.village, basemap=basemap)
            block = map_html(desc, f"../{STATIC_FOLDER}")
            written.append(write_if_changed(e.products.folder / PAGE, render_village(e, map_block=block)))
        except Exception as exc:  # one broken village must not stop the others' pages
            log.error("publish: %s: village page failed: %s", e.village.id, exc)
            e.problems.append(f"village page: {type(exc).__name__}: {exc}")
    block = map_html(index_description([_index_point(e) for e in entries], basemap=basemap), STATIC_FOLDER,
                     height=520)
    index = render_index(entries, has_run_table=run_table(out).is_file(), map_block=block, counties=counties)
    return [write_if_changed(out / PAGE, index)] + written
