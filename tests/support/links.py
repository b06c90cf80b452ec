"""Every link of a published output folder, checked: the STAC catalog's hrefs (links and
assets of the catalog, collections and items) and every href/src of the pages must resolve to
an existing file inside the folder; so a broken link of any kind fails a test."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class PageLinks(HTMLParser):
    """Every href/src of a page, its <html lang>, its charset and how many scripts it has."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.lang = None
        self.scripts = 0
        self.charset = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "meta" and "charset" in a:
            self.charset = a["charset"]
        if tag == "script":
            self.scripts += 1
        for k in ("href", "src"):
            if a.get(k):
                self.urls.append(a[k])


def parse_page(page: Path) -> PageLinks:
    p = PageLinks()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def _target(source: Path, url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("/"):
        raise AssertionError(f"{source}: link {url!r} is not relative")
    return (source.parent / unquote(parts.path)).resolve()


def broken_links(out: Path) -> tuple[int, list[str]]:
    """(links checked, problems) over the catalog JSON and the pages of ``out``."""
    root = out.resolve()
    problems: list[str] = []
    n = 0
    stac = [p for p in root.rglob("*.json") if p.name in ("catalog.json", "collection.json", "item.json")]
    pages = list(root.rglob("index.html"))
    checks: list[tuple[Path, str]] = []
    for p in stac:
        doc = json.loads(p.read_text(encoding="utf-8"))
        checks += [(p, link["href"]) for link in doc.get("links", [])]
        checks += [(p, asset["href"]) for asset in doc.get("assets", {}).values()]
    for page in pages:
        checks += [(page, url) for url in parse_page(page).urls if not url.startswith("#")]
    for source, url in checks:
        n += 1
        try:
            target = _target(source, url)
        except AssertionError as exc:
            problems.append(str(exc))
            continue
        if root not in target.parents and target != root:
            problems.append(f"{source}: {url} leaves the output folder ({target})")
        elif not target.is_file():
            problems.append(f"{source}: {url} -> {target} does not exist")
    return n, problems
