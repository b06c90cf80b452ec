"""The field-check parts of the pages (``flows.fieldcheck``): per village the screening
precision, the sheets to download per date, the national and provincial lists and every
body's status and history; on the index the precision per county. Chinese first, English
beside; every text escaped."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from ..fieldcheck import RURAL_GUIDELINE, STATUSES, FieldCheckSummary, criteria_table

#: statuses in the order the register table lists them (open first)
ORDER = ("relapsed", "screened", "checked", "confirmed", "treated", "cleared")
OPEN = ("screened", "checked", "relapsed", "confirmed")


def _esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _href(rel: str) -> str:
    return _esc(quote(rel, safe="/._-"))


def status_text(status: str) -> str:
    zh, en = STATUSES.get(status, (status, status))
    return f"{zh} {en}"


def precision_text(p: Mapping[str, Any]) -> str:
    """``1 / 2 = 50 %`` (confirmed of checked), or a dash before any decisive check."""
    if not p or not p.get("checked"):
        return "–"
    return f"{p['confirmed']} / {p['checked']} = {p['precision']:.0%}"


def open_suspects(s: FieldCheckSummary | None) -> int | None:
    """The latest date's suspects still open (screened, checked, relapsed, confirmed)."""
    if s is None or not s.latest:
        return None
    counts = s.latest.get("counts", {})
    return int(sum(counts.get(k, 0) for k in OPEN))


def _download(path: Path, vdir: Path, name: str, label: str) -> str:
    return f'<a href="{_href(path.relative_to(vdir).as_posix())}" download="{_esc(name)}">{_esc(label)}</a>'


def fieldcheck_block(s: FieldCheckSummary, vdir: Path) -> str:
    """The village page's field-check section."""
    vid = s.village_id
    parts = ['<h2 id="fieldcheck">现场核查 Field check</h2>',
             '<p class="small">遥感筛查出的疑似黑臭水体须经现场核查后方可列入清单。每个日期一张核查表（CSV、XLSX，'
             '以及供外业 App 使用的 GeoJSON）；填好后用 <code>villagewatch verify OUT 核查表</code> 导入，再次发布后本页、'
             '登记册和目录随之更新。 Satellite suspects are candidates: a field check decides before a body is '
             f'listed. Fill the sheet of a date on site and import it with <code>villagewatch verify OUT SHEET</code>. '
             f'Criteria: {_esc(RURAL_GUIDELINE)}.</p>']
    crit = "".join(f"<tr><td>{_esc(c['zh'])} {_esc(c['en'])}</td><td>{_esc(c['unit'])}</td>"
                   f"<td>{_esc(c['rule'] + ('' if c['decisive'] else ' (information only)'))}</td></tr>"
                   for c in criteria_table())
    parts.append('<table class="criteria"><thead><tr><th>指标 measurement</th><th>单位 unit</th><th>黑臭判定 '
                 f'black-odorous when</th></tr></thead><tbody>{crit}</tbody></table>')
    p = s.precision
    now = ", ".join(f"{status_text(k)}: {s.statuses[k]}" for k in ORDER if s.statuses.get(k))
    parts.append(f'<p><strong>筛查精度 Screening precision</strong> (确认 / 已核查 confirmed of checked): '
                 f'<span class="precision" data-village="{_esc(vid)}">{_esc(precision_text(p))}</span>'
                 f' · 现状 now: {_esc(now or "–")}</p>')
    if s.lists:
        items = []
        for kind, zh in (("national", "国家监管清单（≥ 2000 m²）"), ("provincial", "省级清单（< 2000 m²）")):
            info = s.lists.get(kind)
            if info is None:
                continue
            links = " · ".join(_download(f, vdir, f"{vid}_{f.name}", f.suffix[1:].upper()) for f in info["files"])
            items.append(f'<li>{_esc(zh)} {_esc(kind)} list: <span class="n-{kind}">{info["n"]}</span> · {links}</li>')
        parts.append("<h3>清单 Lists of confirmed bodies</h3><ul>" + "".join(items) + "</ul>")
    if s.sheets:
        rows = []
        for date, files, n in s.sheets:
            links = " · ".join(_download(f, vdir, f"{vid}_{date}_{f.name}", f.suffix[1:].upper())
                               for f in files.values())
            rows.append(f'<tr><td>{_esc(date)}</td><td class="num">{_esc("–" if n is None else n)}</td>'
                        f'<td>{links}</td></tr>')
        parts.append('<h3>核查表 Field-check sheets</h3><table class="sheets"><thead><tr><th>遥感日期 screening date</th>'
                     '<th>待核查 bodies to check</th><th>下载 download</th></tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>')
    if s.register is not None:
        parts.append(f'<p>{_download(s.register, vdir, f"{vid}_register.json", "登记册 register.json")}</p>')
    if s.bodies:
        body_rows = []
        for b in sorted(s.bodies, key=lambda b: (ORDER.index(b["status"]) if b["status"] in ORDER else 9, b["wb_id"])):
            body_rows.append(f'<tr data-wb="{_esc(b["wb_id"])}"><td>{_esc(b["wb_id"])}</td>'
                             f'<td class="status">{_esc(status_text(b["status"]))}</td>'
                             f'<td>{_esc(b["first_seen"] or "–")}</td><td>{_esc(b["last_seen"] or "–")}</td>'
                             f'<td class="num">{b["n_dates"]}</td><td>{_esc("; ".join(b["checks"]) or "–")}</td></tr>')
        parts.append('<h3>登记册 Register</h3><table class="register"><thead><tr><th>编号 id</th><th>状态 status</th>'
                     '<th>首次发现 first flagged</th><th>最近 last flagged</th><th>次数 dates</th>'
                     f'<th>核查记录 checks</th></tr></thead><tbody>{"".join(body_rows)}</tbody></table>')
    return "\n".join(parts)


def county_table(counties: Mapping[str, Mapping[str, Any]]) -> str:
    """The index's precision per county (counties with a decisive check)."""
    if not counties:
        return ('<p class="small">筛查精度：尚无现场核查。 Screening precision: no field check imported yet '
                '(<code>villagewatch verify</code>).</p>')
    rows = "".join(f'<tr><td>{_esc(c)}</td><td class="num precision">{_esc(precision_text(p))}</td>'
                   f'<td class="num">{p["cleared"]}</td></tr>' for c, p in counties.items())
    return ('<h2 id="precision">各县筛查精度 Screening precision per county</h2><table><thead><tr><th>县/区 County</th>'
            '<th>确认 / 已核查 confirmed of checked</th><th>排除 cleared</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>')
