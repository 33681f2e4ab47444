(function () {
    var map = {{ this._parent.get_name() }};
    var title = L.DomUtil.create("div", "gridgov-title", map.getContainer());
    title.innerHTML = {{ this.title_html|tojson }};
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
        var div = L.DomUtil.create("div", "gridgov-legend");
        div.innerHTML = {{ this.legend_html|tojson }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    legend.addTo(map);
    L.control.scale({position: "bottomleft", metric: true, imperial: false, maxWidth: 150}).addTo(map);
})();
