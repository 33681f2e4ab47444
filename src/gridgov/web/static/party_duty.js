/* 党员责任区 page: the compounds, the 责任区 and the problems found (uncovered parts, overlaps) on a Leaflet map
 * without a basemap (everything is local); one new polygon drawn with Geoman is saved through the API
 * (POST /api/party/duty-areas, the session's CSRF token in x-csrftoken), then the page reloads with a notice.
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('duty-data').textContent);
  var map = L.map('duty-map', { zoomSnap: 0.25, attributionControl: false });
  var STYLE = {
    compound: { color: '#6c757d', weight: 1.5, dashArray: '6 4', fill: false },
    area: { color: '#0d6efd', weight: 2, fillColor: '#0d6efd', fillOpacity: 0.25 },
    gap: { color: '#dc3545', weight: 2, fillColor: '#dc3545', fillOpacity: 0.45 },
    overlap: { color: '#fd7e14', weight: 2, fillColor: '#fd7e14', fillOpacity: 0.55 },
    drawn: { color: '#198754', weight: 3, fillColor: '#198754', fillOpacity: 0.3 }
  };
  function text(s) { var d = document.createElement('div'); d.textContent = s; return d.innerHTML; }

  var compounds = L.geoJSON(data.compounds, {
    style: STYLE.compound, interactive: false, pmIgnore: true
  }).addTo(map);
  compounds.eachLayer(function (l) {
    l.bindTooltip(text(l.feature.properties.name + '（' + l.feature.properties.code + '）'),
      { permanent: true, direction: 'center', className: 'small bg-transparent border-0 shadow-none text-secondary' });
  });
  var areas = L.geoJSON(data.areas, {
    style: STYLE.area, pmIgnore: true,
    onEachFeature: function (f, l) {
      var p = f.properties;
      l.bindTooltip('<b>' + text(p.code + ' ' + p.name) + '</b><br>职责：' + text(p.duty) +
        (p.org ? '<br>党组织：' + text(p.org) : '') + '<br>责任党员：' + text(p.members || '（未指定）'));
    }
  }).addTo(map);
  var problems = L.geoJSON(data.problems, {
    pmIgnore: true,
    style: function (f) { return STYLE[f.properties.rule] || STYLE.gap; },
    onEachFeature: function (f, l) { l.bindTooltip(text(f.properties.label + '：' + f.properties.message)); }
  }).addTo(map);
  L.control.layers(null, { '楼院': compounds, '责任区': areas, '问题（未覆盖、重叠）': problems },
    { collapsed: false }).addTo(map);

  var bounds = compounds.getBounds();
  if (areas.getLayers().length) { bounds = bounds.isValid() ? bounds.extend(areas.getBounds()) : areas.getBounds(); }
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([34.26, 108.94], 13); }

  // ------------------------------------------------------------------ drawing
  var panel = document.getElementById('draw-panel');
  var status = document.getElementById('dr-status');
  var drawn = null;
  function say(kind, message) { status.className = 'col-12 small text-' + kind; status.textContent = message; }
  function discard() {
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    panel.hidden = true;
    say('muted', '');
  }
  if (map.pm) {
    map.pm.setLang('zh', {
      tooltips: { firstVertex: '单击放置第一个顶点', continueLine: '单击继续绘制', finishPoly: '单击第一个顶点完成绘制' },
      actions: { finish: '完成', cancel: '取消', removeLastVertex: '撤销上一个顶点' },
      buttonTitles: { drawPolyButton: '绘制新的责任区', editButton: '编辑顶点' }
    }, 'zh');
    map.pm.setGlobalOptions({ snappable: true, snapDistance: 12, allowSelfIntersection: false, continueDrawing: false,
      pathOptions: STYLE.drawn });
    map.pm.addControls({ position: 'topleft', drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawRectangle: false, drawCircle: false, drawText: false, drawPolygon: true, editMode: true, dragMode: false,
      cutPolygon: false, removalMode: false, rotateMode: false });
    map.on('pm:create', function (e) {
      if (drawn) { map.removeLayer(drawn); }
      drawn = e.layer;
      panel.hidden = false;
      say('muted', '请填写编码、名称、职责和责任党员，然后保存。');
      document.getElementById('dr-code').focus();
    });
  }
  document.getElementById('dr-discard').addEventListener('click', discard);
  document.getElementById('dr-save').addEventListener('click', function () {
    if (!drawn) { say('danger', '请先在地图上绘制责任区。'); return; }
    var members = document.getElementById('dr-members').value.split(/[,，、;；\s]+/).filter(Boolean);
    var body = {
      code: document.getElementById('dr-code').value.trim(),
      name: document.getElementById('dr-name').value.trim(),
      duty: document.getElementById('dr-duty').value,
      org: document.getElementById('dr-org').value || null,
      members: members,
      geometry: drawn.toGeoJSON().geometry
    };
    if (!body.code || !body.name) { say('danger', '请填写编码和名称。'); return; }
    say('muted', '正在保存…');
    fetch('/api/party/duty-areas', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'x-csrftoken': window.gridgovCsrf() },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      if (res.ok) {
        var done = '已新建党员责任区 ' + res.body.code + ' ' + res.body.name;
        window.location.href = '/party/duty-areas?done=' + encodeURIComponent(done);
        return;
      }
      var detail = res.body.detail;
      if (Array.isArray(detail)) { detail = detail.map(function (d) { return d.msg || String(d); }).join('；'); }
      say('danger', '未保存：' + (detail || '保存失败'));
    }).catch(function () { say('danger', '与服务器的连接中断，请稍后重试。'); });
  });
})();
