"""Benchmark 5's part of ``docs/performance.md``: the county table, its targets and the
province estimate (stdlib only; ``report.render`` calls it)."""
from __future__ import annotations

import math

#: issue #15: a 300-village county night in at most 15 minutes; peak memory flat as villages grow
COUNTY_TARGET_VILLAGES = 300
COUNTY_TARGET_S = 15 * 60
FLAT_MEMORY_RATIO = 2.0
#: the province of the estimate, and the night it must fit in
PROVINCE_VILLAGES = 20_000
NIGHT_HOURS = 8.0


def _f(v, nd: int = 1) -> str:
    return "-" if v is None else f"{v:,.{nd}f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def section(r: dict | None, load: str = "") -> list[str]:
    out = ["", "## 5. A county of many villages: villages per hour, peak memory, Prefect task runs", ""]
    if not r or not r.get("rows"):
        reason = (r or {}).get("error") or "; ".join(f"{k}: {v}" for k, v in (r or {}).get("errors", {}).items())
        return out + [f"**Not measured**: {reason or 'not run'}"]
    window = f"{r['window'][0]} to {r['window'][1]}" if r.get("window") else "the demo's default window"
    out.append(
        f"Synthetic counties (`aoi.county`, seed {r['seed']}) of {', '.join(str(n) for n in r['sizes'])} villages"
        f"{_sizes_by_mode(r)}; "
        f"`villagewatch nightly --source demo --registry COUNTY` over {window} with Prefect (ephemeral API server, "
        "private `PREFECT_HOME`), each run into a fresh folder. *in-process*: the flow's own local Dask cluster; "
        f"*by-address*: a `LocalCluster` (one worker, {r['threads']} threads) started beforehand in its own process "
        "and given as `--dask-address` (its CPU time and peak memory are measured apart: *cluster CPU*, *cluster "
        "peak*; *CPU* and *peak RSS* are the flow's process and the worker processes of its batches, "
        "`flows.processes`: *peak RSS* the largest single process, *all processes' peak* the sampled sum). "
        f"{r['repeats']} run(s) per size and mode, interleaved. {load}")
    rows = []
    for x in r["rows"]:
        rows.append([str(x["villages"]), x["mode"], _f(x["wall_min_s"]), _f(x["wall_median_s"]),
                     _f(x["villages_per_hour_best"], 0), _f(x["villages_per_hour_median"], 0), _f(x["cpu_median_s"]),
                     _f(x["peak_rss_mib"], 0), _f(x.get("tree_peak_rss_mib"), 0), _f(x.get("cluster_cpu_median_s")), _f(x.get("cluster_peak_rss_mib"), 0),
                     _f(x["task_runs"], 0),
                     _f(x["task_runs"] / x["villages"], 1), str(x["tifs"]),
                     ", ".join(f"{v:.1f}" for v in x.get("loads", []))])
    out += ["", _table(["villages", "mode", "wall min (s)", "wall median (s)", "villages/h (best)",
                        "villages/h (median)", "CPU (s)", "peak RSS (MiB)", "all processes' peak (MiB)", "cluster CPU (s)", "cluster peak (MiB)",
                        "Prefect task runs",
                        "task runs / village", "GeoTIFFs", "load (1 min) at start"], rows)]
    kinds = {x["villages"]: x.get("task_by_kind") for x in r["rows"] if x["mode"] == "in-process"}
    if kinds:
        n = max(kinds)
        out += ["", f"Task runs by kind at {n} villages: "
                + ", ".join(f"{k} {v}" for k, v in sorted((kinds[n] or {}).items())) + "."]
    if r.get("errors"):
        out += ["", "Failed: " + "; ".join(f"`{k}`: {v}" for k, v in r["errors"].items())]
    return out


def _sizes_by_mode(r: dict) -> str:
    """`` (in-process at 11, 100, 300 villages, by-address at 11, 100; why)`` when the modes
    ran different sizes (or only one mode ran), else nothing."""
    per = r.get("sizes_by_mode")
    if not per or all(ns == r["sizes"] for ns in per.values()) and len(per) > 1:
        return ""
    ran = ", ".join(f"{m} at {', '.join(str(n) for n in ns) or 'none'}" for m, ns in per.items())
    return f" ({ran} villages{'; ' + r['sizes_why'] if r.get('sizes_why') else ''})"


