"""A read-only static server for an output folder: ``villagewatch serve OUT``.

Only GET and HEAD; a request is answered only with a regular file inside the folder (a
folder's ``index.html`` for a folder). Refused with 404: ``..`` or ``.`` segments, absolute
or doubled-slash paths, backslashes and NUL, percent-encoded dots and slashes (``%2e``,
``%2f``, ``%5c``), hidden files (temporaries ``.x.tmp``), folders without an index and
symlinks resolving outside the folder. Content types are those of the products (COG, GeoJSON,
parquet, ...), HTML in UTF-8.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..products.layout import PAGE, STATIC_FOLDER
from .webmap import BASEMAP_FILE

#: content type by file suffix
CONTENT_TYPES = {
    ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".tiff": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".zip": "application/zip",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)


def safe_relative(raw_path: str) -> str | None:
    """The request path as a relative POSIX path inside the root, or ``None`` if it is refused."""
    path = urlsplit(raw_path).path
    if not path.startswith("/") or path.startswith("//") or _ENCODED_SEPARATOR.search(path):
        return None
    try:
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    return "/".join(parts)


def resolve_inside(root: Path, rel: str) -> Path | None:
    """The file or folder ``rel`` names under ``root``, or ``None`` if it is missing or
    resolves (through a symlink) outside ``root``."""
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        return None
    return target if target.is_file() or target.is_dir() else None


class ReadOnlyHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of regular files under ``directory``; everything else refused."""

    server_version = "villagewatch"
    sys_version = ""
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def _target(self) -> tuple[Path | None, str]:
        """The file or folder asked for (``None``: refused or missing) and its relative path."""
        rel = safe_relative(self.path)
        if rel is None:
            return None, ""
        return resolve_inside(Path(self.directory).resolve(), rel), rel

    def _offered_basemap(self):
        """``_static/basemap.json``: the basemap the server offers the pages' maps (``serve
        --basemap``), ``null`` without one; the only answer not read from the folder, and
        never written into it."""
        body = json.dumps(getattr(self.server, "basemap", None)).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_head(self):  # noqa: D102  (SimpleHTTPRequestHandler's hook for GET and HEAD)
        if safe_relative(self.path) == f"{STATIC_FOLDER}/{BASEMAP_FILE}":
            return self._offered_basemap()
        target, rel = self._target()
        if target is not None and target.is_dir():
            path = urlsplit(self.path).path
            if not path.endswith("/"):  # relative links of the folder's page need the slash
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            target = resolve_inside(Path(self.directory).resolve(), f"{rel}/{PAGE}" if rel else PAGE)
        if target is None or not target.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        try:
            f = open(target, "rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        try:
            st = os.fstat(f.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", self.guess_type(str(target)))
            self.send_header("Content-Length", str(st.st_size))
            self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
            self.end_headers()
            return f
        except BaseException:
            f.close()
            raise

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def list_directory(self, path):  # never list folders
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse

    def log_message(self, format: str, *args) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, *,
                quiet: bool = False, basemap: dict | None = None) -> ThreadingHTTPServer:
    """A read-only server for ``root`` on ``host:port`` (``port=0``: a free port; read it
    from ``server.server_address``). Call ``serve_forever()`` (in a thread for tests).
    ``basemap`` (``flows.publish.webmap.basemap_option``): offered to the pages' maps as
    ``_static/basemap.json``; ``None`` (the default): no basemap, the maps stay offline."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"output folder {root} does not exist")
    server = ThreadingHTTPServer((host, port), partial(ReadOnlyHandler, directory=str(root)))
    server.daemon_threads = True
    server.quiet = quiet
    server.basemap = basemap
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}/"


def serve(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, *, basemap: dict | None = None) -> None:
    """Serve ``root`` until interrupted, printing the URL first."""
    server = make_server(root, host, port, basemap=basemap)
    print(f"serving {Path(root).resolve()} at {url_of(server)} (read-only; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("stopped", file=sys.stderr)
