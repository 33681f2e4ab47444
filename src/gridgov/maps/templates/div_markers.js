(function () {
    var group = {{ this._parent.get_name() }};
    var size = {{ this.size|tojson }};
    var shape = {{ this.html|tojson }};
    {{ this.data|tojson }}.forEach(function (d) {
        // d = [lat, lon, html (or the value put into the shared html at "{0}"), tooltip (optional)]
        var tip = d.length > 3 ? d[3] : null;
        var m = L.marker([d[0], d[1]], {
            icon: L.divIcon({className: {{ this.class_name|tojson }},
                             html: shape === null ? d[2] : shape.split("{0}").join(d[2]),
                             iconSize: size, iconAnchor: size ? [size[0] / 2, size[1] / 2] : null}),
            interactive: tip !== null, keyboard: false
        });
        if (tip !== null) m.bindTooltip(tip, {direction: "top", offset: [0, -10]});
        m.addTo(group);
    });
})();
