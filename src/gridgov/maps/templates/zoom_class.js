(function () {
    // a class on the map container below a zoom: the stylesheets hide labels or arrows with it
    var map = {{ this._parent.get_name() }};
    var minZoom = {{ this.min_zoom|tojson }};
    var name = {{ this.class_name|tojson }};
    function update() {
        var below = minZoom !== null && map.getZoom() < minZoom;
        L.DomUtil[below ? "addClass" : "removeClass"](map.getContainer(), name);
    }
    map.on("zoomend", update);
    update();
})();
