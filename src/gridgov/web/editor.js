/*
 * gridgov 网格编辑器 — browser editor for the compound grids of one community.
 *
 * Plain script (no build step), Leaflet 1.9 + Geoman free 2.20 from /static/vendor/.
 * Structure:
 *   1. constants and Chinese texts (incl. the Geoman translation overrides)
 *   2. small helpers (DOM, HTTP, geometry)
 *   3. state: one record per grid ("rec"), existing grids by code, unsaved drafts in a list
 *   4. map and layers (labels, styles), Geoman tools and their events
 *   4b. topological editing: shared vertices move together, neighbours' edges are noded first
 *   4c. split along a line, delete (retire) a grid giving its area to a neighbour
 *   5. panel (list, selection, status)
 *   6. live validation: a dry run of the save (POST /api/grids/batch, dry_run) gives the findings and how many
 *      households and residents change grid; without changes, POST /api/grids/validate lists what is there
 *   7. saving: one POST /api/grids/batch for every change, all or nothing; reverting
 *   8. start-up; window.gridEditor exposes the map and state for tests
 */
(function () {
  'use strict';

  // ------------------------------------------------------------------ 1. constants and texts

  var VALIDATE_DELAY_MS = 300;
  var SNAP_DISTANCE_PX = 20;
  // Two vertices closer than this (degrees, ~1 mm) are one shared vertex; a vertex within the topology tolerance
  // (metres, from the server's settings) of a neighbour's edge is a node of that edge too.
  var SAME_VERTEX_DEG = 1e-8;
  var TOLERANCE_M = (function () {
    var meta = document.querySelector('meta[name="gg-tolerance-m"]');
    var v = meta ? parseFloat(meta.getAttribute('content')) : NaN;
    return isFinite(v) && v > 0 ? Math.min(v, 5) : 0.5;
  })();

  // The vocabulary (level names, child levels, finding rules) comes from the server: GET api/meta.
  var LEVEL_ZH = {};
  var CHILD_LEVEL = {};
  var RULE_ZH = {};

  // Geoman ships an incomplete 'zh' table (it falls back to English for the rest): complete it, and
  // name the tools after what they do to grids.
  var PM_ZH = {
    tooltips: {
      placeMarker: '单击放置标记',
      placeMarkerTouch: '点击地图放置标记',
      firstVertex: '单击放置第一个顶点',
      continueLine: '单击继续绘制',
      finishLine: '单击任一已有顶点完成',
      finishPoly: '单击第一个顶点完成绘制',
      finishRect: '单击完成',
      startCircle: '单击放置圆心',
      finishCircle: '单击完成圆形',
      placeCircleMarker: '单击放置圆形标记',
      placeText: '单击放置文字',
      selectFirstLayerFor: '请选择第一个图层（{action}）',
      selectSecondLayerFor: '请选择第二个图层（{action}）'
    },
    actions: {
      finish: '完成',
      cancel: '取消',
      removeLastVertex: '撤销上一个顶点'
    },
    buttonTitles: {
      drawMarkerButton: '绘制标记',
      drawPolyButton: '绘制新网格',
      drawLineButton: '绘制折线',
      drawCircleButton: '绘制圆形',
      drawRectButton: '绘制矩形',
      editButton: '编辑顶点',
      dragButton: '拖动网格',
      cutButton: '剪切（拆分）网格',
      deleteButton: '删除网格（已有网格可并入相邻网格）',
      drawCircleMarkerButton: '绘制圆形标记',
      snappingButton: '吸附到相邻网格的边和顶点',
      pinningButton: '共享顶点一起移动',
      rotateButton: '旋转网格',
      drawTextButton: '添加文字',
      scaleButton: '缩放网格',
      autoTracingButton: '沿边自动描绘',
      snapGuidesButton: '显示吸附参考线',
      unionButton: '合并网格',
      differenceButton: '相减网格'
    },
    measurements: {
      totalLength: '总长度',
      segmentLength: '线段长度',
      area: '面积',
      radius: '半径',
      perimeter: '周长',
      height: '高',
      width: '宽',
      coordinates: '位置',
      coordinatesMarker: '标记位置'
    }
  };

  var STYLE = {
    parent: { color: '#4b5563', weight: 2.5, dashArray: '8 6', fill: false },
    grid: { color: '#1d4f91', weight: 2, opacity: 0.9, fillColor: '#5b8fd6', fillOpacity: 0.12, dashArray: null },
    dirty: { color: '#b7791f', fillColor: '#f6c350', fillOpacity: 0.2 },
    draft: { color: '#2e7d32', fillColor: '#66bb6a', fillOpacity: 0.22 },
    problem: { color: '#d32f2f', opacity: 1, dashArray: '7 4' },
    conflict: { color: '#b71c1c', opacity: 1, dashArray: null },
    selectedWeight: 4,
    problemWeight: 3.5,
    problemLine: { color: '#d32f2f', weight: 5, opacity: 0.9, fill: false, className: 'gg-problem-line' },
    problemArea: { color: '#d32f2f', weight: 1.5, opacity: 1, fill: true, fillOpacity: 1, className: 'gg-problem-area' }
  };

  // ------------------------------------------------------------------ 2. helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function fmtNumber(v, digits) {
    return Number(v).toLocaleString('zh-CN', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /** The CSRF token the server put in the page for this login session. */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  /** fetch wrapper, as the logged-in user (session cookie + CSRF header): resolves to {ok, status, data};
   *  a network failure gives status 0. */
  function api(method, url, body) {
    var headers = { Accept: 'application/json', 'x-csrftoken': csrfToken() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(url, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = { detail: text }; }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      return { ok: false, status: 0, data: null };
    });
  }

  /** A readable Chinese reason from an error response. */
  function reason(res) {
    if (res.status === 0) return '无法连接服务器，请检查网络后重试';
    var d = res.data && res.data.detail;
    if (typeof d === 'string' && d) return d;
    if (Array.isArray(d)) {
      var fields = d.map(function (x) { return (x.loc || []).filter(function (p) { return p !== 'body'; }).join('.'); })
        .filter(Boolean);
      return '提交的数据不符合要求' + (fields.length ? '（字段：' + fields.join('、') + '）' : '');
    }
    return '服务器返回错误（HTTP ' + res.status + '）';
  }

  /** GeoJSON Polygon/MultiPolygon → Leaflet latlngs (exact, no rounding). */
  function geometryLatLngs(geometry) {
    if (geometry.type === 'Polygon') return L.GeoJSON.coordsToLatLngs(geometry.coordinates, 1);
    if (geometry.type === 'MultiPolygon') return L.GeoJSON.coordsToLatLngs(geometry.coordinates, 2);
    throw new Error('unsupported geometry ' + geometry.type);
  }

  /** The layer's geometry as GeoJSON, full precision (Leaflet rounds to 6 digits by default). */
  function layerGeometry(layer) {
    return layer.toGeoJSON(false).geometry;
  }

  // ------------------------------------------------------------------ 3. state

  var params = new URLSearchParams(window.location.search);
  var state = {
    parentCode: (params.get('parent') || '').trim() || null,
    parent: null, // the parent grid record from the API
    childLevel: 'compound',
    grids: new Map(), // code -> rec (saved grids)
    drafts: [], // recs not saved yet, in drawing order
    draftSeq: 0,
    selected: null,
    findings: [],
    saving: false,
    saveArmed: false,
    topological: false, // on once Geoman is set up: shared vertices move together
    moves: null, // the last dry run's households and residents that change grid
    movesByCode: {},
    splitting: null, // the rec a split line is being drawn for
    deleting: null // the rec the delete form is open for
  };
  /*
   * rec = {key, code|null, isDraft, draftNo, name, version, layer, orig: {geometry, name},
   *        geomDirty, editSeq (counts geometry edits), conflict (message of the last failed save),
   *        codeInput (drafts), retired (null, or {giveTo: code|null} for a grid deleted in this session)}
   */

  function allRecs() {
    var list = Array.from(state.grids.values()).sort(function (a, b) { return a.code < b.code ? -1 : 1; });
    return list.concat(state.drafts);
  }

  /** The grids on the map: saved ones not deleted in this session, and the drafts. */
  function shownRecs() { return allRecs().filter(function (r) { return !r.retired; }); }
  function nameDirty(rec) { return !rec.isDraft && rec.name !== rec.orig.name; }
  function isChanged(rec) { return rec.isDraft || !!rec.retired || rec.geomDirty || nameDirty(rec); }
  function hasChanges() { return allRecs().some(isChanged); }
  function draftLabel(rec) { return rec.name ? rec.name : '新网格' + rec.draftNo; }
  function recTitle(rec) {
    return rec.isDraft ? draftLabel(rec) + '（未保存）' : rec.name + '（' + rec.code + '）';
  }

  // ------------------------------------------------------------------ 4. map, layers, Geoman

  var map = L.map('gg-map', {
    zoomControl: false,
    attributionControl: false, // no basemap, and the attribution would be an English link
    doubleClickZoom: false,
    minZoom: 3,
    maxZoom: 22,
    zoomSnap: 0.25
  });
  L.control.zoom({ position: 'topleft', zoomInTitle: '放大', zoomOutTitle: '缩小' }).addTo(map);
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
  // No initial view: the first view is fitted to the data (an early throw-away view left parts of the SVG
  // unpainted in software-rendered Chromium).

  map.createPane('ggParent').style.zIndex = 350;
  var problemPane = map.createPane('ggProblems');
  problemPane.style.zIndex = 450;
  problemPane.style.pointerEvents = 'none';
  var findingPane = map.createPane('ggFindingMarkers');
  findingPane.style.zIndex = 640;
  findingPane.style.pointerEvents = 'none';

  var parentLayer = null;
  var findingLayer = L.layerGroup([], { pmIgnore: true }).addTo(map);
  var problemKeys = new Set();

  function styleFor(rec) {
    var s = L.extend({}, STYLE.grid);
    if (rec.isDraft) L.extend(s, STYLE.draft);
    else if (isChanged(rec)) L.extend(s, STYLE.dirty);
    if (problemKeys.has(rec.key)) { L.extend(s, STYLE.problem); s.weight = STYLE.problemWeight; }
    if (rec.conflict) { L.extend(s, STYLE.conflict); s.weight = STYLE.problemWeight; }
    if (state.selected === rec) s.weight = Math.max(s.weight, STYLE.selectedWeight);
    return s;
  }

  function applyStyle(rec) { if (rec.layer) rec.layer.setStyle(styleFor(rec)); }
  function restyleAll() { allRecs().forEach(applyStyle); }

  function labelHtml(rec) {
    if (rec.isDraft) {
      return '<div>' + esc(draftLabel(rec)) + '</div><div class="gg-l-code">未保存</div>';
    }
    return '<div>' + esc(rec.name) + '</div><div class="gg-l-code">' + esc(rec.code) + '</div>';
  }

  function refreshLabel(rec) {
    var layer = rec.layer;
    if (!layer) return;
    var cls = 'gg-label' + (rec.isDraft ? ' gg-l-draft' : '');
    var tip = layer.getTooltip();
    if (!tip || tip.options.className !== cls) {
      if (tip) layer.unbindTooltip();
      layer.bindTooltip(labelHtml(rec), { permanent: true, direction: 'center', className: cls, interactive: false });
    } else {
      layer.setTooltipContent(labelHtml(rec));
    }
    if (layer._map && layer._map._loaded) {
      try {
        layer.closeTooltip();
        layer.openTooltip(); // re-centre on the current shape
      } catch (err) { /* an empty shape has no centre */ }
    }
  }

  function newGridLayer(geometry) {
    return L.polygon(geometryLatLngs(geometry), L.extend({}, STYLE.grid));
  }

  /** Bind a record to a (new) layer: events, options, label, style. */
  function attach(rec, layer) {
    rec.layer = layer;
    layer._ggRec = rec;
    if (!layer._ggBound) {
      layer._ggBound = true;
      layer.on('pm:edit', onLayerEdit);
      layer.on('click', onLayerClick);
      layer.on('pm:markerdragstart', onMarkerDragStart);
      layer.on('pm:markerdrag', onMarkerDrag);
      layer.on('pm:markerdragend', onMarkerDragEnd);
      layer.on('pm:vertexremoved', onVertexRemoved);
    }
    if (!layer._map) layer.addTo(map);

    refreshLabel(rec);
    applyStyle(rec);
  }

  function newDraft(layer) {
    state.draftSeq += 1;
    var rec = {
      key: 'draft:' + state.draftSeq,
      code: null,
      isDraft: true,
      draftNo: state.draftSeq,
      name: '',
      codeInput: '',
      version: null,
      layer: null,
      orig: null,
      geomDirty: true,
      editSeq: 0,
      conflict: null
    };
    state.drafts.push(rec);
    attach(rec, layer);
    return rec;
  }

  function dropDraft(rec) {
    state.drafts = state.drafts.filter(function (d) { return d !== rec; });
    if (rec.layer && rec.layer._map) map.removeLayer(rec.layer);
    if (state.selected === rec) state.selected = null;
  }

  function anyModeActive() {
    var pm = map.pm;
    return pm.globalDrawModeEnabled() || pm.globalCutModeEnabled() || pm.globalRemovalModeEnabled() ||
      pm.globalDragModeEnabled();
  }

  function onLayerClick(e) {
    var rec = e.target._ggRec;
    if (!rec || rec.layer !== e.target || anyModeActive()) return;
    select(rec);
  }

  function onLayerEdit(e) {
    var rec = e.target._ggRec;
    if (!rec || rec.layer !== e.target) return; // a layer Geoman replaced (cut): handled in onCut
    if (rec.ignoreNextEdit) { rec.ignoreNextEdit = false; return; }
    changed(rec);
  }

  /** After any geometry change of rec: mark, relabel, revalidate. */
  function changed(rec) {
    rec.geomDirty = true;
    rec.editSeq = (rec.editSeq || 0) + 1;
    rec.conflict = null;
    refreshLabel(rec);
    applyStyle(rec);
    renderList();
    scheduleValidate();
  }

  function onCreate(e) {
    if (e.shape === 'Line' && state.splitting) {
      var target = state.splitting;
      state.splitting = null;
      map.removeLayer(e.layer);
      splitWith(target, layerGeometry(e.layer));
      return;
    }
    if (!(e.layer instanceof L.Polygon)) { map.removeLayer(e.layer); return; }
    var rec = newDraft(e.layer);
    nodeAll();
    select(rec);
    renderList();
    scheduleValidate();
    var name = $('gg-name');
    if (name) name.focus();
  }

  function onCut(e) {
    var original = e.originalLayer;
    var rec = original && original._ggRec;
    if (!rec) return;
    var layer = e.layer;
    if (layer instanceof L.LayerGroup) {
      var parts = layer.getLayers();
      map.removeLayer(layer);
      if (!parts.length) {
        if (rec.isDraft) {
          dropDraft(rec);
          renderList();
          renderSelection();
          scheduleValidate();
        } else {
          // An existing grid cut away completely: retiring grids is not done here; put it back.
          original._pmTempLayer = false;
          rec.ignoreNextEdit = true;
          attach(rec, original);
          setStatus('warn', '剪切会使网格“' + rec.name + '”不剩任何面积：已有网格不能用剪切删除，已恢复原状。');
        }
        return;
      }
      layer = L.polygon(parts.map(function (p) { return p.getLatLngs(); }), L.extend({}, original.options));
      layer.addTo(map);
    }
    attach(rec, layer);
    changed(rec);
    nodeAll();
  }

  /** Geoman's removal tool: a draft goes at once; a saved grid is put back and the delete form opens for it. */
  function onRemove(e) {
    var layer = e.layer;
    var rec = layer && layer._ggRec;
    if (!rec || rec.layer !== layer) return;
    if (rec.isDraft) {
      dropDraft(rec);
      renderList();
      renderSelection();
      scheduleValidate();
    } else {
      attach(rec, layer); // never drop a saved grid silently: ask where its area goes
      map.pm.disableGlobalRemovalMode();
      select(rec);
      openDelete();
    }
  }

  function initGeoman() {
    map.pm.setLang('zh', PM_ZH, 'zh');
    map.pm.setGlobalOptions({
      snappable: true,
      snapDistance: SNAP_DISTANCE_PX,
      allowSelfIntersection: false,
      continueDrawing: false,
      exitModeOnEscape: true,
      finishOnEnter: true,
      pathOptions: L.extend({}, STYLE.grid, STYLE.draft),
      templineStyle: { color: '#2e7d32' },
      hintlineStyle: { color: '#2e7d32', dashArray: [5, 5] }
    });
    map.pm.addControls({
      position: 'topleft',
      drawMarker: false,
      drawCircleMarker: false,
      drawPolyline: false,
      drawRectangle: false,
      drawCircle: false,
      drawText: false,
      drawPolygon: true,
      editMode: true,
      dragMode: true,
      cutPolygon: true,
      removalMode: true,
      rotateMode: false
    });
    map.on('pm:create', onCreate);
    map.on('pm:cut', onCut);
    map.on('pm:remove', onRemove);
    map.on('pm:drawend', function () {
      if (state.splitting && !map.pm.globalDrawModeEnabled()) {
        state.splitting = null; // cancelled (Esc) before a line was finished
        setStatus('info', '已取消分割。');
      }
    });
    state.topological = true;
    nodeAll();
  }

  // ------------------------------------------------------------------ 4b. topological editing
  //
  // Grids are a coverage: neighbours share their boundary. Two rules keep it shared while editing, as QGIS's
  // topological editing does: (1) every vertex lying on a neighbour's edge (within the tolerance) is a vertex of
  // that edge too ("noding", done when grids are loaded, drawn or cut); (2) dragging a vertex drags every grid's
  // vertex at the same place, and a vertex added on a shared edge is added to the neighbour as well. A vertex
  // removed from a shared stretch is removed from the neighbour too.

  var metric = { lat0: 34, kx: 92000, ky: 110950 };

  function setMetric(latlng) {
    metric.lat0 = latlng.lat;
    metric.kx = 111320 * Math.cos(latlng.lat * Math.PI / 180);
    metric.ky = 110574;
  }

  function xy(ll) { return { x: ll.lng * metric.kx, y: ll.lat * metric.ky }; }

  function sameVertex(a, b) {
    return Math.abs(a.lat - b.lat) < SAME_VERTEX_DEG && Math.abs(a.lng - b.lng) < SAME_VERTEX_DEG;
  }

  /** Every ring (array of L.LatLng, the layer's own objects) of a polygon layer. */
  function ringsOf(layer) {
    var out = [];
    (function walk(a) {
      if (!a.length) return;
      if (a[0] instanceof L.LatLng) { out.push(a); return; }
      a.forEach(walk);
    })(layer.getLatLngs());
    return out;
  }

  /** Where p lies on segment a–b: {t in (0, 1), d metres from it}, or null beyond the ends. */
  function onSegment(p, a, b) {
    var P = xy(p), A = xy(a), B = xy(b);
    var dx = B.x - A.x, dy = B.y - A.y, len2 = dx * dx + dy * dy;
    if (len2 === 0) return null;
    var t = ((P.x - A.x) * dx + (P.y - A.y) * dy) / len2;
    if (t <= 0 || t >= 1) return null;
    var qx = A.x + t * dx - P.x, qy = A.y + t * dy - P.y;
    return { t: t, d: Math.sqrt(qx * qx + qy * qy) };
  }

  function redraw(layer) { layer.setLatLngs(layer.getLatLngs()); }

  /** Rebuild Geoman's vertex handles of a layer in edit mode after its vertices changed under it. */
  function refreshHandles(layer) {
    if (layer.pm && layer.pm.enabled()) {
      layer.pm.disable();
      layer.pm.enable();
    }
  }

  /** Insert into layer's rings each vertex of ``points`` that lies on one of its edges (within the tolerance). */
  function nodeLayer(layer, points) {
    var changedAny = false;
    var margin = TOLERANCE_M / metric.ky * 2;
    var bounds = layer.getBounds().pad(0);
    var near = points.filter(function (p) {
      return p.lat >= bounds.getSouth() - margin && p.lat <= bounds.getNorth() + margin &&
        p.lng >= bounds.getWest() - margin * 1.5 && p.lng <= bounds.getEast() + margin * 1.5;
    });
    if (!near.length) return false;
    ringsOf(layer).forEach(function (ring) {
      var out = [];
      for (var i = 0; i < ring.length; i++) {
        var a = ring[i], b = ring[(i + 1) % ring.length];
        out.push(a);
        var hits = [];
        near.forEach(function (p) {
          if (sameVertex(p, a) || sameVertex(p, b)) return;
          var on = onSegment(p, a, b);
          if (on && on.d <= TOLERANCE_M) hits.push({ t: on.t, p: p });
        });
        hits.sort(function (u, v) { return u.t - v.t; });
        hits.forEach(function (h) {
          var last = out[out.length - 1];
          if (!sameVertex(last, h.p)) out.push(L.latLng(h.p.lat, h.p.lng));
        });
      }
      if (out.length !== ring.length) {
        ring.splice.apply(ring, [0, ring.length].concat(out));
        changedAny = true;
      }
    });
    if (changedAny) {
      redraw(layer);
      refreshHandles(layer);
    }
    return changedAny;
  }

  /** Node every shown grid against its neighbours' vertices (shape kept: the inserted vertices lie on the edge). */
  function nodeAll() {
    var recs = shownRecs().filter(function (r) { return r.layer && r.layer._map; });
    var all = [];
    recs.forEach(function (r) {
      ringsOf(r.layer).forEach(function (ring) { ring.forEach(function (ll) { all.push({ ll: ll, rec: r }); }); });
    });
    recs.forEach(function (r) {
      var others = all.filter(function (v) { return v.rec !== r; }).map(function (v) { return v.ll; });
      nodeLayer(r.layer, others);
    });
  }

  /** Other grids' vertices at ``ll``; a neighbour whose edge passes through ``ll`` gets a vertex there first. */
  function partnersAt(rec, ll) {
    var found = [];
    shownRecs().forEach(function (other) {
      if (other === rec || !other.layer || !other.layer._map) return;
      var mine = [];
      ringsOf(other.layer).forEach(function (ring) {
        ring.forEach(function (v) { if (sameVertex(v, ll)) mine.push(v); });
      });
      if (!mine.length && nodeLayer(other.layer, [ll])) {
        ringsOf(other.layer).forEach(function (ring) {
          ring.forEach(function (v) { if (sameVertex(v, ll)) mine.push(v); });
        });
      }
      mine.forEach(function (v) { found.push({ rec: other, ll: v }); });
    });
    return found;
  }

  function uniqueRecs(partners) {
    var out = [];
    partners.forEach(function (p) { if (out.indexOf(p.rec) < 0) out.push(p.rec); });
    return out;
  }

  var vertexDrag = null; // {rec, partners: [{rec, ll}], start: LatLng}

  function onMarkerDragStart(e) {
    var rec = e.layer && e.layer._ggRec;
    var marker = e.markerEvent && e.markerEvent.target;
    if (!rec || rec.layer !== e.layer || !marker || !state.topological) { vertexDrag = null; return; }
    var start = L.latLng(marker.getLatLng().lat, marker.getLatLng().lng);
    var partners = partnersAt(rec, start);
    // the moving neighbours are no snapping target for this drag (they follow the vertex)
    uniqueRecs(partners).forEach(function (r) { r.layer.options.snapIgnore = true; });
    vertexDrag = { rec: rec, partners: partners, start: start };
  }

  function movePartners(ll) {
    vertexDrag.partners.forEach(function (p) { p.ll.lat = ll.lat; p.ll.lng = ll.lng; });
    uniqueRecs(vertexDrag.partners).forEach(function (r) { redraw(r.layer); });
  }

  function onMarkerDrag(e) {
    if (!vertexDrag || e.layer !== vertexDrag.rec.layer) return;
    var marker = e.markerEvent && e.markerEvent.target;
    if (marker) movePartners(marker.getLatLng());
  }

  function onMarkerDragEnd(e) {
    if (!vertexDrag || e.layer !== vertexDrag.rec.layer) return;
    var drag = vertexDrag;
    vertexDrag = null;
    var marker = e.markerEvent && e.markerEvent.target;
    var reset = e.intersectionReset;
    var end = reset ? drag.start : (marker ? marker.getLatLng() : drag.start);
    drag.partners.forEach(function (p) { p.ll.lat = end.lat; p.ll.lng = end.lng; });
    uniqueRecs(drag.partners).forEach(function (r) {
      delete r.layer.options.snapIgnore;
      redraw(r.layer);
      refreshHandles(r.layer);
      if (!reset) changed(r);
    });
  }

  /** A vertex removed from a stretch two grids share: remove it from the neighbour too (both its edges shared). */
  function onVertexRemoved(e) {
    var rec = e.layer && e.layer._ggRec;
    if (!rec || rec.layer !== e.layer || !state.topological || !e.marker) return;
    var gone = e.marker.getLatLng();
    var mine = [];
    ringsOf(rec.layer).forEach(function (ring) { mine = mine.concat(ring); });
    function shared(v) { return mine.some(function (m) { return sameVertex(m, v); }); }
    shownRecs().forEach(function (other) {
      if (other === rec || !other.layer || !other.layer._map) return;
      var hit = false;
      ringsOf(other.layer).forEach(function (ring) {
        if (ring.length <= 3) return;
        for (var i = 0; i < ring.length; i++) {
          var prev = ring[(i + ring.length - 1) % ring.length], next = ring[(i + 1) % ring.length];
          if (sameVertex(ring[i], gone) && shared(prev) && shared(next)) { ring.splice(i, 1); hit = true; return; }
        }
      });
      if (hit) {
        redraw(other.layer);
        refreshHandles(other.layer);
        changed(other);
      }
    });
  }

  // ------------------------------------------------------------------ 4c. split, delete

  /** Cut the selected grid along a line the user draws (from outside, across, to outside). */
  function startSplit() {
    var rec = state.selected;
    if (!rec || rec.retired) return;
    disableModes();
    state.splitting = rec;
    map.pm.enableDraw('Line', { snappable: true, snapDistance: SNAP_DISTANCE_PX, finishOn: 'dblclick' });
    setStatus('info', '请画分割线：从网格“' + recLabel(rec) + '”外开始，依次单击穿过网格，在网格外双击结束（Esc 取消）。');
  }

  function recLabel(rec) { return rec.isDraft ? draftLabel(rec) : rec.name; }

  /** The server cuts (so the outer boundary stays exact); the largest piece stays this grid, the others are new. */
  function splitWith(rec, line) {
    return api('POST', 'api/grids/shapes/split', { geometry: layerGeometry(rec.layer), line: line }).then(function (res) {
      if (!res.ok) { setStatus('error', '分割失败：' + reason(res)); return null; }
      var pieces = res.data.geometries;
      replaceShape(rec, pieces[0]);
      var made = pieces.slice(1).map(function (g, i) {
        var d = newDraft(newGridLayer(g));
        d.name = recLabel(rec) + '（分' + (i + 2) + '）';
        refreshLabel(d);
        return d;
      });
      nodeAll();
      renderList();
      if (made.length) select(made[0]);
      setStatus('ok', '已分割为 ' + pieces.length + ' 块：较大的一块仍为“' + recLabel(rec) + '”，' +
        '新网格请在右侧填写名称；保存后生效。');
      scheduleValidate();
      return made;
    });
  }

  function replaceShape(rec, geometry) {
    if (rec.layer && rec.layer._map) map.removeLayer(rec.layer);
    attach(rec, newGridLayer(geometry));
    changed(rec);
  }

  /** Saved grids sharing part of their boundary with rec (at least two shared vertices after noding). */
  function neighboursOf(rec) {
    var mine = [];
    ringsOf(rec.layer).forEach(function (ring) { mine = mine.concat(ring); });
    return shownRecs().filter(function (other) {
      if (other === rec || other.isDraft || !other.layer) return false;
      var n = 0;
      ringsOf(other.layer).forEach(function (ring) {
        ring.forEach(function (v) { if (mine.some(function (m) { return sameVertex(m, v); })) n += 1; });
      });
      return n >= 2;
    }).sort(function (a, b) { return a.code < b.code ? -1 : 1; });
  }

  function openDelete() {
    var rec = state.selected;
    if (!rec || rec.retired) return;
    if (rec.isDraft) {
      dropDraft(rec);
      renderList();
      renderSelection();
      setStatus('info', '已删除未保存的新网格。');
      scheduleValidate();
      return;
    }
    nodeAll();
    var sel = $('gg-del-to');
    sel.textContent = '';
    neighboursOf(rec).forEach(function (n) {
      sel.appendChild(el('option', { value: n.code, text: '并入 ' + n.name + '（' + n.code + '）' }));
    });
    sel.appendChild(el('option', { value: '', text: '不并入，留作空隙（校验将报告空隙）' }));
    $('gg-del-what').textContent = '删除网格“' + rec.name + '”（' + rec.code + '）：其面积';
    state.deleting = rec;
    $('gg-delete').hidden = false;
    sel.focus();
  }

  /** Delete (retire on save) a saved grid; its area goes to the neighbour ``giveTo`` (a code) or stays a gap. */
  function retire(rec, giveTo) {
    var taker = giveTo ? state.grids.get(giveTo) : null;
    var merged = taker
      ? api('POST', 'api/grids/shapes/merge', { geometries: [layerGeometry(taker.layer), layerGeometry(rec.layer)] })
      : Promise.resolve(null);
    return merged.then(function (res) {
      if (res && !res.ok) { setStatus('error', '无法并入：' + reason(res)); return false; }
      if (res) replaceShape(taker, res.data.geometries[0]);
      rec.retired = { giveTo: taker ? taker.code : null };
      if (rec.layer && rec.layer._map) map.removeLayer(rec.layer);
      if (state.selected === rec) state.selected = taker || null;
      $('gg-delete').hidden = true;
      nodeAll();
      renderList();
      renderSelection();
      restyleAll();
      setStatus('info', '网格“' + rec.name + '”将在保存时删除' +
        (taker ? '，其面积并入“' + taker.name + '”' : '，其面积留作空隙') + '。点“撤销修改”可恢复。');
      scheduleValidate();
      return true;
    });
  }

  // ------------------------------------------------------------------ 5. panel

  function setStatus(kind, text) {
    var box = $('gg-status');
    box.className = 'gg-status gg-' + kind;
    box.textContent = text;
  }

  function statusBadge(rec) {
    if (rec.conflict) return ['gg-conflict', '保存失败'];
    if (rec.retired) return ['gg-retired', rec.retired.giveTo ? '待删除（并入 ' + rec.retired.giveTo + '）' : '待删除'];
    if (rec.isDraft) return ['gg-new', '新建'];
    if (isChanged(rec)) return ['gg-dirty', '已修改'];
    return ['', '未修改'];
  }

  function renderList() {
    var body = $('gg-grid-list');
    body.textContent = '';
    var recs = allRecs();
    if (!recs.length) {
      body.appendChild(el('tr', {}, [el('td', { colspan: '4', className: 'gg-hint', text: '暂无网格' })]));
    }
    recs.forEach(function (rec) {
      var badge = statusBadge(rec);
      var tr = el('tr', { 'data-key': rec.key, 'data-code': rec.code || '' }, [
        el('td', { text: rec.isDraft ? draftLabel(rec) : rec.name }),
        el('td', { className: 'gg-code', text: rec.code || '（待分配）' }),
        el('td', { className: 'gg-version', text: rec.version == null ? '—' : String(rec.version) }),
        el('td', {}, [el('span', { className: 'gg-badge ' + badge[0], text: badge[1] })])
      ]);
      if (rec === state.selected) tr.className = 'gg-selected';
      if (rec.retired) tr.className += ' gg-retired-row';
      tr.addEventListener('click', function () {
        if (rec.retired) return;
        select(rec);
        if (rec.layer && rec.layer._map) map.fitBounds(rec.layer.getBounds(), { padding: [60, 60], maxZoom: map.getZoom() });
      });
      body.appendChild(tr);
    });
    updateButtons();
  }

  function renderSelection() {
    var rec = state.selected;
    $('gg-sel-none').hidden = !!rec;
    $('gg-sel-form').hidden = !rec;
    if (!rec) return;
    $('gg-sel-what').textContent = rec.isDraft
      ? '新网格（' + LEVEL_ZH[state.childLevel] + '），保存后生效'
      : LEVEL_ZH[state.childLevel] + '网格 ' + rec.code + '，版本 ' + rec.version;
    var name = $('gg-name');
    if (name.value !== rec.name) name.value = rec.name;
    $('gg-code-row').hidden = !rec.isDraft;
    $('gg-del').textContent = rec.isDraft ? '删除新网格' : '删除网格…';
    if (state.deleting !== rec) $('gg-delete').hidden = true;
    if (rec.isDraft && $('gg-code').value !== rec.codeInput) $('gg-code').value = rec.codeInput;
  }

  function select(rec) {
    var before = state.selected;
    state.selected = rec;
    if (before && before !== rec) applyStyle(before);
    if (rec) {
      applyStyle(rec);
      if (rec.layer && rec.layer._map && !map.pm.globalEditModeEnabled()) rec.layer.bringToFront();
    }
    renderSelection();
    renderList();
  }

  function updateButtons() {
    var save = $('gg-save');
    save.disabled = state.saving;
    save.textContent = state.saveArmed ? '仍要保存' : '保存';
    save.classList.toggle('gg-armed', state.saveArmed);
    $('gg-revert').disabled = state.saving || !hasChanges();
  }

  function disarm() {
    if (state.saveArmed) { state.saveArmed = false; updateButtons(); }
  }

  function initPanel() {
    $('gg-name').addEventListener('input', function () {
      var rec = state.selected;
      if (!rec) return;
      rec.name = this.value;
      rec.conflict = null;
      disarm();
      refreshLabel(rec);
      applyStyle(rec);
      renderList();
    });
    $('gg-code').addEventListener('input', function () {
      if (state.selected && state.selected.isDraft) state.selected.codeInput = this.value.trim();
    });
    $('gg-split').addEventListener('click', startSplit);
    $('gg-del').addEventListener('click', openDelete);
    $('gg-del-cancel').addEventListener('click', function () { state.deleting = null; $('gg-delete').hidden = true; });
    $('gg-del-go').addEventListener('click', function () {
      var rec = state.deleting;
      state.deleting = null;
      if (rec && !rec.retired) retire(rec, $('gg-del-to').value || null);
    });
    $('gg-save').addEventListener('click', function () { save(); });
    $('gg-revert').addEventListener('click', revert);
    window.addEventListener('beforeunload', function (e) {
      if (hasChanges()) { e.preventDefault(); e.returnValue = ''; }
    });
  }

  // ------------------------------------------------------------------ 6. live validation

  var validation = { timer: null, seq: 0, pending: null };

  function setCheckState(kind, text) {
    var s = $('gg-check-state');
    s.className = 'gg-check-state' + (kind ? ' gg-' + kind : '');
    s.textContent = text;
  }

  function scheduleValidate() {
    disarm();
    clearTimeout(validation.timer);
    setCheckState('', '等待校验…');
    validation.timer = setTimeout(function () { validation.timer = null; validateNow(); }, VALIDATE_DELAY_MS);
  }

  /** Everything changed since loading, as one batch request (without dry_run / accept_findings). */
  function currentEdit() {
    var edit = { create: [], update: [], retire: [] };
    allRecs().forEach(function (rec) {
      if (rec.isDraft) {
        if (!rec.layer) return;
        var c = {
          key: rec.key,
          name: rec.name.trim() || draftLabel(rec),
          level: state.childLevel,
          parent_code: state.parentCode,
          geometry: layerGeometry(rec.layer)
        };
        if (rec.codeInput) c.code = rec.codeInput;
        edit.create.push(c);
      } else if (rec.retired) {
        edit.retire.push({ code: rec.code, version: rec.version, give_to: rec.retired.giveTo });
      } else if (rec.geomDirty || nameDirty(rec)) {
        var u = { code: rec.code, version: rec.version };
        if (rec.geomDirty) u.geometry = layerGeometry(rec.layer);
        if (nameDirty(rec) && rec.name.trim()) u.name = rec.name.trim();
        edit.update.push(u);
      }
    });
    return edit;
  }

  function editIsEmpty(edit) { return !edit.create.length && !edit.update.length && !edit.retire.length; }

  /** Codes the server gave (for this check, or for good) to drafts, by key; recs by code. */
  function recsByCode(changes) {
    var byCode = {};
    state.grids.forEach(function (rec, code) { byCode[code] = rec; });
    (changes || []).forEach(function (c) {
      if (c.action !== 'create' || !c.key) return;
      var rec = state.drafts.filter(function (d) { return d.key === c.key; })[0];
      if (rec) byCode[c.code] = rec;
    });
    return byCode;
  }

  /** Check what is on screen: a dry run of the save (findings, and who changes grid); without changes, the
   *  community's grids as they are. */
  function validateNow() {
    clearTimeout(validation.timer);
    validation.timer = null;
    if (!state.parent) return Promise.resolve();
    var seq = ++validation.seq;
    var edit = currentEdit();
    var empty = editIsEmpty(edit);
    setCheckState('', '校验中…');
    var request = empty
      ? api('POST', 'api/grids/validate', { parent: state.parentCode, grids: [] })
      : api('POST', 'api/grids/batch', L.extend({ dry_run: true }, edit));
    var p = request.then(function (res) {
      if (seq !== validation.seq) return; // a newer check is under way
      validation.pending = null;
      if (!res.ok) {
        state.findings = [];
        state.moves = null;
        showFindings();
        showMoves();
        setCheckState('bad', '校验失败：' + reason(res));
        return;
      }
      var byCode = recsByCode(empty ? [] : res.data.changes);
      state.findings = (res.data.findings || []).map(function (f) {
        return L.extend({}, f, { recs: (f.codes || []).map(function (code) { return byCode[code] || null; }) });
      });
      state.moves = empty ? null : (res.data.moves || null);
      state.movesByCode = byCode;
      showFindings();
      showMoves();
    });
    validation.pending = p;
    return p;
  }

  /** Wait until the findings describe what is on screen now. */
  function settleValidation() {
    if (validation.timer) return validateNow().then(settleValidation);
    if (validation.pending) return validation.pending.then(settleValidation);
    return Promise.resolve();
  }

  function codeLabel(f, i) {
    var code = f.codes[i];
    var rec = f.recs[i];
    if (rec) return recTitle(rec);
    if (code === state.parentCode && state.parent) return state.parent.name + '（' + code + '）';
    return code;
  }

  /** The server's message with the codes it gave drafts for this check replaced by the drafts' names. */
  function readableMessage(f) {
    var text = String(f.message || '');
    f.codes.forEach(function (code, i) {
      var rec = f.recs[i];
      if (rec && rec.isDraft) text = text.split(code).join('“' + draftLabel(rec) + '”');
    });
    return text;
  }

  function gridLabel(code) {
    var rec = state.movesByCode && state.movesByCode[code];
    if (rec) return rec.isDraft ? draftLabel(rec) + '（新）' : rec.name;
    return code || '（不属于任何网格）';
  }

  /** How many households and residents change grid if saved now, per grid. */
  function showMoves() {
    var total = $('gg-moves-total');
    var body = $('gg-moves');
    body.textContent = '';
    var m = state.moves;
    $('gg-moves-table').hidden = !m || !m.grids.length;
    total.className = 'gg-hint';
    if (!m) {
      total.textContent = hasChanges() ? '无法预览住户变动（请先处理校验失败的原因）。' : '尚无修改。';
      return;
    }
    if (!m.households) {
      total.textContent = '保存后没有住户改变所属网格。';
      return;
    }
    total.className = 'gg-hint gg-moves-total-some';
    total.textContent = '保存后将有 ' + fmtNumber(m.households, 0) + ' 户、' + fmtNumber(m.persons, 0) +
      ' 人改属其他网格：';
    m.grids.forEach(function (g) {
      body.appendChild(el('tr', { 'data-code': g.code }, [
        el('td', { text: gridLabel(g.code) }),
        el('td', { text: g.households_out ? g.households_out + ' / ' + g.persons_out : '—' }),
        el('td', { text: g.households_in ? g.households_in + ' / ' + g.persons_in : '—' })
      ]));
    });
  }

  function showFindings() {
    findingLayer.clearLayers();
    problemKeys = new Set();
    var list = $('gg-findings');
    list.textContent = '';
    state.findings.forEach(function (f, i) {
      f.recs.forEach(function (rec) { if (rec) problemKeys.add(rec.key); });
      var num = String(i + 1);
      if (f.geometry) {
        L.geoJSON(f.geometry, {
          pane: 'ggProblems',
          interactive: false,
          pmIgnore: true,
          snapIgnore: true,
          style: function (feature) {
            var t = feature && feature.geometry && feature.geometry.type;
            return /Polygon/.test(t || '') ? STYLE.problemArea : STYLE.problemLine;
          },
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, { radius: 6, color: '#d32f2f', pane: 'ggProblems', pmIgnore: true, snapIgnore: true });
          }
        }).addTo(findingLayer);
      }
      if (f.location) {
        L.marker([f.location[1], f.location[0]], {
          pane: 'ggFindingMarkers',
          interactive: false,
          keyboard: false,
          pmIgnore: true,
          snapIgnore: true,
          icon: L.divIcon({ className: 'gg-finding-marker', html: num, iconSize: [22, 22], iconAnchor: [11, 11] })
        }).addTo(findingLayer);
      }
      var meta = [];
      if (f.area_m2 != null) meta.push('面积 ' + fmtNumber(f.area_m2, 1) + ' 平方米');
      if (f.length_m != null) meta.push('长度 ' + fmtNumber(f.length_m, 1) + ' 米');
      var involved = f.codes.map(function (_, j) { return codeLabel(f, j); });
      var li = el('li', { 'data-rule': f.rule, 'data-codes': f.codes.join(' '), title: '点击定位到问题位置' }, [
        el('div', { className: 'gg-f-head' }, [
          el('span', { className: 'gg-f-num', text: num }),
          RULE_ZH[f.rule] || '校验问题'
        ]),
        el('div', { className: 'gg-f-msg', text: readableMessage(f) }),
        el('div', { className: 'gg-f-meta', text: meta.join('，') }),
        el('div', { className: 'gg-f-meta', text: involved.length ? '涉及：' + involved.join('、') : '' })
      ]);
      li.addEventListener('click', function () { zoomToFinding(f); });
      list.appendChild(li);
    });
    var n = state.findings.length;
    $('gg-findings-empty').hidden = n > 0;
    $('gg-findings-empty').textContent = '未发现问题。';
    if (n) setCheckState('bad', '发现 ' + n + ' 个问题');
    else setCheckState('good', '通过');
    restyleAll();
  }

  function zoomToFinding(f) {
    if (f.geometry) {
      var b = L.geoJSON(f.geometry).getBounds();
      if (b.isValid()) { map.fitBounds(b, { padding: [80, 80], maxZoom: Math.max(map.getZoom(), 17) }); return; }
    }
    if (f.location) map.panTo([f.location[1], f.location[0]]);
  }

  // ------------------------------------------------------------------ 7. saving and reverting

  /** The Chinese message of a failed save (the whole batch: nothing was written). */
  function saveError(res) {
    if (res.status === 412) {
      var detail = (res.data && typeof res.data.detail === 'string' && res.data.detail) || '有网格已被他人修改，请刷新后重试';
      return '保存失败，所有修改均未保存：' + detail + '。您的修改仍保留在地图上，未覆盖他人的数据。';
    }
    if (res.status === 401) {
      // Reloading this page would lose the edits: log in elsewhere, then save again here.
      return '保存失败：' + reason(res).replace(/[。.]$/, '') + '。为保留地图上的修改，请不要刷新本页：' +
        '在新标签页中登录后，回到本页再点“保存”。';
    }
    return '保存失败，所有修改均未保存：' + reason(res);
  }

  function disableModes() {
    var pm = map.pm;
    if (pm.globalDrawModeEnabled()) pm.disableDraw();
    if (pm.globalEditModeEnabled()) pm.disableGlobalEditMode();
    if (pm.globalDragModeEnabled()) pm.disableGlobalDragMode();
    if (pm.globalRemovalModeEnabled()) pm.disableGlobalRemovalMode();
    if (pm.globalCutModeEnabled()) pm.disableGlobalCutMode();
    state.splitting = null;
  }

  function save() {
    if (state.saving) return Promise.resolve();
    if (!hasChanges()) {
      setStatus('info', '没有需要保存的修改。');
      return Promise.resolve();
    }
    var unnamed = state.drafts.filter(function (d) { return !d.name.trim(); });
    if (unnamed.length) {
      select(unnamed[0]);
      setStatus('error', '请为新网格填写名称后再保存。');
      $('gg-name').focus();
      return Promise.resolve();
    }
    var emptyName = shownRecs().filter(function (r) { return !r.isDraft && !r.name.trim(); });
    if (emptyName.length) {
      select(emptyName[0]);
      setStatus('error', '网格名称不能为空。');
      return Promise.resolve();
    }
    state.saving = true;
    updateButtons();
    return settleValidation().then(function () {
      if (state.findings.length && !state.saveArmed) {
        state.saving = false;
        state.saveArmed = true;
        updateButtons();
        setStatus('warn', '当前有 ' + state.findings.length + ' 个校验问题（见“校验结果”）。' +
          '确认仍要保存，请再次点击“仍要保存”。');
        return;
      }
      var accept = state.saveArmed;
      state.saveArmed = false;
      disableModes();
      setStatus('info', '正在保存…');
      return doSave(accept);
    });
  }

  /** One request for every change: the server writes all of them or none. */
  function doSave(acceptFindings) {
    var edit = currentEdit();
    var seqs = new Map();
    allRecs().forEach(function (rec) { seqs.set(rec, rec.editSeq); });
    return api('POST', 'api/grids/batch', L.extend({ accept_findings: !!acceptFindings }, edit)).then(function (res) {
      state.saving = false;
      if (res.ok) {
        applySaved(res.data.changes, seqs);
        setStatus('ok', '已保存（' + res.data.changes.length + ' 个网格' +
          (edit.retire.length ? '，其中删除 ' + edit.retire.length + ' 个' : '') + '）。');
      } else {
        // the grids the server names (a stale one, those out of scope), else every changed one: none was saved
        var d = (res.data && res.data.details) || {};
        var named = (d.code ? [d.code] : (Array.isArray(d.codes) ? d.codes : []))
          .map(function (c) { return state.grids.get(c); }).filter(Boolean);
        var message = saveError(res);
        (named.length ? named : allRecs().filter(isChanged)).forEach(function (r) { r.conflict = message; });
        setStatus('error', message);
      }
      allRecs().forEach(refreshLabel);
      renderList();
      renderSelection();
      restyleAll();
      return validateNow();
    });
  }

  /** Take the saved state from the server's answer; edits made while the request ran stay pending. */
  function applySaved(changes, seqs) {
    changes.forEach(function (c) {
      if (c.action === 'retire') {
        var gone = state.grids.get(c.code);
        if (gone && gone.layer && gone.layer._map) map.removeLayer(gone.layer);
        state.grids.delete(c.code);
        if (state.selected === gone) state.selected = null;
        return;
      }
      var rec = c.action === 'create'
        ? state.drafts.filter(function (d) { return d.key === c.key; })[0]
        : state.grids.get(c.code);
      if (!rec) return;
      if (rec.isDraft) {
        state.drafts = state.drafts.filter(function (d) { return d !== rec; });
        rec.isDraft = false;
        rec.code = c.code;
        rec.key = 'grid:' + c.code;
        state.grids.set(c.code, rec);
      }
      rec.version = c.version;
      if (rec.name.trim() === c.name) rec.name = c.name; // unless retyped meanwhile
      rec.orig = { geometry: c.geometry || (rec.orig && rec.orig.geometry), name: c.name };
      rec.geomDirty = rec.editSeq !== seqs.get(rec); // still dirty if edited again while the request ran
      rec.conflict = null;
      attach(rec, rec.layer);
    });
  }

  function revert() {
    if (state.saving) return;
    disableModes();
    state.drafts.slice().forEach(dropDraft);
    state.deleting = null;
    $('gg-delete').hidden = true;
    state.grids.forEach(function (rec) {
      rec.conflict = null;
      if (rec.geomDirty || rec.retired) {
        if (rec.layer && rec.layer._map) map.removeLayer(rec.layer);
        attach(rec, newGridLayer(rec.orig.geometry));
        rec.geomDirty = false;
        rec.retired = null;
      }
      rec.name = rec.orig.name;
      refreshLabel(rec);
    });
    nodeAll();
    renderSelection();
    renderList();
    restyleAll();
    setStatus('info', '已撤销全部未保存的修改。');
    scheduleValidate();
  }

  // ------------------------------------------------------------------ 8. start-up

  function showPicker() {
    map.setView([34.26, 108.95], 12);
    $('gg-title').textContent = '请选择社区';
    $('gg-pick').hidden = false;
    $('gg-grid-list').textContent = '';
    return api('GET', 'api/grids?level=community').then(function (res) {
      var sel = $('gg-pick-select');
      if (!res.ok) { setStatus('error', '无法加载社区列表：' + reason(res)); return; }
      res.data.forEach(function (g) {
        sel.appendChild(el('option', { value: g.code, text: g.name + '（' + g.code + '）' }));
      });
      $('gg-pick-go').addEventListener('click', function () {
        if (sel.value) window.location.search = '?parent=' + encodeURIComponent(sel.value);
      });
    });
  }

  function loadParent() {
    var code = encodeURIComponent(state.parentCode);
    return Promise.all([
      api('GET', 'api/grids/' + code),
      api('GET', 'api/grids?parent=' + code + '&geometry=true')
    ]).then(function (results) {
      var p = results[0];
      var kids = results[1];
      if (!p.ok) {
        $('gg-title').textContent = '无法加载 ' + state.parentCode;
        setStatus('error', '无法加载网格 ' + state.parentCode + '：' + reason(p));
        return false;
      }
      if (!kids.ok) {
        setStatus('error', '无法加载下级网格：' + reason(kids));
        return false;
      }
      state.parent = p.data;
      $('gg-grid-page').href = 'grids/' + encodeURIComponent(p.data.code);
      state.childLevel = CHILD_LEVEL[p.data.level] || 'compound';
      $('gg-title').textContent = p.data.name + '（' + p.data.code + '）· ' + LEVEL_ZH[state.childLevel] + '网格';
      document.title = '网格编辑 · ' + p.data.name;

      parentLayer = L.polygon(geometryLatLngs(p.data.geometry), L.extend({
        pane: 'ggParent',
        interactive: false,
        pmIgnore: true, // not editable …
        snapIgnore: false // … but new grids snap to the community boundary
      }, STYLE.parent)).addTo(map);

      kids.data.forEach(function (g) {
        if (!g.geometry) return;
        var rec = {
          key: 'grid:' + g.code,
          code: g.code,
          isDraft: false,
          name: g.name,
          version: g.version,
          layer: null,
          orig: { geometry: g.geometry, name: g.name },
          geomDirty: false,
          editSeq: 0,
          conflict: null,
          retired: null
        };
        state.grids.set(g.code, rec);
        attach(rec, newGridLayer(g.geometry));
      });
      setMetric(parentLayer.getBounds().getCenter());
      map.fitBounds(parentLayer.getBounds(), { padding: [30, 30] });
      return true;
    });
  }

  var editor = (window.gridEditor = {
    map: map,
    state: state,
    ready: false,
    validateNow: validateNow,
    settleValidation: settleValidation,
    save: save,
    revert: revert,
    layerOf: function (codeOrKey) {
      var rec = state.grids.get(codeOrKey) || allRecs().filter(function (r) { return r.key === codeOrKey; })[0];
      return rec ? rec.layer : null;
    }
  });

  /** Fill the vocabulary from the server (api/meta): one source for Python, SQL and this page. */
  function loadMeta() {
    return api('GET', 'api/meta').then(function (res) {
      if (!res.ok) {
        setStatus('error', '无法加载词表：' + reason(res));
        return false;
      }
      var v = res.data.vocabularies;
      v.levels.terms.forEach(function (t) { LEVEL_ZH[t.term] = t.label; });
      v.finding_rules.terms.forEach(function (t) { RULE_ZH[t.term] = t.label; });
      Object.keys(res.data.child_level).forEach(function (k) { CHILD_LEVEL[k] = res.data.child_level[k]; });
      return true;
    });
  }

  function main() {
    return loadMeta().then(start);
  }

  function start() {
    initPanel();
    renderSelection();
    if (!state.parentCode) {
      return showPicker().then(function () { editor.ready = true; });
    }
    return loadParent().then(function (ok) {
      if (ok) {
        initGeoman();
        renderList();
        return validateNow();
      }
    }).then(function () { editor.ready = true; });
  }

  main();
})();