def _in_process(r: dict) -> list[dict]:
    return sorted((x for x in (r or {}).get("rows", []) if x["mode"] == "in-process"), key=lambda x: x["villages"])


def targets(r: dict | None) -> list[list[str]]:
    """Rows of the targets table: the 300-village night, flat memory, task runs."""
    rows = []
    xs = _in_process(r or {})
    big = next((x for x in xs if x["villages"] == COUNTY_TARGET_VILLAGES), None)
    label = f"{COUNTY_TARGET_VILLAGES}-village county night in at most {COUNTY_TARGET_S // 60} min (in-process)"
    if big:
        ok = big["wall_min_s"] <= COUNTY_TARGET_S
        rows.append([label, f"{big['wall_min_s'] / 60:.1f} min (median {big['wall_median_s'] / 60:.1f})",
                     "met" if ok else "**not met**"])
    else:
        rows.append([label, "-", "not measured"])
    if len(xs) >= 2:
        peak = [x.get("tree_peak_rss_mib") or x["peak_rss_mib"] for x in (xs[0], xs[-1])]  # all processes'
        ratio = peak[1] / peak[0]
        rows.append([f"Flat memory: all processes' peak RSS at {xs[-1]['villages']} villages / at {xs[0]['villages']} < "
                     f"{FLAT_MEMORY_RATIO:g}", f"{ratio:.2f}", "met" if ratio < FLAT_MEMORY_RATIO else "**not met**"])
        per = [x["task_runs"] / x["villages"] for x in (xs[0], xs[-1])]
        bounded = xs[-1]["task_runs"] <= xs[0]["task_runs"] * math.sqrt(xs[-1]["villages"] / xs[0]["villages"])
        rows.append(["Prefect task runs bounded by tiles and batches, not villages x dates",
                     f"{xs[0]['task_runs']:.0f} at {xs[0]['villages']}, {xs[-1]['task_runs']:.0f} at "
                     f"{xs[-1]['villages']} villages ({per[0]:.1f} and {per[1]:.1f} per village)",
                     "met" if bounded else "**not met**"])
    return rows


def notes(r: dict | None) -> list[str]:
    """The province estimate, on paper, from the largest in-process county measured."""
    xs = _in_process(r or {})
    if not xs:
        return []
    x = xs[-1]
    rate = x["villages_per_hour_best"]
    hours = PROVINCE_VILLAGES / rate
    workers = math.ceil(hours / NIGHT_HOURS)
    return [f"- Province estimate (arithmetic, not a measurement): at the {x['villages']}-village county's best "
            f"rate on this machine ({rate:,.0f} villages/h on {r.get('threads', '?')} threads), "
            f"{PROVINCE_VILLAGES:,} villages take {hours:,.1f} h; to fit in a {NIGHT_HOURS:g}-hour night that is "
            f"{workers} machines like this one, each running the nightly flow over its share of the villages, "
            "assuming (i) the work per village stays that of this benchmark's night (the demo's dates over villages "
            "a few hundred pixels square), (ii) villages are independent so the rate scales linearly with machines "
            "(no shared bottleneck: the Prefect API, the output file system and the imagery source keep up), "
            "(iii) Prefect task runs as measured: "
            f"{x['task_runs'] / x['villages']:.2f} per village (one task per batch of up to 32 small villages, "
            "`flows.batches`), "
            f"{x['task_runs'] / x['villages'] * PROVINCE_VILLAGES:,.0f} a night for the province; "
            "(iv) the imagery is read once per tile and date for the villages in it (`sensing.tileshare`; the "
            "demo renders each village, so this benchmark cannot show that saving); (v) on one machine the batches "
            "run in one worker process per core (`flows.processes`), so the rate grows with its cores; a "
            "`--dask-address` cluster only computes arrays: a village-sized date's products are computed where "
            "its batch runs (`docs/operations.md`)."]
