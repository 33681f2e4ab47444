(function () {
    // Greedy label placement in screen space, redone after every move and layer change: the grid labels on the
    // map are taken in priority order (community labels first at the street's zooms, compounds first when zoomed
    // in; larger grids first within a level) and each is shown only when its box overlaps none already shown.
    // A hidden label comes back as soon as zooming in gives it room. Positions come from the map's projection.
    var map = {{ this._parent.get_name() }};
    var compoundMinZoom = {{ this.compound_min_zoom|tojson }};
    var communityLeadBelow = {{ this.community_lead_below|tojson }};
    var pad = {{ this.padding|tojson }};
    var CELL = 128;
    var retries = 0;

    // Measured on every pass (a hidden label keeps its box: visibility, not display), so a map laid out late
    // (in a frame that was hidden or still sizing) is placed with its real sizes once it has them.
    function info(icon) {
        var text = icon.firstElementChild;
        return {community: L.DomUtil.hasClass(icon, "gridgov-label-community"),
                rank: text ? parseInt(text.getAttribute("data-rank") || "0", 10) : 0,
                w: text ? text.offsetWidth : 0, h: text ? text.offsetHeight : 0};
    }

    function cells(b, visit) {
        for (var x = Math.floor(b[0] / CELL); x <= Math.floor(b[2] / CELL); x++) {
            for (var y = Math.floor(b[1] / CELL); y <= Math.floor(b[3] / CELL); y++) {
                if (visit(x + ":" + y)) { return true; }
            }
        }
        return false;
    }

    function place() {
        var zoom = map.getZoom();
        var communitiesLead = communityLeadBelow === null || zoom < communityLeadBelow;
        var items = [];
        map.eachLayer(function (layer) {
            var icon = layer instanceof L.Marker ? layer.getElement() : null;
            if (icon && L.DomUtil.hasClass(icon, "gridgov-label")) {
                var it = info(icon);
                items.push({layer: layer, icon: icon, it: it, lead: it.community === communitiesLead ? 0 : 1});
            }
        });
        if (items.some(function (d) { return d.it.w === 0; }) && retries < 50) {
            retries += 1;  // not laid out yet: place again shortly (at most ~10 s), meanwhile show none
            items.forEach(function (d) { L.DomUtil.addClass(d.icon, "gridgov-label-off"); });
            setTimeout(place, 200);
            return;
        }
        retries = 0;
        items.sort(function (a, b) { return a.lead - b.lead || a.it.rank - b.it.rank; });
        var taken = {};
        items.forEach(function (d) {
            var show = d.it.community || compoundMinZoom === null || zoom >= compoundMinZoom;
            if (show && d.it.w > 0) {
                var p = map.latLngToLayerPoint(d.layer.getLatLng());
                var hw = d.it.w / 2 + pad, hh = d.it.h / 2 + pad;
                var b = [p.x - hw, p.y - hh, p.x + hw, p.y + hh];
                show = !cells(b, function (key) {
                    return (taken[key] || []).some(function (o) {
                        return b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3];
                    });
                });
                if (show) { cells(b, function (key) { (taken[key] = taken[key] || []).push(b); return false; }); }
            }
            L.DomUtil[show ? "removeClass" : "addClass"](d.icon, "gridgov-label-off");
        });
    }

    var pending = false;
    function later() {
        // the layer control adds or removes a group's labels one by one: place them once, before the next frame
        if (pending) { return; }
        pending = true;
        L.Util.requestAnimFrame(function () { pending = false; place(); });
    }
    map.on("zoomend moveend viewreset resize", place);
    map.on("layeradd layerremove", later);
    map.whenReady(place);
    if (window.ResizeObserver) { new ResizeObserver(later).observe(map.getContainer()); }
})();
