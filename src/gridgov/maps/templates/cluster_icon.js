function (cluster) {
    var n = cluster.getChildCount();
    var s = n < 100 ? 30 : (n < 1000 ? 36 : 44);
    return L.divIcon({
        html: '<div style="background:{{ colour }};opacity:.85;color:#fff;border-radius:50%;width:' + s
            + 'px;height:' + s + 'px;line-height:' + s + 'px;text-align:center;font:bold 12px sans-serif;'
            + 'border:2px solid #fff;box-shadow:0 0 2px #333">' + n + '</div>',
        className: "gridgov-cluster", iconSize: L.point(s, s)
    });
}
