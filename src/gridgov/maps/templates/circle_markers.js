{{ this.data|tojson }}.forEach(function (d) {
    L.circleMarker([d[0], d[1]], {radius: {{ this.radius }}, color: {{ this.border|tojson }}, weight: 1,
                                  fillColor: {{ this.colour|tojson }}, fillOpacity: 0.95})
     .bindPopup(d[2]).addTo({{ this._parent.get_name() }});
});
