"""The import rules and module sizes of docs/architecture.md, read from the source (ast)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.paths import REPO

PACKAGES = ("villagewatch", "aoi", "sensing", "indices", "flows")
#: "no module over about 500 lines"
MAX_LINES = 520


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for p in sorted((REPO / pkg).rglob("*.py")):
            parts = p.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return found


def _imports(mod: str, path: Path) -> set[str]:
    """Every module of ours that ``mod`` imports (absolute or relative, at any depth)."""
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}  # ``from . import state``
    return {m for m in out if m.split(".")[0] in PACKAGES + ("prefect",)}


MODULES = _modules()
IMPORTS = {m: _imports(m, p) for m, p in MODULES.items()}


def _offenders(prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} imports {i}" for m, imps in IMPORTS.items() if m == prefix or m.startswith(prefix + ".")
                  for i in imps if any(i == f or i.startswith(f + ".") for f in forbidden))


def test_the_modules_were_found():
    assert {"flows.products.layout", "flows.products.cache", "flows.plan", "indices.water", "aoi.registry",
            "flows.fieldcheck.register", "flows.publish.webmap"} <= set(MODULES)


@pytest.mark.parametrize("package, forbidden", [
    ("villagewatch", ("aoi", "sensing", "indices", "flows")),
    ("aoi", ("sensing", "indices", "flows")),
    ("sensing", ("indices", "flows")),
    ("indices", ("aoi", "sensing", "flows")),
    ("flows.products", ("prefect", "flows.publish", "flows.evaluation", "flows.api", "flows.execute_plain",
                        "flows.execute_prefect", "flows.runner")),
    ("flows.publish", ("prefect", "flows.evaluation", "flows.api", "flows.execute_plain", "flows.execute_prefect")),
    ("flows.products", ("flows.fieldcheck",)),
    ("flows.fieldcheck", ("prefect", "flows.publish", "flows.evaluation", "flows.api", "flows.execute_plain",
                          "flows.execute_prefect", "flows.runner", "flows.work")),
])
def test_imports_point_one_way(package, forbidden):
    assert not _offenders(package, forbidden)


def test_nothing_in_the_pipeline_imports_the_notebook_api():
    users = sorted(m for m, imps in IMPORTS.items() if m != "flows.api" and any(i == "flows.api" for i in imps))
    assert not users


def test_no_module_is_over_about_500_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long


def test_every_path_under_out_comes_from_the_layout():
    """Product modules name no output file or folder literally: only ``layout`` does."""
    literal = ('"manifest.json"', '"indicators.parquet"', '"catalog.json"', '"index.html"', '"state.json"',
               '"quicklook.png"', '"item.json"', '"collection.json"', '/ "change"', '/ "watches"')
    hits = sorted(f"{m}: {lit}" for m, p in MODULES.items()
                  if m.startswith("flows") and m != "flows.products.layout"
                  for lit in literal if lit in p.read_text(encoding="utf-8"))
    assert not hits


def test_one_up_to_date_rule():
    """Only ``flows.products.cache`` hashes inputs into keys or checks manifests."""
    defs = sorted(f"{m}.{n.name}" for m, p in MODULES.items() for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                  if isinstance(n, ast.FunctionDef) and n.name in ("inputs_key", "up_to_date", "digest", "product_key",
                                                                   "files_key", "write_manifest"))
    assert defs == ["flows.products.cache.digest", "flows.products.cache.files_key", "flows.products.cache.product_key",
                    "flows.products.cache.up_to_date", "flows.products.cache.write_manifest"]


def test_the_design_lives_in_the_repository():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme
    for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *MODULES.values()]:
        assert "shared/DESIGN.md" not in p.read_text(encoding="utf-8"), p
