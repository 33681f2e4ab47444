/* 事件 pages (gridgov/web/pages/incidents.py), no framework:
 * - the report page (#incident-report): the 小类 picker follows the 大类; the place comes from the phone's location
 *   (navigator.geolocation, WGS84) or a tap on a Leaflet map of the user's grids (GET /api/grids), and the grid it
 *   falls in is shown live (GET /api/locate); chosen photos are previewed; the button waits while uploading.
 * - the case page (#ir-case-map): a small map of the case's point and its grid; [data-print] prints the case sheet.
 * Leaflet comes from /static/vendor; tiles only when the server names a basemap (data-tiles).
 */
(function () {
  'use strict';

  var OUTLINE = { color: '#8b1a1a', weight: 2.5, fillColor: '#8b1a1a', fillOpacity: 0.03, interactive: false };
  var CHILD = { color: '#1f5fa8', weight: 1.5, dashArray: '4 3', fillOpacity: 0, interactive: false };
  var MAX_LABELS = 60;

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.json();
    });
  }

  function feature(grid) {
    return { type: 'Feature', geometry: grid.geometry, properties: { code: grid.code, name: grid.name } };
  }

  /* A Leaflet map in ``el`` with the basemap the server names (none by default: the grids alone). */
  function makeMap(el) {
    var tiles = JSON.parse(el.getAttribute('data-tiles') || '[]');
    var map = L.map(el, { attributionControl: tiles.length > 0, maxZoom: 20, minZoom: 3, zoomSnap: 0.5 });
    if (map.attributionControl) { map.attributionControl.setPrefix(false); }
    tiles.forEach(function (t) {
      L.tileLayer(t.url, {
        attribution: t.attribution, subdomains: t.subdomains, maxNativeZoom: t.max_native_zoom, maxZoom: 20
      }).addTo(map);
    });
    map.setView([35.0, 105.0], 4);
    return map;
  }

  function label(map, layer, text) {
    L.marker(layer.getBounds().getCenter(), {
      icon: L.divIcon({ className: 'ir-grid-label', html: '', iconSize: null }), interactive: false, keyboard: false
    }).addTo(map).getElement().textContent = text;
  }

  /* The user's scope outlined (or every street for an unscoped user) with the grids one level down; resolves to
   * the bounds drawn (null when none). */
  function drawScope(map, scope) {
    var roots = scope
      ? getJSON('/api/grids/' + encodeURIComponent(scope)).then(function (g) { return [g]; })
      : getJSON('/api/grids?level=street&geometry=true');
    return roots.then(function (tops) {
      var bounds = null;
      tops.forEach(function (g) {
        if (!g.geometry) { return; }
        var layer = L.geoJSON(feature(g), { style: OUTLINE }).addTo(map);
        bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
      });
      return Promise.all(tops.map(function (g) {
        return getJSON('/api/grids?parent=' + encodeURIComponent(g.code) + '&geometry=true');
      })).then(function (lists) {
        var children = [].concat.apply([], lists).filter(function (c) { return c.geometry; });
        children.forEach(function (c) {
          var layer = L.geoJSON(feature(c), { style: CHILD }).addTo(map);
          if (children.length <= MAX_LABELS) { label(map, layer, c.name); }
          bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
        });
        return bounds;
      });
    });
  }

  function fmt(x) { return Number(x).toFixed(6); }

  // ------------------------------------------------------------------------------------------ the report page

  function subcategories(form) {
    var main = form.elements.category;
    var sub = form.elements.subcategory;
    var byMain = JSON.parse(sub.getAttribute('data-subs') || '{}');
    function fill() {
      var keep = sub.value;
      var items = byMain[main.value] || [];
      sub.innerHTML = '';
      var none = document.createElement('option');
      none.value = '';
      none.textContent = main.value ? (items.length ? '（不细分）' : '（此大类没有小类）') : '（先选大类）';
      sub.appendChild(none);
      items.forEach(function (s) {
        var o = document.createElement('option');
        o.value = main.value + '/' + s;
        o.textContent = s;
        sub.appendChild(o);
      });
      sub.value = keep.indexOf(main.value + '/') === 0 ? keep : '';
      sub.disabled = !items.length;
    }
    main.addEventListener('change', fill);
    fill();
  }

  function photoPreviews(input, box, count) {
    var maxMb = Number(input.getAttribute('data-max-mb')) || 10;
    var maxCount = Number(input.getAttribute('data-max-count')) || 6;
    input.addEventListener('change', function () {
      box.innerHTML = '';
      var files = Array.prototype.slice.call(input.files || []);
      count.textContent = files.length ? '已选 ' + files.length + ' 张' : '未选择照片';
      files.forEach(function (f) {
        var fig = document.createElement('figure');
        fig.className = 'ir-preview';
        var img = document.createElement('img');
        img.alt = f.name;
        img.src = URL.createObjectURL(f);
        var cap = document.createElement('figcaption');
        var mb = f.size / 1048576;
        cap.textContent = (mb >= 0.1 ? mb.toFixed(1) + ' MB' : Math.ceil(f.size / 1024) + ' KB');
        if (mb > maxMb) { cap.textContent += '，超过 ' + maxMb + ' MB'; fig.classList.add('ir-preview-bad'); }
        fig.appendChild(img);
        fig.appendChild(cap);
        box.appendChild(fig);
      });
      if (files.length > maxCount) {
        var p = document.createElement('p');
        p.className = 'text-danger small mb-0';
        p.textContent = '选了 ' + files.length + ' 张，一次最多 ' + maxCount + ' 张';
        box.appendChild(p);
      }
    });
  }

  function reportPage(form) {
    subcategories(form);
    photoPreviews(form.elements.photos, document.getElementById('ir-previews'), document.getElementById('ir-photo-count'));
    var el = document.getElementById('ir-map');
    var map = makeMap(el);
    var f = form.elements;
    var status = document.getElementById('ir-place-status');
    var gridText = document.getElementById('ir-grid');
    var coords = document.getElementById('ir-coords');
    var marker = null;
    var circle = null;
    var lookups = 0;
    var scopeBounds = null;
    var picked = false;  // the user placed the point by hand: a late answer of the automatic location is ignored

    /* Show the point with the user's grids around it (zoomed in when the scope is large). */
    function frame(ll) {
      if (scopeBounds) {
        map.fitBounds(L.latLngBounds([ll]).extend(scopeBounds), { padding: [16, 16], maxZoom: 18, animate: false });
      }
      if (!scopeBounds || map.getZoom() < 13) { map.setView(ll, 16, { animate: false }); }
    }

    function say(text, tone) {
      status.textContent = text;
      status.className = 'ir-place-status mb-1 ir-tone-' + (tone || 'info');
    }

    function locate(ll) {
      var mine = ++lookups;
      gridText.textContent = '正在查询所在网格…';
      gridText.className = '';
      getJSON('/api/locate?lon=' + fmt(ll.lng) + '&lat=' + fmt(ll.lat)).then(function (res) {
        if (mine !== lookups) { return; }
        if (!res.grids.length) {
          gridText.textContent = '此位置不在任何网格内：请重新选点';
          gridText.className = 'text-danger';
          form.removeAttribute('data-grid');
          return;
        }
        var leaf = res.grids[res.grids.length - 1];
        gridText.textContent = res.grids.map(function (g) { return g.name; }).join(' › ') + '（' + leaf.code + '）';
        form.setAttribute('data-grid', leaf.code);
      }).catch(function () {
        if (mine === lookups) { gridText.textContent = '暂时查不到所在网格（不影响上报，提交时由服务器判定）'; }
      });
    }

    function place(ll, how, accuracy) {
      f.lon.value = ll.lng.toFixed(7);
      f.lat.value = ll.lat.toFixed(7);
      f.located.value = how;
      f.accuracy.value = accuracy ? String(Math.round(accuracy)) : '';
      coords.textContent = '经度 ' + fmt(ll.lng) + '，纬度 ' + fmt(ll.lat) +
        (how === 'gps' ? '（手机定位' + (accuracy ? '，精度约 ' + Math.round(accuracy) + ' 米' : '') + '）' : '（地图选点）');
      if (!marker) {
        marker = L.marker(ll, { draggable: true, keyboard: false, title: '事件位置' }).addTo(map);
        marker.on('dragend', function () {
          picked = true;
          place(marker.getLatLng(), 'map');
          say('已拖动标记选定位置', 'ok');
        });
      } else {
        marker.setLatLng(ll);
      }
      if (circle) { map.removeLayer(circle); circle = null; }
      if (accuracy) {
        circle = L.circle(ll, { radius: accuracy, color: '#1f5fa8', weight: 1, fillOpacity: 0.08, interactive: false })
          .addTo(map);
      }
      locate(ll);
    }

    map.on('click', function (e) {
      picked = true;
      place(e.latlng, 'map');
      say('已在地图上选定位置（可拖动标记微调）', 'ok');
    });

    /* The phone's location; ``asked`` when the user pressed the button (else it is the automatic try on opening). */
    function gps(asked) {
      if (!('geolocation' in navigator)) {
        say('此浏览器不提供定位：请在地图上点选事件位置', 'warn');
        return;
      }
      if (window.isSecureContext === false) {
        say('当前连接不是 HTTPS，浏览器不允许网页使用定位：请在地图上点选事件位置', 'warn');
        return;
      }
      say('正在定位…', 'info');
      navigator.geolocation.getCurrentPosition(function (p) {
        if (picked && !asked) { return; }
        var ll = L.latLng(p.coords.latitude, p.coords.longitude);
        var accuracy = p.coords.accuracy >= 1 ? p.coords.accuracy : 0;
        place(ll, 'gps', accuracy);
        frame(ll);
        say('已使用手机定位' + (accuracy ? '（精度约 ' + Math.round(accuracy) + ' 米）' : '') +
          '；不准时请在地图上点选或拖动标记', 'ok');
      }, function (err) {
        if (picked && !asked) { return; }
        var why = err.code === 1 ? '定位权限被拒绝（可在浏览器设置中允许本网站使用位置）'
          : err.code === 3 ? '定位超时' : '无法取得手机位置';
        say(why + '：请在地图上点选事件位置', 'warn');
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
    }
    document.getElementById('ir-gps').addEventListener('click', function () { gps(true); });

    drawScope(map, el.getAttribute('data-scope')).then(function (bounds) {
      scopeBounds = bounds;
      if (marker) {
        if (f.located.value === 'gps') { frame(marker.getLatLng()); }
      } else if (bounds) {
        map.fitBounds(bounds, { padding: [12, 12], animate: false });
      }
    }).catch(function () {
      say('网格边界加载失败：仍可定位或在地图上点选', 'warn');
    }).then(function () { el.setAttribute('data-ready', '1'); });

    if (f.lon.value && f.lat.value) {
      var kept = L.latLng(Number(f.lat.value), Number(f.lon.value));
      place(kept, f.located.value || 'map', Number(f.accuracy.value) || 0);
      map.setView(kept, 17, { animate: false });
      say('已选定位置（上次填写的）', 'ok');
    } else {
      gps(false);
    }

    var button = document.getElementById('ir-submit');
    form.addEventListener('submit', function (ev) {
      if (!f.lon.value || !f.lat.value) {
        ev.preventDefault();
        say('请先选定事件位置：使用手机定位，或在地图上点选', 'warn');
        el.scrollIntoView({ block: 'center' });
        return;
      }
      button.disabled = true;
      button.textContent = '正在上报…';
    });
    window.addEventListener('pageshow', function () { button.disabled = false; button.textContent = '上报'; });
  }

  // ------------------------------------------------------------------------------------------ the case page

  function caseMap(el) {
    var map = makeMap(el);
    var ll = L.latLng(Number(el.getAttribute('data-lat')), Number(el.getAttribute('data-lon')));
    L.marker(ll, { keyboard: false, interactive: false }).addTo(map);
    map.setView(ll, 17);
    var code = el.getAttribute('data-grid');
    var drawn = code
      ? getJSON('/api/grids/' + encodeURIComponent(code)).then(function (g) {
        if (g.geometry) {
          var layer = L.geoJSON(feature(g), { style: OUTLINE }).addTo(map);
          map.fitBounds(layer.getBounds().extend(ll), { padding: [16, 16], maxZoom: 18, animate: false });
        }
      }).catch(function () { /* the point alone */ })
      : Promise.resolve();
    drawn.then(function () { el.setAttribute('data-ready', '1'); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('incident-report');
    if (form) { reportPage(form); }
    var caseEl = document.getElementById('ir-case-map');
    if (caseEl) { caseMap(caseEl); }
    Array.prototype.forEach.call(document.querySelectorAll('[data-print]'), function (b) {
      b.addEventListener('click', function () { window.print(); });
    });
  });
})();
