"""Run every benchmark and write ``docs/performance.md``.

    python benchmarks/run_all.py            # full sizes (hours on 2 cores: benchmark 5 runs 300 villages)
    python benchmarks/run_all.py --quick    # small sizes, a smoke run (~2 min)
    python benchmarks/run_all.py --only 3   # re-run benchmark 3, keep the others' last results

Every measured command runs in a fresh child process; its wall time (``perf_counter``),
CPU time and peak RSS come from ``os.wait4`` on that child (see ``_measure.py``). This
launcher imports only the standard library so that it adds almost nothing to the
children's ``ru_maxrss`` (the floor is measured and reported). Inputs are synthesised once
into ``benchmarks/.cache/`` (gitignored); results are kept there per mode as JSON, and the
report is rendered from them (``report.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _measure  # noqa: E402
import bench_county  # noqa: E402  (stdlib-only at import)
import bench_ndvi_s2  # noqa: E402  (stdlib-only at import)
import bench_nightly  # noqa: E402
import report  # noqa: E402

MODES = {
    "full": {
        "index": {"size": 2048, "dates": 4, "repeats": 5},
        "s2": {"size": 10980, "repeats": 3, "contenders": ["ours", "rio", "gdal", "gdal-our-options"]},
        "nightly": {"villages": None, "repeats": 2},
        "scaling": {"sizes": [1024, 2048, 4096], "dates": 12},
        "county": {"sizes": [11, 100, 300], "repeats": 2, "modes": list(bench_county.MODES), "window": None,
                   "timeout_s": 4 * 3600, "mode_sizes": {"by-address": [11, 100]},
                   "mode_sizes_why": bench_county.BY_ADDRESS_SIZES_WHY},
    },
    "quick": {
        "index": {"size": 512, "dates": 2, "repeats": 3},
        "s2": {"size": 2500, "repeats": 1, "contenders": ["ours", "rio", "gdal"]},
        "nightly": {"villages": "meijiang-sanjiao-pankeng", "repeats": 1},
        "scaling": {"sizes": [256, 512, 1024], "dates": 4},
        "county": {"sizes": [11], "repeats": 1, "modes": list(bench_county.MODES), "window": None,
                   "timeout_s": 3600, "mode_sizes": {}, "mode_sizes_why": None},
    },
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def venv_tool(name: str) -> str:
    """A console script next to this interpreter (the venv's), else on PATH."""
    cand = Path(sys.executable).with_name(name)
    return str(cand) if cand.exists() else (shutil.which(name) or name)


def _out(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def ensure_gdal() -> dict:
    """GDAL's command-line tools (Debian ``gdal-bin`` + ``python3-gdal``): found, or installed
    with apt-get (best effort, root or sudo); ``gdal_calc.py`` needs a Python with ``osgeo``."""
    info: dict = {"installed_now": False, "note": None}
    have = _measure.which("gdal_translate", "/usr/bin/gdal_translate")
    calc = _measure.which("gdal_calc.py", "/usr/bin/gdal_calc.py")
    if not (have and calc) and shutil.which("apt-get"):
        sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
        if sudo is not None:
            log("installing gdal-bin and python3-gdal with apt-get (for the GDAL contender)")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            try:
                subprocess.run(sudo + ["apt-get", "update", "-qq"], capture_output=True, timeout=600, env=env)
                r = subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "gdal-bin", "python3-gdal"],
                                   capture_output=True, text=True, timeout=1200, env=env)
                info["installed_now"] = r.returncode == 0
                if r.returncode:
                    info["note"] = f"apt-get install gdal-bin python3-gdal failed: {r.stderr.strip()[-300:]}"
            except (OSError, subprocess.TimeoutExpired) as exc:
                info["note"] = f"apt-get failed: {exc}"
        have = _measure.which("gdal_translate", "/usr/bin/gdal_translate")
        calc = _measure.which("gdal_calc.py", "/usr/bin/gdal_calc.py")
    info.update(gdal_translate=have, gdal_calc=calc, gdal_python=None)
    if not (have and calc):
        info["note"] = info["note"] or "gdal-bin / gdal_calc.py not found and could not be installed"
        return info
    for py in ("/usr/bin/python3", shutil.which("python3")):
        if py and subprocess.run([py, "-c", "import osgeo.gdal"], capture_output=True).returncode == 0:
            info["gdal_python"] = py
            break
    if info["gdal_python"] is None:
        info.update(gdal_calc=None, note="no Python with osgeo (python3-gdal) for gdal_calc.py")
        return info
    info["gdal_version"] = _out([have, "--version"])
    return info


