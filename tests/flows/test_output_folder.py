"""Everything inside the output folder, whatever its name (issue #16).

pystac takes a root href whose last name has a dot (``run.v2``, ``tmp.NOY9PQanPd``) for a file
name and wrote the root catalog to the parent folder. Here a real night (the CLI, plain
executor) runs into output folders with hostile names, given as absolute, relative, with a
trailing slash, through a symlink; each time the parent folder is unchanged afterwards, every
file the run wrote is under ``OUT``, ``OUT/catalog.json`` exists, and every link of the
catalog and the pages resolves to a file inside ``OUT``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from support.links import broken_links

VID = "meijiang-sanjiao-pankeng"
WINDOW = ("--start", "2024-01-01", "--end", "2024-05-01")  # the first two demo dates
ARGS = ("nightly", "--source", "demo", "--villages", VID, "--no-prefect", "--no-drone", "--no-incremental", *WINDOW)


def _tree(root: Path) -> dict[str, tuple[str, int]]:
    """Every entry under ``root`` (not following symlinks) with its kind and size."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            kind = "link" if p.is_symlink() else ("dir" if p.is_dir() else "file")
            out[str(p.relative_to(root))] = (kind, 0 if kind != "file" else p.stat().st_size)
    return out


@pytest.fixture(scope="module")
def base_night(tmp_path_factory) -> Path:
    """The small night, run once; each example starts from a copy with its published files
    (catalog, pages, one quicklook, the change package) removed, so the run writes them."""
    from flows.cli import main

    out = tmp_path_factory.mktemp("base") / "out"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def _seed(base: Path, out: Path) -> None:
    shutil.copytree(base, out)
    for p in [out / "catalog.json", out / "index.html", out / VID / "index.html", *out.rglob("*.zip"),
              *sorted(out.rglob("quicklook.png"))[:1]]:
        p.unlink()


def _run_into(parent: Path, arg: str) -> int:
    from flows.cli import main

    cwd = os.getcwd()
    os.chdir(parent)
    try:
        return main([*ARGS, "--out", arg])
    finally:
        os.chdir(cwd)


_CHARS = st.sampled_from(list("abcXYZ019-_. ") + ["监", "测", "输", "出", "村"])
NAMES = st.builds(lambda lead, body: lead + body, st.sampled_from(["", ".", ".."]),
                  st.text(_CHARS, min_size=1, max_size=60)).filter(
    lambda n: n.strip(".") != "" and n.strip() == n and "/" not in n)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, how=st.sampled_from(["absolute", "relative", "trailing-slash", "symlink"]))
@example(name="run.v2", how="absolute")
@example(name="tmp.NOY9PQanPd", how="relative")
@example(name="out.2024.v1.final", how="absolute")
@example(name=".villagewatch.d", how="trailing-slash")
@example(name="监测 输出", how="absolute")
@example(name="run.v2", how="symlink")
@example(name="a" * 40 + ".b" * 40, how="relative")
def test_a_run_writes_nothing_outside_out_whatever_its_name(base_night, tmp_path_factory, name, how):
    parent = tmp_path_factory.mktemp("parent")
    if how == "symlink":
        elsewhere = tmp_path_factory.mktemp("elsewhere") / "target.dir"
        _seed(base_night, elsewhere)
        (parent / name).symlink_to(elsewhere, target_is_directory=True)
        real_out = elsewhere
    else:
        _seed(base_night, parent / name)
        real_out = parent / name
    before_parent = {k: v for k, v in _tree(parent).items() if not k.startswith(name)}
    arg = {"absolute": str(parent / name), "relative": name, "trailing-slash": str(parent / name) + "/",
           "symlink": str(parent / name)}[how]

    assert _run_into(parent, arg) == 0

    after_parent = {k: v for k, v in _tree(parent).items() if not k.startswith(name)}
    assert after_parent == before_parent, "the run wrote beside the output folder"
    assert (real_out / "catalog.json").is_file() and (real_out / "index.html").is_file()
    assert (real_out / VID / "index.html").is_file() and list(real_out.rglob("*.zip"))
    assert not list(real_out.rglob("*.tmp")), "temporary files left behind"
    n, problems = broken_links(real_out)
    assert n > 50 and not problems, problems[:5]


def test_the_catalog_root_is_in_a_dotted_folder_and_reads_back(base_night, tmp_path):
    """The issue's check: PARENT/run.v2/catalog.json, valid STAC, every link resolving."""
    import pystac

    parent = tmp_path / "parent"
    parent.mkdir()
    _seed(base_night, parent / "run.v2")
    assert _run_into(parent, str(parent / "run.v2")) == 0
    assert sorted(p.name for p in parent.iterdir()) == ["run.v2"]
    cat = pystac.Catalog.from_file(str(parent / "run.v2" / "catalog.json"))
    assert [c.id for c in cat.get_children()] == [VID]
    items = list(cat.get_items(recursive=True))
    assert items and all(Path(i.get_self_href()).resolve().is_relative_to((parent / "run.v2").resolve()) for i in items)
    assert not broken_links(parent / "run.v2")[1]


def test_a_broken_link_is_found(base_night, tmp_path):
    """The link check itself can fail: a removed COG and a damaged href are both reported."""
    out = tmp_path / "out"
    shutil.copytree(base_night, out)
    next(out.rglob("ndvi.tif")).unlink()
    cat = out / "catalog.json"
    cat.write_text(cat.read_text(encoding="utf-8").replace('"./index.html"', '"./nothing.html"'), encoding="utf-8")
    n, problems = broken_links(out)
    assert any("ndvi.tif" in p and "does not exist" in p for p in problems)
    assert any("nothing.html" in p for p in problems)
