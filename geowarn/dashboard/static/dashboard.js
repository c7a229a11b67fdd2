// geowarn dashboard maps: Leaflet over the dashboard's own GeoJSON and tile routes (no remote file).
"use strict";

(function () {
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  const config = JSON.parse(el.dataset.map || "{}");
  const map = L.map(el, { maxZoom: 26, zoomSnap: 0.5 });
  const overlays = {};
  const label = { review: "for review: too wide, not confirmed" };
  let pending = 0;
  let control = null;

  function done(name, count) {
    el.dataset[name] = String(count);
    pending -= 1;
    if (pending === 0) { el.dataset.ready = "true"; }
  }

  function row(table, label, value) {
    if (value === null || value === undefined || value === "") { return; }
    const tr = table.insertRow();
    tr.insertCell().textContent = label;
    tr.insertCell().textContent = String(value);
  }

  function pm(value, unc, digits, scale) {
    if (value === null || value === undefined) { return null; }
    const s = scale || 1;
    const text = (value * s).toFixed(digits);
    return unc === null || unc === undefined ? text : text + " ± " + (unc * s).toFixed(digits);
  }

  function crackPopup(p) {
    const box = document.createElement("div");
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = "Crack #" + p.crack_id;
    box.appendChild(link);
    const table = document.createElement("table");
    row(table, "change", p.change);
    row(table, "length (m)", pm(p.length_m, p.length_unc_m, 2));
    row(table, "mean width (mm)", pm(p.mean_width_m, p.width_unc_m, 1, 1000));
    row(table, "max width (mm)", pm(p.max_width_m, p.width_unc_m, 1, 1000));
    row(table, "extension (m)", pm(p.extension_m, p.extension_unc_m, 3));
    row(table, "extension rate (mm/day)", pm(p.extension_rate_mm_day, p.extension_rate_unc_mm_day, 1));
    row(table, "opening rate (mm/day)", pm(p.opening_rate_mm_day, p.opening_rate_unc_mm_day, 2));
    row(table, "first seen", p.first_seen);
    row(table, "last seen", p.last_seen);
    box.appendChild(table);
    return box;
  }

  function sitePopup(p) {
    const box = document.createElement("div");
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name + " (" + p.site + ")";
    box.appendChild(link);
    const table = document.createElement("table");
    row(table, "level", p.level.toUpperCase());
    row(table, "last survey", (p.last_survey || "none") + (p.overdue ? " — OVERDUE" : ""));
    row(table, "open alerts", p.open_alerts);
    box.appendChild(table);
    return box;
  }

  function reviewPopup(p) {
    const box = document.createElement("div");
    const title = document.createElement("b");
    title.textContent = "For review, not a crack: " + p.review;
    box.appendChild(title);
    const table = document.createElement("table");
    row(table, "length (m)", pm(p.length_m, null, 2));
    row(table, "mean width (mm)", pm(p.mean_width_m, null, 0, 1000));
    row(table, "verifier score", pm(p.verify_score, null, 2));
    box.appendChild(table);
    return box;
  }

  // Adds the layer to the map unless ``hidden``: a hidden one is only in the layer control.
  function load(url, name, makeLayer, fit, hidden) {
    pending += 1;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); })
      .then(function (data) {
        const layer = makeLayer(data);
        const title = label[name] || name;
        if (!hidden) { layer.addTo(map); }
        overlays[title] = layer;
        if (control) { control.addOverlay(layer, title); }
        if (fit && data.features.length && !config.bounds) { map.fitBounds(layer.getBounds(), { maxZoom: 18 }); }
        done(name, data.features.length);
      })
      .catch(function (err) { el.dataset.error = String(err); done(name, -1); });
  }

  if (config.bounds) { map.fitBounds(config.bounds); } else { map.setView([20, 0], 2); }
  if (config.ortho) {
    const ortho = L.tileLayer(config.ortho, { maxZoom: 26, tileSize: 256, attribution: "survey orthomosaic" });
    ortho.on("tileload", function () { el.dataset.tilesLoaded = String(Number(el.dataset.tilesLoaded || 0) + 1); });
    ortho.addTo(map);
    overlays["orthomosaic"] = ortho;
  }
  if (config.probability) {
    const prob = L.tileLayer(config.probability, { maxZoom: 26, opacity: 0.8 });
    overlays["crack probability"] = prob;
    if (config.show_probability) { prob.addTo(map); }
  }
  if (config.sites) {
    load(config.sites, "sites", function (data) {
      return L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 10, color: "#000", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.9 });
        },
        onEachFeature: function (f, layer) { layer.bindPopup(sitePopup(f.properties)); },
      });
    }, true);
  }
  if (config.compare) {
    load(config.compare, "compare", function (data) {
      return L.geoJSON(data, { style: function () { return { color: "#424242", weight: 2, dashArray: "4 4", opacity: 0.9 }; } });
    }, false);
  }
  if (config.review) {
    load(config.review, "review", function (data) {
      return L.geoJSON(data, {
        style: function (f) { return { color: f.properties.colour, weight: 2, dashArray: "3 5", fillOpacity: 0.15 }; },
        onEachFeature: function (f, layer) { layer.bindPopup(reviewPopup(f.properties)); },
      });
    }, false, true);
  }
  if (config.cracks) {
    load(config.cracks, "cracks", function (data) {
      return L.geoJSON(data, {
        style: function (f) { return { color: f.properties.colour, weight: 4, opacity: 0.95 }; },
        onEachFeature: function (f, layer) { layer.bindPopup(crackPopup(f.properties)); },
      });
    }, true);
  }
  if (pending === 0) { el.dataset.ready = "true"; }
  L.control.scale({ imperial: false }).addTo(map);
  if (config.ortho) {
    control = L.control.layers(null, overlays).addTo(map);
  }
})();