def versions(gdal: dict) -> dict:
    py = sys.executable
    code = ("import json, rasterio, rio_cogeo, numpy, dask, xarray, rioxarray, prefect; "
            "print(json.dumps({'rasterio': rasterio.__version__, 'rasterio GDAL': rasterio.__gdal_version__, "
            "'rio-cogeo': rio_cogeo.__version__, 'numpy': numpy.__version__, 'dask': dask.__version__, "
            "'xarray': xarray.__version__, 'rioxarray': rioxarray.__version__, 'prefect': prefect.__version__}))")
    try:
        v = json.loads(_out([py, "-c", code]) or "{}")
    except json.JSONDecodeError:
        v = {}
    if gdal.get("gdal_version"):
        v["GDAL CLI (Debian)"] = gdal["gdal_version"]
    return v


def summarise(ms: list[_measure.Measurement]) -> dict:
    walls = [m.wall_s for m in ms]
    return {
        "wall_min_s": min(walls), "wall_median_s": statistics.median(walls), "walls_s": walls,
        "cpu_median_s": statistics.median(m.cpu_s for m in ms),
        "peak_rss_mib": max(m.peak_rss_mib for m in ms),
        "peak_rss_median_mib": statistics.median(m.peak_rss_mib for m in ms),
        "tree_peak_rss_mib": max(m.tree_peak_rss_mib for m in ms),
        "ok": all(m.ok for m in ms),
    }


def failed(m: _measure.Measurement) -> str:
    """``exit N: <the last line the command printed>`` (a traceback's last line names the error)."""
    lines = [ln.strip() for ln in (m.stderr or m.stdout).splitlines() if ln.strip()]
    return f"exit {m.returncode}: {lines[-1][-400:] if lines else '(no output)'}"


# --------------------------------------------------------------------------- benchmark 1
def bench_index(cfg: dict, ctx: dict) -> dict:
    c = cfg["index"]
    cmd = [sys.executable, str(HERE / "bench_index.py"), "--size", str(c["size"]), "--dates", str(c["dates"]),
           "--repeats", str(c["repeats"])]
    log(f"benchmark 1: index step, {c['dates']} x {c['size']}^2")
    m = _measure.measure(cmd, cwd=ROOT)
    if not m.ok:
        return {"error": failed(m)}
    res = json.loads(m.stdout.strip().splitlines()[-1])
    res["process_peak_rss_mib"] = m.peak_rss_mib
    return res


