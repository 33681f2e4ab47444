(function () {
    var map = {{ this._parent.get_name() }};
    var styles = {{ this.styles|tojson }};
    var headers = {{ this.headers|tojson }};
    var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
        rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: 20, maxZoom: 20,
        getFeatureId: function (f) { return f.properties.code; },
        vectorTileLayerStyles: {grids: function (p) { return styles[p.level] || styles.compound; }}
    }).addTo(map);
    layer.on("click", function (e) {
        var p = e.layer.properties;
        var popup = L.popup({maxWidth: 420}).setLatLng(e.latlng)
            .setContent("<b>" + p.name + "</b> " + p.code + "<br>正在读取台帐…").openOn(map);
        fetch({{ this.ledger_url|tojson }} + encodeURIComponent(p.code))
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (row) {
                if (!row) { popup.setContent(p.name + "：无台帐"); return; }
                var html = '<table class="gridgov-popup">';
                Object.keys(headers).forEach(function (k) {
                    if (row[k] !== null && row[k] !== undefined && row[k] !== "") {
                        var v = String(row[k]).replace(/&/g, "&amp;").replace(/</g, "&lt;");
                        html += "<tr><th>" + headers[k] + "</th><td>" + v + "</td></tr>";
                    }
                });
                popup.setContent(html + "</table>");
            })
            .catch(function () { popup.setContent(p.name + "：台帐读取失败"); });
    });
    window.gridgovTiles = layer;
})();
