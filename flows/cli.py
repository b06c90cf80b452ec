"""``villagewatch`` command line: nightly, backfill, verify, publish, serve, villages, validate, schedule."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "villagewatch",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}

#: the demo night's default window (``sensing.demo.timeline.DEFAULT_WINDOW``): the recent weeks
#: holding the planted changes and their confirmation; the history is read by the baseline step
DEMO_WINDOW = (dt.date(2025, 11, 1), dt.date(2025, 12, 3))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_village_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--villages", help="comma-separated village ids (default: all)")
    p.add_argument("--registry", help="folder or file of village boundaries (default: data/villages)")
    p.add_argument("--boundary", action="append", default=[], metavar="ID=PATH",
                   help="replace a village's approximate boundary with an official GeoJSON/GPKG/SHP")
    p.add_argument("--cropland", action="append", default=[], metavar="ID=PATH",
                   help="an official cropland layer (polygons, e.g. 永久基本农田) for a village, used for the "
                        "land cover of the change alerts and the farmland watch instead of the history's phenology")
    p.add_argument("--boundary-crs", metavar="CRS",
                   help="what every --boundary file's coordinates are: gcj02 (Chinese web maps; converted "
                        "to WGS 84), wgs84, EPSG:4490 (CGCS2000) or any CRS string (default: the file's own)")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--geojson-crs", choices=("wgs84", "cgcs2000"), default="wgs84",
                   help="CRS of every GeoJSON product: wgs84 (RFC 7946, default) or cgcs2000 (EPSG:4490, China's "
                        "official datum; the same numbers, with a crs member)")
    _add_map_options(p)


def _add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", choices=("demo", "stac", "files"), default="demo")
    p.add_argument("--seed", type=int, help="demo: random seed")
    p.add_argument("--profile", help="demo: development (default), tuning (the black-odorous rules' development "
                                     "data) or the held-out evaluation profile (confounders, mixed pixels, haze; "
                                     "sensing.demo.profiles)")
    p.add_argument("--no-drone", action="store_true",
                   help="demo: leave out the drone orthomosaic stream (RGB, 0.5 m, two villages)")
    p.add_argument("--stac-url", help="stac: API URL or preset (earth-search, planetary-computer)")
    p.add_argument("--collection", help="stac: sentinel-2-l2a or landsat-c2-l2")
    p.add_argument("--max-cloud", type=float, help="stac: maximum eo:cloud_cover (%%)")
    p.add_argument("--resolution", type=float, help="grid resolution in metres (default: the sensor's)")
    p.add_argument("--imagery", help="files: a folder (or file) of GeoTIFF/COG orthomosaics or scenes")
    p.add_argument("--band-map", help="files: band-map file (JSON/YAML) or comma list like red,green,blue,nir")
    p.add_argument("--resampling", choices=("native", "grid"), help="files: keep native pixels or resample to the village grid")
    p.add_argument("--date", type=_date, help="files: acquisition date when the files do not say")
    p.add_argument("--aoi", metavar="FILE",
                   help="an ad-hoc area of interest: any polygon file (GeoJSON/GPKG/SHP), only its geometry is "
                        "used, its id is the file name slugged; --villages is then not needed")
    p.add_argument("--scale", type=float, help="files: reflectance = DN x scale + offset (e.g. 0.0001)")
    p.add_argument("--offset", type=float, help="files: reflectance = DN x scale + offset (default 0)")
    p.add_argument("--nodata", type=float, help="files: the DN that marks no data (default: the file's own)")

    def sensor_name(text: str) -> str:
        from sensing.errors import UnknownSensorError
        from sensing.sensors import check_sensor_name

        try:
            return check_sensor_name(text, "--sensor")
        except UnknownSensorError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    p.add_argument("--sensor", type=sensor_name,
                   help="files: the sensor (a name of sensing.sensors.SENSORS; default: the file's SENSOR tag, "
                        "else unknown)")
    p.add_argument("--band-pattern", metavar="PATTERN",
                   help="files: one band per file, the band named in the file name, e.g. 'LC08_*_B{band}.TIF' "
                        "(band numbers from --sensor or the band map) or '{band}.tif' (red.tif, nir.tif)")


def _add_map_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--basemap", choices=("none", "osm", "tianditu"), default="none",
                   help="an online basemap under the pages' maps (default none: the maps work offline); tianditu "
                        "needs the user's key")
    p.add_argument("--tianditu-key", default=os.environ.get("VILLAGEWATCH_TIANDITU_KEY"),
                   help="the user's Tianditu key for --basemap tianditu (default $VILLAGEWATCH_TIANDITU_KEY)")


def _basemap(args: argparse.Namespace) -> dict | None:
    from flows.publish.webmap import basemap_option

    return basemap_option(getattr(args, "basemap", None), getattr(args, "tianditu_key", None))


def _layout():
    """``flows.products.layout`` (imported when needed: ``--help`` stays fast)."""
    from flows.products import layout

    return layout


def source_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.source == "demo":
        return {"seed": args.seed, "drone_stream": not args.no_drone, "profile": args.profile}
    if args.source == "stac":
        return {"url": args.stac_url or "earth-search", "collection": args.collection,
                "max_cloud": args.max_cloud, "resolution": args.resolution,
                "items_dir": str(_layout().stac_items_dir(args.out))}
    opts: dict[str, Any] = {"paths": args.imagery, "resampling": args.resampling, "resolution": args.resolution,
                            "date": args.date, "scale": args.scale, "offset": args.offset, "nodata": args.nodata,
                            "sensor": args.sensor, "band_pattern": args.band_pattern}
    if args.imagery is None:
        raise SystemExit("--source files needs --imagery DIR")
    if args.band_map:
        bm = args.band_map
        opts["band_map"] = Path(bm) if Path(bm).exists() else tuple(b.strip() for b in bm.split(","))
    if hasattr(args, "start"):  # nightly and backfill (not schedule): check the window now
        from flows.sources import build_source

        start = args.start or dt.date.today() - dt.timedelta(days=30)  # cmd_nightly's default window
        end = args.end or dt.date.today()
        err = build_source("files", **opts).window_error(start, end)
        if err is not None:
            raise err  # a SensingError: main() prints it as one line
    return opts


def load_selected_villages(args: argparse.Namespace):
    """The villages the options choose (:func:`aoi.registry.select_villages`)."""
    from aoi.registry import select_villages

    return select_villages(args.registry, ids=_ids(args), boundaries=getattr(args, "boundary", ()),
                           boundary_crs=getattr(args, "boundary_crs", None), aoi=getattr(args, "aoi", None))


def _ids(args: argparse.Namespace) -> list[str] | None:
    return [s.strip() for s in args.villages.split(",")] if args.villages else None


def cropland_options(items: Sequence[str], villages) -> dict[str, str]:
    """``--cropland ID=PATH`` options -> ``{village id: path}``; the file must exist and the id
    be one of the night's villages."""
    out: dict[str, str] = {}
    ids = {v.id for v in villages}
    for text in items:
        vid, sep, raw = text.partition("=")
        vid, raw = vid.strip(), raw.strip()
        if not sep or not vid or not raw:
            raise SystemExit(f"--cropland {text!r}: expected ID=PATH, e.g. --cropland meijiang-sanjiao-pankeng=farmland.gpkg")
        if vid not in ids:
            raise SystemExit(f"--cropland names a village that is not in this run: {vid}")
        if not Path(raw).expanduser().is_file():
            raise SystemExit(f"--cropland {text!r}: cropland file {raw} does not exist")
        out[vid] = str(Path(raw).expanduser().resolve())
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no villages)"
    cols = list(rows[0])

    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return str(v)

    cells = [[fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def cmd_nightly(args: argparse.Namespace) -> int:
    from flows.params import Params
    from flows.sources import build_source

    villages = load_selected_villages(args)
    source = build_source(args.source, **source_options(args))
    out = Path(args.out).resolve()
    start = args.start or (DEMO_WINDOW[0] if args.source == "demo" else dt.date.today() - dt.timedelta(days=30))
    end = args.end or (DEMO_WINDOW[1] if args.source == "demo" else dt.date.today())
    params = Params(geojson_crs=_geojson_crs(args))
    _basemap(args)  # a bad --basemap stops here, before any work
    print(f"villagewatch nightly: {len(villages)} villages, source {args.source}, {start}..{end} -> {out}")
    from flows.products.atomic import output_lock

    began = time.time()
    with output_lock(out):
        runs = _run_and_publish(args, villages, source, out, start, end, params)
    print(format_table([r.summary_row() for r in runs]))
    print(_wall_time(began, len(runs)))
    failed = [r for r in runs if r.status == "failed"]
    print(f"\noutputs: {out}")
    layout = _layout()
    for name in (layout.CATALOG, layout.PAGE, layout.TABLE):
        if (out / name).exists():
            print(f"  {out / name}")
    if (out / layout.PAGE).exists():
        print(f"download page: villagewatch serve {out}  (then open http://127.0.0.1:8000/)")
    if failed:
        print(f"{len(failed)} village(s) failed: {', '.join(r.village_id for r in failed)}", file=sys.stderr)
    return 1 if failed and len(failed) == len(runs) else 0


def _wall_time(began: float, villages: int) -> str:
    """The night's wall time: from the process's start (Python, imports) and from the run's."""
    now = time.time()
    try:
        import psutil

        total = f"{now - psutil.Process().create_time():.1f} s from the process's start, "
    except Exception:  # noqa: BLE001 - psutil is optional here
        total = ""
    return f"wall time: {total}{now - began:.1f} s for the run and publishing ({villages} villages)"


def _run_and_publish(args, villages, source, out: Path, start: dt.date, end: dt.date, params):
    """The night's runs (Prefect or plain), then state, tables, catalog and page."""
    from flows.runner import finish_run, run

    runs = run(villages, source, out, start, end, params, prefect=not args.no_prefect,
               dask_address=args.dask_address, incremental=args.incremental,
               cropland=cropland_options(getattr(args, "cropland", []), villages))
    finish_run(out, villages, runs, basemap=_basemap(args))
    return runs


def _geojson_crs(args: argparse.Namespace) -> str:
    return {"wgs84": "EPSG:4326", "cgcs2000": "EPSG:4490"}[getattr(args, "geojson_crs", None) or "wgs84"]


def _villages_with_products(args: argparse.Namespace, out: Path):
    """The registry's (or ``--registry``'s) villages that have a folder in ``out``."""
    layout = _layout()
    return [v for v in load_selected_villages(args) if layout.village_dir(out, v.id).is_dir()]


def cmd_verify(args: argparse.Namespace) -> int:
    from flows.fieldcheck import STATUSES, import_sheet, village_summary
    from flows.products.atomic import output_lock
    from flows.runner import republish

    out = Path(args.out).resolve()
    if not out.is_dir():
        raise FileNotFoundError(f"output folder {out} does not exist")
    with output_lock(out):
        result = import_sheet(out, args.sheet, village_id=args.village)
        villages = _villages_with_products(args, out)
        republish(out, villages, basemap=_basemap(args))
    (village,) = [v for v in villages if v.id == result.village_id] or [None]
    print(f"villagewatch verify: {len(result.checks)} check(s) of {result.village_id} ({result.screening_date}) "
          f"{'imported' if result.changed else 'already in the register'}: {result.register}")
    for c in result.checks:
        print(f"  {c.wb_id}: {c.verdict} {STATUSES[c.verdict][0]} ({c.check_date}, {c.inspector})"
              + (f"; criteria met: {', '.join(c.assessment.get('criteria_met', []))}" if c.assessment.get("criteria_met") else ""))
    if village is not None:
        p = village_summary(out, village).precision
        if p["checked"]:
            print(f"screening precision of {village.id}: {p['confirmed']} confirmed of {p['checked']} checked "
                  f"({p['precision']:.0%})")
        print(f"page: {_layout().village_dir(out, village.id) / _layout().PAGE}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from flows.products.atomic import output_lock
    from flows.runner import republish

    out = Path(args.out).resolve()
    if not out.is_dir():
        raise FileNotFoundError(f"output folder {out} does not exist")
    with output_lock(out):
        paths = republish(out, _villages_with_products(args, out), basemap=_basemap(args))
    print(f"published {out}: {paths[0] if paths else 'nothing'}")
    return 0


def cmd_villages(args: argparse.Namespace) -> int:
    from aoi.registry import villages_to_geodataframe

    villages = load_selected_villages(args)
    gdf = villages_to_geodataframe(villages)
    cols = [c for c in ("id", "name_zh", "name_en", "county", "pilot_type", "area_km2", "boundary_source") if c in gdf]
    print(format_table(gdf[cols].to_dict("records")))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from flows import deploy

    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit(
            "villagewatch schedule needs a Prefect server: run `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (an ephemeral server cannot schedule)")
    # a bad --villages, --boundary, --aoi or --cropland stops here, not at 02:00
    cropland = cropland_options(args.cropland, load_selected_villages(args))
    params = {"source": args.source, "out": str(Path(args.out).resolve()), "villages": _ids(args),
              "source_options": _deployment_source_options(source_options(args)),
              "registry": args.registry, "dask_address": args.dask_address,
              "boundaries": [_absolute_boundary(b) for b in args.boundary], "boundary_crs": args.boundary_crs,
              "aoi": str(Path(args.aoi).resolve()) if args.aoi else None,
              "geojson_crs": _geojson_crs(args), "basemap": _basemap(args),
              "cropland": [f"{vid}={Path(p).expanduser().resolve()}" for vid, p in cropland.items()]}
    kw = dict(cron=args.cron, timezone=args.timezone, parameters=params)
    if args.register_only:
        print(f"registered deployment {deploy.DEPLOYMENT_NAME}: {deploy.register(**kw)}")
        return 0
    print(f"serving {deploy.DEPLOYMENT_NAME} on cron '{args.cron}' ({args.timezone}); Ctrl-C stops")
    deploy.serve(**kw)
    return 0


#: source options that name files or folders (made absolute for a deployment)
PATH_OPTIONS = ("paths", "band_map", "items_dir")


def _deployment_source_options(opts: dict[str, Any]) -> dict[str, Any]:
    """Source options as a deployment's JSON parameters: set ones only (not ``date``, which a
    nightly run takes from its window), paths absolute (the scheduled run may start elsewhere),
    tuples as lists."""
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if v is None or k == "date":
            continue
        if k in PATH_OPTIONS and isinstance(v, (str, Path)):
            v = str(Path(v).expanduser().resolve())
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def _absolute_boundary(option: str) -> str:
    """``ID=PATH`` with the path made absolute (the scheduled run may start elsewhere)."""
    vid, _, raw = option.partition("=")
    return f"{vid.strip()}={Path(raw.strip()).expanduser().resolve()}"


def cmd_validate(args: argparse.Namespace) -> int:
    from flows.evaluation import DEFAULT_REALDATA, format_report, run_validation, write_json, write_markdown

    villages = load_selected_villages(args)
    realdata = None if args.no_realdata else Path(args.realdata or DEFAULT_REALDATA)
    profiles = tuple(p.strip() for p in args.profile.split(",") if p.strip())
    report = run_validation(villages, realdata=realdata, seed=args.seed, profiles=profiles,
                            testbed=not args.no_testbed, change=not args.no_change,
                            change_out=args.change_out)
    print(format_report(report))
    if args.out_md:
        print(f"wrote {write_markdown(report, args.out_md)}")
    if args.json:
        print(f"wrote {write_json(report, args.json)}")
    return 1 if args.strict and report.failed else 0


def cmd_backfill(args: argparse.Namespace) -> int:
    args.incremental = False
    args.start, args.end = args.from_, args.to
    return cmd_nightly(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.publish.serve import serve

    serve(args.out, host=args.host, port=args.port, basemap=_basemap(args))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="villagewatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nightly", help="process every (or the chosen) village's new acquisitions")
    _add_village_options(p)
    _add_source_options(p)
    p.add_argument("--out", default="out", help="output folder (default: ./out)")
    p.add_argument("--start", type=_date)
    p.add_argument("--end", type=_date)
    p.add_argument("--no-prefect", action="store_true", help="run the same steps as plain functions")
    p.add_argument("--incremental", action=argparse.BooleanOptionalAction, default=True,
                   help="start each village at its last successful acquisition (state.json); default on")
    p.add_argument("--dask-address", default=os.environ.get("VILLAGEWATCH_DASK_ADDRESS"),
                   help="run Dask work on an existing cluster (scheduler address)")
    _add_output_options(p)
    p.set_defaults(func=cmd_nightly, prefect_api_early=True)

    p = sub.add_parser("backfill", help="process a date range whatever the state says")
    _add_village_options(p)
    _add_source_options(p)
    p.add_argument("--from", dest="from_", type=_date, required=True)
    p.add_argument("--to", type=_date, required=True)
    p.add_argument("--out", default="out")
    p.add_argument("--no-prefect", action="store_true")
    p.add_argument("--dask-address", default=os.environ.get("VILLAGEWATCH_DASK_ADDRESS"))
    _add_output_options(p)
    p.set_defaults(func=cmd_backfill, prefect_api_early=True)

    p = sub.add_parser("schedule", help="serve the nightly flow on a cron against a Prefect server")
    _add_village_options(p)
    _add_source_options(p)
    p.add_argument("--out", default="out")
    p.add_argument("--cron", default="0 2 * * *", help="cron expression (default 02:00)")
    p.add_argument("--timezone", default="Asia/Shanghai")
    p.add_argument("--dask-address", default=os.environ.get("VILLAGEWATCH_DASK_ADDRESS"))
    p.add_argument("--register-only", action="store_true", help="create/update the deployment and exit")
    _add_output_options(p)
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("serve", help="serve an output folder's download page read-only over HTTP")
    p.add_argument("out", help="output folder (with index.html)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    _add_map_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("verify", help="import a filled field-check sheet (CSV or XLSX) into the village's register "
                                      "and publish again")
    p.add_argument("out", help="output folder (with the village's products)")
    p.add_argument("sheet", help="the filled field-check sheet (field_check.csv or .xlsx from the village page)")
    p.add_argument("--village", help="refuse the sheet unless it is this village's")
    _add_village_options(p)
    _add_map_options(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("publish", help="publish an output folder again (field-check statuses, tables, catalog, pages)")
    p.add_argument("out", help="output folder")
    _add_village_options(p)
    _add_map_options(p)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("validate", help="score the indicators against demo truth, real labelled data and spectra")
    _add_village_options(p)
    p.add_argument("--seed", type=int, default=2024, help="demo seed (default 2024)")
    p.add_argument("--profile", default="development",
                   help="demo profile(s), comma-separated: development (the clean demo), tuning (the "
                        "confounders; the black-odorous rules were set on it) and/or evaluation (held out: every "
                        "reported number; another realisation with --seed); default development")
    p.add_argument("--no-testbed", action="store_true", help="skip the spectral test bed (about 15 s)")
    p.add_argument("--realdata", help="real-data folder (default: ../shared/realdata or $VILLAGEWATCH_REALDATA)")
    p.add_argument("--no-realdata", action="store_true", help="skip the real-data checks")
    p.add_argument("--out-md", help="write the results into this markdown file (e.g. docs/validation.md)")
    p.add_argument("--json", help="write every metric as JSON to this file")
    p.add_argument("--strict", action="store_true", help="exit 1 when any target is missed")
    p.add_argument("--no-change", action="store_true",
                   help="skip the change products (their demo nights over three windows take minutes)")
    p.add_argument("--change-out", help="run the change validation's demo nights into this folder (kept; "
                                        "reused when up to date) instead of a temporary one")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("villages", help="list the pilot villages")
    _add_village_options(p)
    p.set_defaults(func=cmd_villages)
    return parser


NOISY_LOGGERS = ("distributed", "httpx", "rasterio", "fiona", "pyogrio", "numexpr")


def quiet_noisy_loggers(level: int) -> None:
    """Libraries' loggers at ``level``; ``distributed`` configures a level on each of its own
    loggers (``distributed.scheduler`` ...) when imported, so it is imported first."""
    import distributed  # noqa: F401  (sets its loggers' levels at import)

    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    for k, v in PREFECT_DEFAULTS.items():
        os.environ.setdefault(k, v)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "prefect_api_early", False) and not args.no_prefect:
        from flows import prefect_api

        prefect_api.start()  # comes up on the other core while this process imports and plans
    quiet_noisy_loggers(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear line, not a traceback, for expected problems
        from villagewatch import VillagewatchError

        if isinstance(exc, (VillagewatchError, FileNotFoundError, ValueError)) and not args.verbose:
            from sensing.http import redact_text

            print(f"villagewatch: error: {redact_text(str(exc))}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