# --------------------------------------------------------------------------- benchmark 2
def bench_s2(cfg: dict, ctx: dict) -> dict:
    c = cfg["s2"]
    size, cache = c["size"], ctx["cache"]
    log(f"benchmark 2: inputs {size}^2 (synthesised once into {cache})")
    m = _measure.measure([sys.executable, str(HERE / "bench_ndvi_s2.py"), "prepare", "--cache", str(cache),
                          "--size", str(size)], cwd=ROOT)
    if not m.ok:
        return {"error": "prepare: " + failed(m)}
    paths = json.loads(m.stdout.strip().splitlines()[-1])
    work = ctx["work"] / f"s2_{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    gdal = ctx["gdal"]
    cmds = bench_ndvi_s2.commands(Path(paths["red"]), Path(paths["nir"]), work, python=sys.executable,
                                  gdal_calc=gdal.get("gdal_calc"), gdal_translate=gdal.get("gdal_translate"),
                                  gdal_python=gdal.get("gdal_python"))
    order = [n for n in ("ours", "rio", "gdal", "gdal-our-options") if n in cmds and n in c["contenders"]]
    runs: dict[str, list[list[_measure.Measurement]]] = {n: [] for n in order}
    errors: dict[str, str] = {}
    for rep in range(c["repeats"]):
        for name in order:
            if name in errors:
                continue
            for f in (bench_ndvi_s2.OUTPUTS.get(name), bench_ndvi_s2.INTERMEDIATES.get(name)):
                if f:
                    (work / f).unlink(missing_ok=True)
            steps = []
            for label, cmd in cmds[name]:
                load = os.getloadavg()[0]
                mm = _measure.measure(cmd, cwd=ROOT)
                mm.load = load  # type: ignore[attr-defined]
                steps.append(mm)
                if not mm.ok:
                    errors[name] = f"{label}: {failed(mm)}"
                    break
            log(f"  {name} run {rep + 1}: {sum(s.wall_s for s in steps):.1f} s, "
                f"{max(s.peak_rss_mib for s in steps):.0f} MiB")
            runs[name].append(steps)
    log("benchmark 2: start-up floors (each step's program started with no work)")
    floor_cmds = bench_ndvi_s2.floors(cmds, python=sys.executable)
    floors = {n: [summarise([_measure.measure(cmd, cwd=ROOT) for _ in range(3)]) for cmd in floor_cmds[n]]
              for n in order}
    log("benchmark 2: verifying outputs against ours")
    done = [n for n in order if n not in errors]
    v = _measure.measure([sys.executable, str(HERE / "bench_ndvi_s2.py"), "verify", "--work", str(work)] + done,
                         cwd=ROOT)
    verify = json.loads(v.stdout.strip().splitlines()[-1]) if v.ok else {"error": failed(v)}
    result = {"size": size, "repeats": c["repeats"], "contenders": {}, "errors": errors, "verify": verify,
              "gdal_note": gdal.get("note"), "input_mb": {b: Path(p).stat().st_size / 1e6 for b, p in paths.items()}}
    for name in order:
        if name in errors or not runs[name]:
            continue
        totals = []
        for steps in runs[name]:
            totals.append(_measure.Measurement(cmd=[], wall_s=sum(s.wall_s for s in steps),
                                               cpu_s=sum(s.cpu_s for s in steps),
                                               peak_rss_mib=max(s.peak_rss_mib for s in steps),
                                               returncode=0, stdout="", stderr=""))
        per_step = []
        for i, (label, cmd) in enumerate(cmds[name]):
            ms = [steps[i] for steps in runs[name]]
            per_step.append({"step": label, "cmd": " ".join(_short(a) for a in cmd), **summarise(ms)})
        loads = [getattr(s, "load", None) for steps in runs[name] for s in steps]
        result["contenders"][name] = {**summarise(totals), "steps": per_step, "load_1min": loads,
                                      "beyond_startup": beyond_startup(runs[name], floors[name])}
        inner = [_json_tail(steps[0].stdout) for steps in runs[name]]
        if name.startswith("ours") and all(inner):
            result["contenders"][name]["inner"] = {
                k: statistics.median(i[k] for i in inner) for k in ("import_s", "chain_s", "import_rss_mib")
                if all(k in i for i in inner)}
    if not ctx["keep"]:
        shutil.rmtree(work, ignore_errors=True)
    return result


def beyond_startup(runs: list[list[_measure.Measurement]], floors: list[dict]) -> dict:
    """A contender's figures without its start-up: per run, the sum over its steps of (step
    wall - that program's no-op wall), and the largest (step peak - no-op peak); minima and
    medians over the runs, with the floors subtracted (medians of three no-op runs)."""
    walls = [sum(s.wall_s - f["wall_median_s"] for s, f in zip(steps, floors)) for steps in runs]
    cpus = [sum(s.cpu_s - f["cpu_median_s"] for s, f in zip(steps, floors)) for steps in runs]
    peaks = [max(s.peak_rss_mib - f["peak_rss_median_mib"] for s, f in zip(steps, floors)) for steps in runs]
    return {"wall_min_s": min(walls), "wall_median_s": statistics.median(walls), "walls_s": walls,
            "cpu_median_s": statistics.median(cpus), "peak_rss_mib": max(peaks),
            "peak_rss_median_mib": statistics.median(peaks),
            "floor_wall_s": sum(f["wall_median_s"] for f in floors),
            "floor_peak_rss_mib": max(f["peak_rss_median_mib"] for f in floors)}


