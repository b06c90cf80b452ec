"""Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded)."""
from __future__ import annotations

import os
import shutil


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
