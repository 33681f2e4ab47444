(function () {
    // The hotspots beside the heatmap: grids with many cases and little night patrol, worst first (the count of
    // cases at the right); a click fits the map to the grid. Left of the map, below the zoom buttons, so it does
    // not cover the least-covered list and the layer list on the right.
    var map = {{ this._parent.get_name() }};
    var rows = {{ this.rows|tojson }};
    var box = L.control({position: {{ this.position|tojson }}});
    box.onAdd = function () {
        var div = L.DomUtil.create("div", "gridgov-ranked gridgov-hotspots");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        var h = L.DomUtil.create("h4", "", div);
        h.textContent = {{ this.title|tojson }};
        if (!rows.length) {
            var none = L.DomUtil.create("p", "", div);
            none.textContent = "本期没有";
        }
        var ol = L.DomUtil.create("ol", "", div);
        rows.forEach(function (r) {
            var li = L.DomUtil.create("li", r.duty ? "gridgov-ranked-duty" : "", ol);
            li.setAttribute("data-code", r.code);
            li.title = r.tip;
            var pct = L.DomUtil.create("span", "gridgov-ranked-pct", li);
            pct.textContent = r.pct;
            li.appendChild(document.createTextNode(r.name));
            li.addEventListener("click", function () {
                map.fitBounds([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]], {maxZoom: 18, padding: [40, 40]});
            });
        });
        if ({{ this.note|tojson }}) {
            var p = L.DomUtil.create("p", "", div);
            p.textContent = {{ this.note|tojson }};
        }
        return div;
    };
    box.addTo(map);
})();
