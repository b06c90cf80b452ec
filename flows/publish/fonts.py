"""Chinese labels in matplotlib pictures: find an installed CJK font (quicklooks, notebooks)."""
from __future__ import annotations

from pathlib import Path

#: CJK fonts tried in order for Chinese labels in plots (Noto CJK ships with fonts-noto-cjk)
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC")


def use_cjk_font() -> str | None:
    """Make matplotlib draw Chinese labels with the first installed CJK font and return its
    name; ``None`` (labels fall back to the default font, Chinese glyphs may show as boxes)
    if none is installed (``apt-get install fonts-noto-cjk``)."""
    import matplotlib
    from matplotlib import font_manager as fm

    def installed() -> set[str]:
        return {f.name for f in fm.fontManager.ttflist}

    names = installed()
    if not any(n in names for n in CJK_FONTS):  # installed after matplotlib cached its font list
        for path in fm.findSystemFonts():
            low = Path(path).name.lower()
            if any(k in low for k in ("cjk", "wqy", "wenquanyi", "sourcehansans", "simhei", "msyh")):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = installed()
    for name in CJK_FONTS:
        if name in names:
            matplotlib.rcParams["font.sans-serif"] = [name, *matplotlib.rcParams["font.sans-serif"]]
            matplotlib.rcParams["font.family"] = "sans-serif"
            matplotlib.rcParams["axes.unicode_minus"] = False
            return name
    return None