def _json_tail(text: str) -> dict | None:
    try:
        return json.loads(text.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return None


def _short(arg: str) -> str:
    """Command-line argument for the report: paths shortened to their file name."""
    if "/" in arg and not arg.startswith("("):
        return Path(arg).name
    return f"'{arg}'" if any(ch in arg for ch in " ()|") else arg


def _fresh(ctx: dict, name: str) -> Path:
    """An empty work folder ``name`` under the cache's work folder."""
    work = ctx["work"] / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def _prefect_warm_up(env: dict, work: Path) -> str | None:
    """One unmeasured no-op Prefect flow (creates and migrates the database in ``PREFECT_HOME``),
    tried twice (a shared machine can make the first migration time out); the error, if any."""
    for _ in range(2):
        warm = _measure.measure(bench_nightly.noop_command(sys.executable), env=env, cwd=work, timeout=900)
        if warm.ok:
            return None
    return "Prefect warm-up run: " + failed(warm)


# --------------------------------------------------------------------------- benchmark 3
def bench_nightly_run(cfg: dict, ctx: dict) -> dict:
    c, vw, work = cfg["nightly"], venv_tool("villagewatch"), _fresh(ctx, "nightly")
    probe = _measure.measure(bench_nightly.ready_command(vw, work / "probe"), cwd=work, timeout=900)
    if not probe.ok:
        return {"not_measured": "the demo flow is not ready: `villagewatch nightly --source demo --no-prefect "
                                "--villages meijiang-sanjiao-pankeng` fails (" + failed(probe) + ")"}
    env = {"PREFECT_HOME": str(work / "prefect-home"), "PREFECT_API_URL": None}
    log("benchmark 3: warm-up no-op Prefect flow (creates and migrates the Prefect database; not measured)")
    warm = _prefect_warm_up(env, work)
    if warm:
        return {"error": warm}
    plain, pref, stats, noops, run_loads = [], [], [], [], []
    for rep in range(c["repeats"]):
        nm = _measure.measure(bench_nightly.noop_command(sys.executable), env=env, cwd=work, timeout=900)
        log(f"  no-op Prefect flow: {nm.wall_s:.1f} s, {nm.peak_rss_mib:.0f} MiB, exit {nm.returncode}")
        if nm.ok:
            noops.append(nm)
        for kind in ("plain", "prefect"):
            out = work / f"{kind}{rep}"
            run_loads.append((f"{kind} {rep + 1}", os.getloadavg()[0]))
            m = _measure.measure(bench_nightly.command(vw, out, prefect=kind == "prefect", villages=c["villages"]),
                                 env=env, cwd=work, timeout=3600)
            log(f"  {kind} run {rep + 1}: {m.wall_s:.1f} s, {m.peak_rss_mib:.0f} MiB, exit {m.returncode}")
            if not m.ok:
                return {"error": f"{kind} run: {failed(m)}"}
            (pref if kind == "prefect" else plain).append(m)
            if kind == "prefect":
                stats.append(bench_nightly.prefect_stats(work / "prefect-home"))
            n_tifs = sum(1 for _ in out.rglob("*.tif"))
            if rep == 0:
                ctx.setdefault("nightly_outputs", {})[kind] = n_tifs
    sp, sq = summarise(plain), summarise(pref)
    villages = c["villages"].split(",") if c["villages"] else None
    result = {"villages": villages, "repeats": c["repeats"], "plain": sp, "prefect": sq,
              "share_min": bench_nightly.orchestration_share(sq["wall_min_s"], sp["wall_min_s"]),
              "share_median": bench_nightly.orchestration_share(sq["wall_median_s"], sp["wall_median_s"]),
              "prefect_db": stats[-1] if stats else None, "tif_outputs": ctx.get("nightly_outputs"),
              "noop": summarise(noops) if noops else None, "run_loads": run_loads}
    if not ctx["keep"]:
        shutil.rmtree(work, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- benchmark 4
def bench_scaling(cfg: dict, ctx: dict) -> dict:
    c = cfg["scaling"]
    rows = []
    for size in c["sizes"]:
        log(f"benchmark 4: {c['dates']} dates x {size}^2 (inputs once into the cache)")
        base = [sys.executable, str(HERE / "bench_scaling.py")]
        args = ["--size", str(size), "--dates", str(c["dates"]), "--cache", str(ctx["cache"])]
        p = _measure.measure(base + ["prepare"] + args, cwd=ROOT)
        if not p.ok:
            rows.append({"size": size, "error": "prepare: " + failed(p)})
            continue
        out = ctx["work"] / f"scaling_{size}"
        shutil.rmtree(out, ignore_errors=True)
        load = os.getloadavg()[0]
        m = _measure.measure(base + ["run"] + args + ["--out", str(out)], cwd=ROOT)
        if not m.ok:
            rows.append({"size": size, "error": failed(m)})
            continue
        row = json.loads(m.stdout.strip().splitlines()[-1])
        row.update(wall_s=m.wall_s, cpu_s=m.cpu_s, peak_rss_mib=m.peak_rss_mib, load_1min=load)
        log(f"  {size}^2: {m.wall_s:.1f} s, {m.peak_rss_mib:.0f} MiB")
        rows.append(row)
        if not ctx["keep"]:
            shutil.rmtree(out, ignore_errors=True)
    return {"dates": c["dates"], "rows": rows}


# --------------------------------------------------------------------------- benchmark 5
def bench_county_runs(cfg: dict, ctx: dict) -> dict:
    c, vw, work = cfg["county"], venv_tool("villagewatch"), _fresh(ctx, "county")
    env = {"PREFECT_HOME": str(work / "prefect-home"), "PREFECT_API_URL": None}
    log("benchmark 5: warm-up no-op Prefect flow (creates and migrates the Prefect database; not measured)")
    warm = _prefect_warm_up(env, work)
    if warm:
        return {"error": warm}
    threads = os.cpu_count() or 1
    window = tuple(c["window"]) if c.get("window") else None
    runs: dict[str, list[dict]] = {}
    errors: dict[str, str] = {}
    sizes = bench_county.sizes_by_mode(c["sizes"], c["modes"], c.get("mode_sizes"))
    all_sizes = sorted({n for ns in sizes.values() for n in ns})
    for n in all_sizes:
        reg = _measure.measure(bench_county.registry_command(sys.executable, ctx["cache"], n), cwd=ROOT)
        if not reg.ok:
            errors[str(n)] = "registry: " + failed(reg)
            continue
        registry = bench_county.registry_path(ctx["cache"], n)
        for rep in range(c["repeats"]):
            for mode in [m for m in c["modes"] if n in sizes[m]]:
                key = f"{n}:{mode}"
                if key in errors:
                    continue
                out = work / f"{mode}_{n}_{rep}"
                load = os.getloadavg()[0]
                helper = _measure.Background(bench_county.cluster_command(sys.executable, threads), cwd=work) \
                    if mode == "by-address" else None
                if helper is not None and not helper.first_line.startswith("tcp://"):
                    errors[key] = f"cluster did not start: {failed(helper.stop())}"
                    continue
                m = _measure.measure(bench_county.command(vw, registry, out, dask_address=helper and helper.first_line,
                                                          window=window), env=env, cwd=work, timeout=c["timeout_s"])
                cl = helper.stop() if helper is not None else None
                log(f"  {n} villages, {mode}, run {rep + 1}: {m.wall_s:.1f} s, {m.peak_rss_mib:.0f} MiB"
                    + (f" (cluster {cl.peak_rss_mib:.0f} MiB)" if cl else "") + f", exit {m.returncode}")
                if not m.ok:
                    errors[key] = failed(m)
                    continue
                db = bench_nightly.prefect_stats(work / "prefect-home") or {}
                runs.setdefault(key, []).append({
                    "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib, "load_1min": load,
                    "tree_peak_rss_mib": m.tree_peak_rss_mib,
                    "cluster_cpu_s": cl.cpu_s if cl else None, "cluster_peak_rss_mib": cl.peak_rss_mib if cl else None,
                    "task_runs": db.get("task_runs"), "task_by_kind": {k: v["count"] for k, v in db.get("by_kind", {}).items()},
                    "flow_seconds": db.get("flow_seconds"), "tifs": sum(1 for _ in out.rglob("*.tif"))})
                if not ctx["keep"]:
                    shutil.rmtree(out, ignore_errors=True)
    rows = []
    for key, rs in runs.items():
        n, mode = key.split(":")
        walls = [r["wall_s"] for r in rs]
        med = statistics.median
        rows.append({
            "villages": int(n), "mode": mode, "runs": len(rs), "wall_min_s": min(walls), "wall_median_s": med(walls),
            "villages_per_hour_best": bench_county.villages_per_hour(int(n), min(walls)),
            "villages_per_hour_median": bench_county.villages_per_hour(int(n), med(walls)),
            "cpu_median_s": med(r["cpu_s"] for r in rs), "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
            "peak_rss_median_mib": med(r["peak_rss_mib"] for r in rs),
            "tree_peak_rss_mib": max(r["tree_peak_rss_mib"] for r in rs),
            "cluster_peak_rss_mib": max((r["cluster_peak_rss_mib"] or 0) for r in rs) or None,
            "cluster_cpu_median_s": med(r["cluster_cpu_s"] for r in rs) if rs[0]["cluster_cpu_s"] is not None else None,
            "task_runs": med(r["task_runs"] or 0 for r in rs), "task_by_kind": rs[-1]["task_by_kind"],
            "tifs": rs[-1]["tifs"], "loads": [r["load_1min"] for r in rs], "walls_s": walls})
    rows.sort(key=lambda r: (r["villages"], r["mode"]))
    if not ctx["keep"]:
        shutil.rmtree(work, ignore_errors=True)
    return {"sizes": all_sizes, "sizes_by_mode": sizes,
            "sizes_why": c.get("mode_sizes_why") if any(ns != c["sizes"] for ns in sizes.values()) else None,
            "repeats": c["repeats"], "window": window, "threads": threads, "seed": bench_county.SEED,
            "rows": rows, "errors": errors}


BENCHMARKS = {"1": ("index", bench_index), "2": ("s2", bench_s2), "3": ("nightly", bench_nightly_run),
              "4": ("scaling", bench_scaling), "5": ("county", bench_county_runs)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the villagewatch benchmarks and write docs/performance.md")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a couple of minutes")
    p.add_argument("--only", default="1,2,3,4,5", help="comma list of benchmarks to (re-)run, e.g. 2,4")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    p.add_argument("--keep", action="store_true", help="keep the outputs under the cache's work folder")
    p.add_argument("--county-sizes", help="benchmark 5's county sizes, e.g. 11,100, for every mode unless "
                   "--county-sizes-by-address says otherwise (default: the mode's; full: 11,100,300 in-process, "
                   "11,100 by address)")
    p.add_argument("--county-sizes-by-address", help="benchmark 5's county sizes of the by-address mode, e.g. 11,100 "
                   "(default: --county-sizes if given, else the mode's)")
    p.add_argument("--county-modes", help="benchmark 5's modes, e.g. in-process (default: both)")
    p.add_argument("--repeats", type=int, help="runs per contender of benchmark 3 (default: the mode's)")
    p.add_argument("--county-repeats", type=int, help="runs per size and mode of benchmark 5 (default: the mode's)")
    a = p.parse_args(argv)
    mode = "quick" if a.quick else "full"
    cfg = json.loads(json.dumps(MODES[mode]))
    if a.county_sizes:
        cfg["county"]["sizes"] = [int(n) for n in a.county_sizes.split(",")]
        cfg["county"]["mode_sizes"], cfg["county"]["mode_sizes_why"] = {}, None
    if a.county_sizes_by_address:
        cfg["county"]["mode_sizes"] = {"by-address": [int(n) for n in a.county_sizes_by_address.split(",")]}
        cfg["county"]["mode_sizes_why"] = "as given on the command line (`--county-sizes-by-address`)"
    if a.county_modes:
        cfg["county"]["modes"] = [m.strip() for m in a.county_modes.split(",")]
    if a.repeats:
        cfg["nightly"]["repeats"] = a.repeats
    if a.county_repeats:
        cfg["county"]["repeats"] = a.county_repeats
    a.cache.mkdir(parents=True, exist_ok=True)
    results_path = a.cache / f"results-{mode}.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    ctx = {"cache": a.cache.resolve(), "work": (a.cache / "work").resolve(), "keep": a.keep, "gdal": ensure_gdal()}
    results["machine"] = _measure.machine_info()
    results["floor_mib"] = _measure.floor_mib()
    results["versions"] = versions(ctx["gdal"])
    imp = _measure.measure([sys.executable, "-c", "import rioxarray, xarray, dask.array, flows.products.rasters, "
                            "indices.spectral, sensing.scene"], cwd=ROOT)
    results["imports"] = {"wall_s": imp.wall_s, "cpu_s": imp.cpu_s, "peak_rss_mib": imp.peak_rss_mib}
    results["mode"] = mode
    results["config"] = cfg
    t0 = time.perf_counter()
    for key in [k.strip() for k in a.only.split(",") if k.strip()]:
        name, fn = BENCHMARKS[key]
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        load0 = os.getloadavg()
        try:
            res = fn(cfg, ctx)
        except Exception as exc:  # a broken benchmark is reported, the others still run
            res = {"error": f"{type(exc).__name__}: {exc}"}
        res["started"], res["load_before"], res["load_after"] = started, load0, os.getloadavg()
        results[name] = res
        results_path.write_text(json.dumps(results, indent=1, default=str))
    shutil.rmtree(ctx["work"], ignore_errors=True) if not a.keep else None
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(report.render(results))
    log(f"wrote {a.out} in {time.perf_counter() - t0:.0f} s ({mode} mode; results in {results_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
