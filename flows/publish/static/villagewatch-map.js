/* villagewatch offline map (issue 14).
 *
 * Plain ES2017 on the vendored Leaflet (static/leaflet/leaflet.js, loaded before this file); no
 * build step, no request to anywhere but the page's own origin unless the layer description
 * names a basemap. The page embeds a layer description (schema: villagewatch-map.schema.json)
 *
 *   <div id="vw-map" data-vw-map="vw-layers"></div>
 *   <script type="application/json" id="vw-layers">{"schema": "villagewatch-map/1", ...}</script>
 *
 * and every element with a data-vw-map attribute becomes a map when the page has loaded
 * (or call VillagewatchMap.create(element, description)). It draws per-date image overlays
 * (true colour, NDVI, change classes: PNG + lon/lat bbox), GeoJSON layers (inlined or relative
 * URLs: boundary, water bodies, suspects coloured by status, change polygons), a layer
 * switcher, a date selector, a legend and a popup with a feature's figures. Labels are
 * Chinese first with English beside.
 */
(function (global) {
  "use strict";

  const SCHEMA = "villagewatch-map/1";

  // ------------------------------------------------------------------ labels (zh, en)
  const STATUS = {
    suspect_black_odorous: ["疑似黑臭", "Suspected black-odorous", "#d95f02"],
    persistent_suspect: ["持续疑似黑臭", "Persistent suspect", "#a63603"],
    persistent: ["持续疑似黑臭", "Persistent suspect", "#a63603"],
    watch: ["观察（单期疑似）", "Watch (flagged once)", "#fdae6b"],
    screened: ["已筛查待核查", "Screened, not checked", "#d95f02"],
    unverified: ["未核查", "Unverified", "#d95f02"],
    checked: ["已现场核查", "Field-checked", "#7570b3"],
    confirmed: ["确认黑臭", "Confirmed black-odorous", "#c0001a"],
    cleared: ["排除", "Cleared", "#1b9e77"],
    treated: ["已治理", "Treated", "#1f78b4"],
    relapsed: ["返黑返臭", "Relapsed", "#111111"],
    ordinary: ["一般水体", "Ordinary water", "#4a90d9"],
    too_small: ["面积过小无法判读", "Too small to resolve", "#9e9e9e"],
    no_valid_observation: ["无有效观测", "No valid observation", "#cfcfcf"],
  };
  const CHANGE = {
    vegetation_loss: ["植被减少", "Vegetation loss"],
    vegetation_gain: ["植被增加", "Vegetation gain"],
    water_gain: ["水体增加", "Water gain"],
    water_loss: ["水体减少", "Water loss"],
    new_black_odorous_suspects: ["新增疑似黑臭", "New black-odorous suspect"],
  };
  const LIST = {
    national: ["国家监管清单（≥ 2000 m²）", "National list (≥ 2,000 m²)"],
    provincial: ["省级清单（< 2000 m²）", "Provincial list (< 2,000 m²)"],
  };
  const KIND_STYLE = {
    boundary: { color: "#202020", weight: 2.5, fill: false, interactive: false },
    water: { color: "#1f78b4", weight: 1, fillColor: "#a6cee3", fillOpacity: 0.55 },
    suspects: { color: "#d95f02", weight: 2, fillOpacity: 0.6 },
    change: { color: "#e7298a", weight: 1.5, fillOpacity: 0.45 },
    points: { color: "#006d2c", weight: 2, fillOpacity: 0.8 },
    villages: { color: "#333333", weight: 1.5, fillColor: "#9ecae1", fillOpacity: 0.7 },
  };
  const KIND_PANE = { image: 350, water: 410, change: 415, points: 420, villages: 422, suspects: 425, boundary: 430 };
  // the figures a popup shows, in order, when the properties have them
  const POPUP_FIELDS = [
    { key: "name_zh", label: ["名称", "Name"], format: "name" },
    { key: "county", label: ["区县", "County"] },
    { key: "admin_code", label: ["统计用区划代码", "Division code"] },
    { key: "n_black_odorous_suspects", label: ["疑似黑臭水体数", "Black-odorous suspects"] },
    { key: "wb_id", label: ["编号", "ID"] },
    { key: "id", label: ["编号", "ID"] },
    { key: "change", label: ["变化类型", "Change"], format: "status" },
    { key: "status", label: ["状态", "Status"], format: "status" },
    { key: "status_reason", label: ["说明", "Why"] },
    { key: "area_m2", label: ["面积", "Area"], format: "area" },
    { key: "list", label: ["清单", "List"], format: "list" },
    { key: "methods_agreeing", label: ["一致的方法", "Agreeing methods"], format: "methods" },
    { key: "confidence", label: ["置信度", "Confidence"], format: "number2" },
    { key: "dates", label: ["日期", "Dates"], format: "dates" },
    { key: "voting_dates", label: ["判为疑似的日期", "Dates that flagged it"], format: "dates" },
    { key: "persistence", label: ["持续性", "Persistence"], format: "status" },
    { key: "first_seen", label: ["首次发现", "First seen"] },
    { key: "last_seen", label: ["最近一次", "Last seen"] },
    { key: "from", label: ["起始日期", "From"] },
    { key: "to", label: ["结束日期", "To"] },
    { key: "verification", label: ["核查状态", "Verification"], format: "status" },
    { key: "last_check", label: ["最近核查", "Last check"] },
  ];

  function esc(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  /** "中文 English" as HTML: a {zh, en} object, a [zh, en] pair or plain text. */
  function bilingual(label) {
    if (label == null) return "";
    if (Array.isArray(label)) label = { zh: label[0], en: label[1] };
    if (typeof label === "object") {
      const zh = label.zh ? `<span class="vw-zh" lang="zh-CN">${esc(label.zh)}</span>` : "";
      const en = label.en ? `<span class="vw-en" lang="en">${esc(label.en)}</span>` : "";
      return zh && en ? `${zh} ${en}` : zh || en;
    }
    return esc(label);
  }

  function statusLabel(value) {
    const s = STATUS[value] || CHANGE[value];
    return s ? bilingual([s[0], s[1]]) : esc(value);
  }

  function formatValue(field, value) {
    switch (field.format) {
      case "area": {
        const m2 = Number(value);
        if (!isFinite(m2)) return esc(value);
        return `${Math.round(m2).toLocaleString("en-US")} m² (${(m2 / 10000).toFixed(2)} ha)`;
      }
      case "list":
        return LIST[value] ? bilingual(LIST[value]) : esc(value);
      case "status":
        return statusLabel(value);
      case "methods": {
        const items = Array.isArray(value) ? value : String(value).split(",").map((s) => s.trim()).filter(Boolean);
        return items.length ? esc(items.join(", ")) : bilingual(["无", "none"]);
      }
      case "name":
        return bilingual({ zh: value, en: field.props && field.props.name_en });
      case "number2":
        return isFinite(Number(value)) ? Number(value).toFixed(2) : esc(value);
      case "dates":
        return esc(Array.isArray(value) ? value.join(", ") : value);
      default:
        return esc(Array.isArray(value) ? value.join(", ") : value);
    }
  }

  /** The popup of one feature: its figures as a two-column table, the image date last. */
  function popupHtml(props, layer, date) {
    const fields = layer.popup_fields || POPUP_FIELDS;
    const rows = [];
    for (const f of fields) {
      const value = props[f.key];
      if (value === undefined || value === null || value === "") continue;
      if (f.key === "id" && props.wb_id != null) continue;
      const unit = f.unit ? ` ${esc(f.unit)}` : "";
      rows.push(`<tr data-key="${esc(f.key)}"><th>${bilingual(f.label)}</th><td>${formatValue(Object.assign({ props }, f), value)}${unit}</td></tr>`);
    }
    if (props.href) {
      let href = null;
      try { href = localUrl(props.href); } catch (err) { console.error(err); }
      if (href) rows.push(`<tr data-key="href"><td colspan="2"><a href="${esc(href)}">${bilingual(["打开村页面", "Open the village page"])}</a></td></tr>`);
    }
    if (date && !("dates" in props) && !("date" in props)) {
      rows.push(`<tr data-key="image_date"><th>${bilingual(["影像日期", "Image date"])}</th><td>${esc(date)}</td></tr>`);
    } else if (props.date) {
      rows.push(`<tr data-key="date"><th>${bilingual(["日期", "Date"])}</th><td>${esc(props.date)}</td></tr>`);
    }
    return `<div class="vw-popup"><div class="vw-popup-title">${bilingual(layer.label)}</div>` +
      `<table>${rows.join("")}</table></div>`;
  }

  // ------------------------------------------------------------------ helpers
  function bboxToBounds(b) {
    // [west, south, east, north] lon/lat -> Leaflet [[south, west], [north, east]]
    return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
  }

  /** A URL of the page's own origin (relative or same-origin); anything else is refused. */
  function localUrl(url) {
    const u = new URL(url, document.baseURI);
    if (u.protocol === "data:" || u.origin === global.location.origin ||
        (u.protocol === "file:" && global.location.protocol === "file:")) return u.href;
    throw new Error(`villagewatch-map: refusing to load ${url}: only the page's own files are read (no CDN, no tile server)`);
  }

  /** The break (of layer.breaks, ascending "max"; the last may have none) a number falls in. */
  function breakFor(layer, value) {
    const x = Number(value);
    if (!layer.breaks || value === null || value === "" || !isFinite(x)) return null;
    return layer.breaks.find((b) => b.max == null || x <= b.max) || null;
  }

  function colourFor(layer, props) {
    const key = layer.colour_by || (layer.kind === "suspects" ? "status" : null);
    if (!key || props[key] == null) return null;
    const v = props[key];
    if (layer.breaks) { const b = breakFor(layer, v); return b ? b.color : null; }
    if (layer.colours && layer.colours[v]) return layer.colours[v];
    return STATUS[v] ? STATUS[v][2] : null;
  }

  function styleFor(layer) {
    const base = Object.assign({}, KIND_STYLE[layer.kind] || KIND_STYLE.change, layer.style || {});
    return (feature) => {
      const s = Object.assign({}, base);
      const c = colourFor(layer, (feature && feature.properties) || {});
      if (c) { s.color = c; s.fillColor = c; }
      return s;
    };
  }

  // ------------------------------------------------------------------ controls
  const DateControl = L.Control.extend({
    options: { position: "topright" },
    initialize(vwmap, opts) { L.setOptions(this, opts); this._vw = vwmap; },
    onAdd() {
      const div = L.DomUtil.create("div", "leaflet-bar vw-control vw-date");
      const id = `vw-date-${Math.random().toString(36).slice(2, 8)}`;
      div.innerHTML = `<label for="${id}">${bilingual(["影像日期", "Date"])}</label> `;
      const sel = L.DomUtil.create("select", "vw-date-select", div);
      sel.id = id;
      for (const d of this._vw.dates) {
        const o = document.createElement("option");
        o.value = d; o.textContent = d;
        sel.appendChild(o);
      }
      sel.value = this._vw.date;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.on(sel, "change", () => this._vw.setDate(sel.value));
      this._select = sel;
      return div;
    },
  });

  const LegendControl = L.Control.extend({
    options: { position: "bottomright" },
    onAdd() {
      this._div = L.DomUtil.create("div", "vw-control vw-legend");
      L.DomEvent.disableClickPropagation(this._div);
      L.DomEvent.disableScrollPropagation(this._div);
      return this._div;
    },
    update(html) { if (this._div) this._div.innerHTML = html; },
  });

  function swatch(style, shape) {
    const fill = style.fill === false ? "transparent" : (style.fillColor || style.color);
    const dash = style.dashArray ? "dashed" : "solid";
    const radius = shape === "point" ? "50%" : "2px";
    return `<i class="vw-swatch" style="background:${esc(fill)};border:2px ${dash} ${esc(style.color)};border-radius:${radius}"></i>`;
  }

  // ------------------------------------------------------------------ the map
  class VwMap {
    constructor(element, desc) {
      if (!desc || desc.schema !== SCHEMA) {
        throw new Error(`villagewatch-map: layer description schema must be "${SCHEMA}", got ${desc && JSON.stringify(desc.schema)}`);
      }
      this.desc = desc;
      this.element = element;
      const all = new Set(desc.dates || []);
      for (const l of desc.layers || []) for (const d of Object.keys(l.dates || {})) all.add(d);
      this.dates = Array.from(all).sort();
      this.date = desc.date && all.has(desc.date) ? desc.date : this.dates[this.dates.length - 1] || null;
      this.map = L.map(element, { zoomControl: true, attributionControl: true, zoomSnap: 0.25 });
      this.map.attributionControl.setPrefix(false);
      this.groups = {};      // layer id -> L.LayerGroup (what the switcher toggles)
      this._geojson = {};    // url -> Promise of the parsed GeoJSON
      this._pending = [];
      for (const [kind, z] of Object.entries(KIND_PANE)) {
        const pane = this.map.createPane(`vw-${kind}`);
        pane.style.zIndex = String(z);
      }
      this._basemap();
      const overlays = {};
      for (const layer of desc.layers || []) {
        const g = L.layerGroup();
        g.vwLayer = layer;
        this.groups[layer.id] = g;
        overlays[`<span class="vw-layer-name" data-layer="${esc(layer.id)}">${bilingual(layer.label || layer.id)}</span>`] = g;
        if (layer.visible !== false) g.addTo(this.map);
        if (!layer.dates) this._fill(layer, g, layer, null);
      }
      this.layersControl = L.control.layers(this._baseLayers || null, overlays, { collapsed: false, position: "topright" });
      if (this.dates.length) { this.dateControl = new DateControl(this); this.dateControl.addTo(this.map); }
      this.layersControl.addTo(this.map);
      this.legend = new LegendControl();
      this.legend.addTo(this.map);
      L.control.scale({ imperial: false }).addTo(this.map);
      this.map.on("overlayadd overlayremove", () => this._updateLegend());
      const view = desc.bbox ? bboxToBounds(desc.bbox) : null;
      if (view) this.map.fitBounds(view, { padding: [10, 10] });
      else this.map.setView([30, 110], 5);
      this.setDate(this.date);
      element.vwMap = this;
    }

    _basemap() {
      const b = this.desc.basemap;
      if (!b) return;
      let layer;
      if (b.kind === "tianditu") {
        if (!b.key) throw new Error("villagewatch-map: a Tianditu basemap needs the user's key (basemap.key)");
        // Tianditu WMTS, Web Mercator matrix set ("_w"); CGCS2000 = WGS 84 within decimetres, no GCJ-02 shift
        const tpl = (lyr) => `https://t{s}.tianditu.gov.cn/${lyr}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0` +
          `&LAYER=${lyr}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILECOL={x}&TILEROW={y}&TILEMATRIX={z}&tk=${encodeURIComponent(b.key)}`;
        const opts = { subdomains: "01234567", maxZoom: 18, attribution: "天地图 Tianditu" };
        layer = L.layerGroup([L.tileLayer(tpl(b.layer || "img"), opts), L.tileLayer(tpl("cia"), opts)]);
      } else if (b.kind === "osm") {
        layer = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
          { maxZoom: 19, attribution: "© OpenStreetMap contributors" });
      } else if (b.kind === "xyz" && b.url) {
        layer = L.tileLayer(b.url, { maxZoom: b.max_zoom || 19, attribution: b.attribution || "" });
      } else {
        throw new Error(`villagewatch-map: unknown basemap kind ${JSON.stringify(b.kind)} (tianditu, osm, xyz)`);
      }
      const name = bilingual(b.label || (b.kind === "tianditu" ? ["天地图影像", "Tianditu imagery"] :
        b.kind === "osm" ? ["开放街道地图", "OpenStreetMap"] : ["底图", "Basemap"]));
      const none = L.layerGroup();
      this._baseLayers = { [bilingual(["无底图", "No basemap"])]: none, [name]: layer };
      (b.visible === false ? none : layer).addTo(this.map);
    }

    _loadGeoJSON(entry) {
      if (entry.data) return Promise.resolve(entry.data);
      let url;
      try { url = localUrl(entry.url); } catch (err) { return Promise.reject(err); }
      if (!this._geojson[url]) {
        const fromDisk = global.location.protocol === "file:" ?
          " (a page opened from disk cannot read other files: open it through `villagewatch serve`, or inline the layer as data)" : "";
        this._geojson[url] = fetch(url).catch((err) => {
          throw new Error(`villagewatch-map: cannot read ${entry.url}: ${err.message}${fromDisk}`);
        }).then((r) => {
          if (!r.ok) throw new Error(`villagewatch-map: ${entry.url}: HTTP ${r.status}`);
          return r.json();
        });
      }
      return this._geojson[url];
    }

    /** Put one layer's content (for one date, or date-independent) into its group. */
    _fill(layer, group, entry, date) {
      if (layer.type === "image") {
        let url;
        try { url = localUrl(entry.url); } catch (err) { console.error(err); this._notice(err.message); return Promise.resolve(null); }
        const img = L.imageOverlay(url, bboxToBounds(entry.bbox), {
          opacity: entry.opacity != null ? entry.opacity : layer.opacity != null ? layer.opacity : 1,
          className: `vw-image vw-image-${layer.kind || "image"}`,
          pane: "vw-image",
          alt: layer.label && layer.label.en ? `${layer.label.en} ${date || ""}` : "",
        });
        img.vwDate = date;
        group.addLayer(img);
        return Promise.resolve(img);
      }
      const pane = KIND_PANE[layer.kind] ? `vw-${layer.kind}` : "vw-change";
      const p = this._loadGeoJSON(entry).then((data) => {
        if (this._layerDate(layer) !== date) return null;  // the date changed while loading
        const gj = L.geoJSON(data, {
          pane,
          interactive: (KIND_STYLE[layer.kind] || {}).interactive !== false || !!layer.popup_fields,
          className: `vw-path vw-${layer.kind || "vector"}`,
          style: styleFor(layer),
          pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign(
            { radius: layer.kind === "villages" ? 9 : 6, pane, className: `vw-path vw-${layer.kind || "vector"}` }, styleFor(layer)(f))),
          onEachFeature: (f, lyr) => {
            const name = layer.label_by && f.properties ? f.properties[layer.label_by] : null;
            if (name != null && name !== "") {
              lyr.bindTooltip(esc(name), { permanent: true, direction: "right", offset: [8, 0], className: "vw-label" });
            }
            if ((KIND_STYLE[layer.kind] || {}).interactive === false && !layer.popup_fields) return;
            lyr.bindPopup(() => popupHtml(f.properties || {}, layer, entry.period ? entry.period.join(" → ") : date),
              { maxWidth: 360 });
          },
        });
        gj.vwDate = date;
        group.addLayer(gj);
        return gj;
      }).catch((err) => { console.error(err); this._notice(err.message); return null; });
      this._pending.push(p);
      return p;
    }

    _layerDate(layer) { return layer.dates ? this.date : null; }

    _notice(text) {
      let box = this.element.querySelector(".vw-notice");
      if (!box) { box = L.DomUtil.create("div", "vw-notice", this.element); }
      box.textContent = text;
    }

    /** Show every per-date layer's entry for ``date`` (layers without one for it are empty). */
    setDate(date) {
      this.date = date;
      this._pending = [];
      for (const layer of this.desc.layers || []) {
        if (!layer.dates) continue;
        const g = this.groups[layer.id];
        g.clearLayers();
        const entry = layer.dates[date];
        if (entry) this._fill(layer, g, entry, date);
      }
      if (this.dateControl && this.dateControl._select) this.dateControl._select.value = date;
      this.ready = Promise.all(this._pending).then(() => { this._updateLegend(); this.element.dataset.vwReady = date || "static"; return this; });
      this.element.dataset.vwReady = "";
      this._updateLegend();
      return this.ready;
    }

    _updateLegend() {
      const parts = [];
      for (const layer of this.desc.layers || []) {
        const g = this.groups[layer.id];
        if (!this.map.hasLayer(g)) continue;
        const entry = layer.dates ? layer.dates[this.date] : layer;
        if (layer.dates && !entry) continue;
        const title = bilingual(layer.label || layer.id) + (entry && entry.period ? ` <small>${esc(entry.period.join(" → "))}</small>` : "");
        const items = [];
        if (layer.breaks) {
          for (const b of layer.breaks) items.push(`<li>${swatch({ color: b.color, fillColor: b.color })}${bilingual(b.label)}</li>`);
        } else if (layer.legend) {
          for (const it of layer.legend) items.push(`<li>${swatch({ color: it.color, fillColor: it.color })}${bilingual(it.label)}</li>`);
        } else if (layer.ramp) {
          const r = layer.ramp;
          items.push(`<li><i class="vw-ramp" style="background:linear-gradient(to right,${r.colors.map(esc).join(",")})"></i>` +
            `<span class="vw-ramp-ends">${esc(r.min)} … ${esc(r.max)}</span></li>`);
        } else if (layer.type === "geojson" && (layer.colour_by || layer.kind === "suspects")) {
          const present = new Set();
          g.eachLayer((gj) => gj.eachLayer && gj.eachLayer((f) => {
            const v = f.feature && f.feature.properties[layer.colour_by || "status"];
            if (v != null) present.add(v);
          }));
          for (const v of present) {
            const c = colourFor(layer, { [layer.colour_by || "status"]: v }) || (KIND_STYLE[layer.kind] || {}).color;
            items.push(`<li data-value="${esc(v)}">${swatch({ color: c, fillColor: c })}${statusLabel(v)}</li>`);
          }
        } else if (layer.type === "geojson") {
          items.push(`<li>${swatch(styleFor(layer)(null))}</li>`);
        }
        parts.push(`<div class="vw-legend-layer" data-layer="${esc(layer.id)}"><div class="vw-legend-title">${title}</div><ul>${items.join("")}</ul></div>`);
      }
      this.legend.update(parts.length ? parts.join("") : bilingual(["无图层", "No layer shown"]));
    }
  }

  function create(element, desc) { return new VwMap(element, desc); }

  /** The basemap a served page is offered (``data-vw-basemap``: a same-origin JSON file that
   *  `villagewatch serve --basemap` answers; absent, unreadable or opened from disk: none). */
  function offeredBasemap(el, desc) {
    const url = el.dataset.vwBasemap;
    if (!url || desc.basemap || global.location.protocol === "file:") return Promise.resolve(null);
    let href;
    try { href = localUrl(url); } catch (err) { console.error(err); return Promise.resolve(null); }
    return fetch(href, { cache: "no-store" }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  }

  function autoInit() {
    for (const el of document.querySelectorAll("[data-vw-map]")) {
      if (el.vwMap || el.dataset.vwStarting) continue;
      const script = document.getElementById(el.dataset.vwMap || "vw-layers");
      if (!script) { console.error(`villagewatch-map: no <script id="${el.dataset.vwMap}"> layer description`); continue; }
      let desc;
      try {
        desc = JSON.parse(script.textContent);
      } catch (err) {
        console.error(err);
        el.textContent = `地图无法显示 The map cannot be shown: ${err.message}`;
        continue;
      }
      el.dataset.vwStarting = "1";
      offeredBasemap(el, desc).then((basemap) => {
        try {
          create(el, basemap ? Object.assign({}, desc, { basemap }) : desc);
        } catch (err) {
          console.error(err);
          el.textContent = `地图无法显示 The map cannot be shown: ${err.message}`;
        }
      });
    }
  }

  global.VillagewatchMap = { create, autoInit, popupHtml, SCHEMA, STATUS };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoInit);
  else autoInit();
})(window);
