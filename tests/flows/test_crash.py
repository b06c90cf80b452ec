"""Crash safety: a nightly run killed with SIGKILL in the middle of writing leaves no partial
or corrupt file under a final name, and the next run completes the night with the same bytes
as a run that was never interrupted (temporaries of the killed run cleaned up)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.products.atomic import TMP_SUFFIX

pytestmark = pytest.mark.slow

VILLAGE = "meijiang-sanjiao-pankeng"
WINDOW = ["--start", "2024-01-01", "--end", "2024-04-30"]  # two dates and their change

#: run the CLI in a child that SIGKILLs itself at the chosen point
KILLER = textwrap.dedent("""
    import os, signal, sys
    import flows.products.atomic, flows.products.rasters

    point, n = sys.argv[1], int(sys.argv[2])
    calls = {"n": 0}

    def due():
        calls["n"] += 1
        return calls["n"] >= n

    if point == "cog-blocks":   # after the first block of the n-th COG is in its staging file
        orig = flows.products.rasters._write_blocks

        class Dst:
            def __init__(self, d):
                self.d = d
            def write(self, *a, **k):
                self.d.write(*a, **k)
                os.kill(os.getpid(), signal.SIGKILL)
            def __getattr__(self, name):
                return getattr(self.d, name)

        def write_blocks(dst, *a, **k):
            return orig(Dst(dst) if due() else dst, *a, **k)
        flows.products.rasters._write_blocks = write_blocks
    else:                        # "before-rename": the n-th temporary is complete, not yet renamed
        orig_fsync = flows.products.atomic._fsync

        def fsync(path):
            orig_fsync(path)
            if due():
                os.kill(os.getpid(), signal.SIGKILL)
        flows.products.atomic._fsync = fsync

    from flows.cli import main
    sys.exit(main(sys.argv[3:]))
""")


def _args(out: Path) -> list[str]:
    return ["nightly", "--source", "demo", "--no-prefect", "--villages", VILLAGE, "--out", str(out), *WINDOW]


def _final_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(f".*{TMP_SUFFIX}"))


def _assert_every_final_file_is_whole(root: Path) -> None:
    import pandas as pd
    import rasterio

    from flows.products.rasters import is_valid_cog

    for p in _final_files(root):
        if p.suffix == ".tif":
            ok, errors, _ = is_valid_cog(p)
            assert ok, (p, errors)
            with rasterio.open(p) as src:
                src.read(1, out_shape=(1, 8, 8))  # the pixels decode, not just the header
        elif p.suffix in (".json", ".geojson"):
            json.loads(p.read_text(encoding="utf-8"))
        elif p.suffix == ".parquet":
            pd.read_parquet(p)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same night, never interrupted."""
    from flows.cli import main

    out = tmp_path_factory.mktemp("reference")
    assert main(_args(out)) == 0
    return out


@pytest.mark.parametrize("point, n", [("cog-blocks", 6), ("before-rename", 25)])
def test_sigkill_mid_write_leaves_only_whole_files_and_next_run_completes(tmp_path, reference, point, n):
    from flows.cli import main

    out = tmp_path / "out"
    child = subprocess.run([sys.executable, "-c", KILLER, point, str(n), *_args(out)],
                           capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert child.returncode == -9, child.stderr[-3000:]
    left = _temporaries(out)
    assert left, "the kill happened while a temporary file was open"
    finals = _final_files(out)
    done = {p.relative_to(out) for p in finals}
    assert done < {p.relative_to(reference) for p in _final_files(reference)}, "the night was interrupted"
    _assert_every_final_file_is_whole(out)
    assert not (out / "state.json").exists()  # state is recorded only when the night ends

    assert main(_args(out)) == 0
    assert not _temporaries(out), "stale temporaries cleaned"
    ref = {p.relative_to(reference): p.read_bytes() for p in _final_files(reference)}
    got = {p.relative_to(out): p.read_bytes() for p in _final_files(out)}
    assert set(got) == set(ref)
    differ = sorted(str(k) for k in ref if ref[k] != got[k] and k.name != "state.json")  # state: the run's times
    assert not differ, differ
