#!/usr/bin/env bash
# Re-create flows/publish/static/leaflet/ from the npm registry: `npm pack` the version pinned in
# flows/publish/static/package.json into a temporary folder, check the tarball's sha512 against
# the pinned integrity, and copy the files the map uses (leaflet.js, leaflet.css, images/, LICENSE).
# The pages never load Leaflet from anywhere else. Needs node and npm.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
static="$here/flows/publish/static"
read -r version integrity < <(node -e '
  const p = require(process.argv[1]).vendored.leaflet;
  console.log(p.version + " " + p.integrity);' "$static/package.json")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$version" >/dev/null)
tarball="$tmp/leaflet-$version.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$got" != "$integrity" ]]; then
  echo "vendor-leaflet: leaflet-$version.tgz has integrity $got, expected $integrity (package.json)" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp"
dest="$static/leaflet"
rm -rf "$dest"
mkdir -p "$dest/images"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$dest/"
cp "$tmp/package/dist/images/"*.png "$dest/images/"
echo "vendor-leaflet: leaflet $version ($integrity) -> $dest"
