// A submission's reach over time (#reach-data), drawn by the vendored ECharts as on 首页.
// Tooltips are drawn on the canvas (renderMode "richText"): HTML tooltips carry inline styles, which CSP forbids.
(function () {
  "use strict";

  function option(data) {
    return {
      animation: false,
      grid: { left: 64, right: 56, top: 40, bottom: 40 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { data: ["浏览量", "点赞"], top: 4 },
      textStyle: { fontFamily: "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" },
      xAxis: { type: "category", data: data.labels, boundaryGap: false },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "浏览量", type: "line", data: data.views, itemStyle: { color: "#b91c1c" } },
        { name: "点赞", type: "line", data: data.likes, itemStyle: { color: "#15803d" } }
      ]
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("reach-data");
    var box = document.getElementById("chart-reach");
    if (!source || !box || !window.echarts) return;
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option(JSON.parse(source.textContent)));
    box.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
