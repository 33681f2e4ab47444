function (row) {
    return L.circleMarker(new L.LatLng(row[0], row[1]),
                          {radius: 4, color: "#fff", weight: 1, fillColor: {{ colour|tojson }}, fillOpacity: 0.95})
        .bindTooltip({{ kind|tojson }});
}
