(function () {
    var map = {{ this._parent.get_name() }};
    var index = L.layerGroup();
    {{ this.data|tojson }}.forEach(function (d) {
        L.circleMarker([d[2], d[3]], {radius: 0, opacity: 0, fillOpacity: 0, interactive: false,
                                      title: d[0], code: d[1]}).addTo(index);
    });
    function find(code) {
        var hit = null;
        map.eachLayer(function (l) {
            if (!hit && l.feature && l.feature.properties && l.feature.properties.code === code
                && l instanceof L.Polygon) { hit = l; }
        });
        return hit;
    }
    var marked = null;
    var search = new L.Control.Search({
        layer: index, propertyName: "title", initial: false, marker: false,
        position: "topleft", collapsed: false, textPlaceholder: "搜索网格名称或编码",
        textErr: "未找到", textCancel: "取消",
        moveToLocation: function (latlng, title, m) {
            var poly = find(latlng.layer.options.code);
            if (!poly) { m.setView(latlng, 17); return; }
            if (marked) { marked.remove(); }
            marked = L.polygon(poly.getLatLngs(), {color: "#e03131", weight: 4, fill: false,
                                                  interactive: false}).addTo(m);
            m.fitBounds(poly.getBounds(), {maxZoom: 18, animate: false, padding: [40, 40]});
            // popups are bound on the level's GeoJSON group: a propagated click opens this grid's
            poly.fire("click", {latlng: latlng}, true);
        }
    });
    map.addControl(search);
    search.on("search:collapsed", function () { if (marked) { marked.remove(); marked = null; } });
})();
