(function () {
    var map = {{ this.map_name }};
    var layer = {{ this.layer_name }};
    var categories = {{ this.categories|tojson }};
    var cats = {{ this.cats|tojson }};
    var all = layer.data;
    // Leaflet puts the grids' canvas at z-index 100, which would hide the heat under the fills: lift the
    // heat above it, and let clicks through to the grids' popups
    layer._baseLayer._el.style.zIndex = 200;
    layer._baseLayer._el.style.pointerEvents = "none";
    function select(k) {
        layer.data = k < 0 ? all : all.map(function (frame, t) {
            return frame.filter(function (_p, i) { return cats[t][i] === k; });
        });
        layer.category = k;
        layer._getDataForTime(map.timeDimension.getCurrentTime());
    }
    var control = L.control({position: "topright"});
    control.onAdd = function () {
        var div = L.DomUtil.create("div", "gridgov-category leaflet-control");
        var label = L.DomUtil.create("label", "", div);
        label.appendChild(document.createTextNode("事件类别："));
        var sel = L.DomUtil.create("select", "gridgov-category-select", label);
        var options = [["-1", "全部"]].concat(categories.map(function (c, k) { return [String(k), c]; }));
        options.forEach(function (o) {
            var opt = document.createElement("option");
            opt.value = o[0];
            opt.textContent = o[1];
            sel.appendChild(opt);
        });
        L.DomEvent.on(sel, "change", function () { select(parseInt(sel.value, 10)); });
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    control.addTo(map);
})();
