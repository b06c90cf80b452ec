"""Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded)."""
from __future__ import annotations

import os
import shutil


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


#: the hosts a page may reach in the browser tests (the test's own servers)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def offline_page(browser, **context_options):
    """A new page in its own context where every request to a non-loopback address is
    aborted and recorded in ``page.outside`` (page errors in ``page.errors``); close it with
    ``page.context.close()``."""
    from urllib.parse import urlsplit

    ctx = browser.new_context(**context_options)
    pg = ctx.new_page()
    pg.outside, pg.errors = [], []

    def route(r):
        host = urlsplit(r.request.url).hostname or ""
        if r.request.url.startswith("data:") or host in LOOPBACK:
            r.continue_()
        else:
            pg.outside.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return pg


def image_widths(pg, selector: str, *, timeout_ms: float = 20_000) -> list[int]:
    """The natural widths of the images ``selector`` matches, once every one of them has
    finished loading (or failed: width 0), so a test does not read an image still on its way
    (a loaded machine is slow to decode a map picture)."""
    pg.wait_for_function(
        "sel => Array.from(document.querySelectorAll(sel)).every(e => e.complete)", arg=selector,
        timeout=timeout_ms)
    return pg.eval_on_selector_all(selector, "els => els.map(e => e.naturalWidth)")
