// 首页's charts, drawn by the vendored ECharts from the page's JSON (#dashboard-data).
// Tooltips are drawn on the canvas (renderMode "richText"): HTML tooltips carry inline styles, which CSP forbids.
(function () {
  "use strict";

  var RED = "#b91c1c";
  var GREEN = "#15803d";
  var BASE = {
    animation: false,
    grid: { left: 48, right: 24, top: 40, bottom: 56 },
    tooltip: { trigger: "axis", renderMode: "richText" },
    textStyle: { fontFamily: "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" }
  };

  function merge(extra) {
    var out = {};
    Object.keys(BASE).forEach(function (key) { out[key] = BASE[key]; });
    Object.keys(extra).forEach(function (key) { out[key] = extra[key]; });
    return out;
  }

  function orgsOption(data) {
    return merge({
      xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: data.names.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1, name: "人次" },
      series: [{ name: "本月参与人次", type: "bar", data: data.enrolled, itemStyle: { color: RED },
                 barMaxWidth: 48, label: { show: true, position: "top" } }]
    });
  }

  function daysOption(data) {
    return merge({
      legend: { data: ["提交", "通过"], top: 4 },
      xAxis: { type: "category", data: data.labels, boundaryGap: false },
      yAxis: { type: "value", minInterval: 1, name: "条" },
      series: [
        { name: "提交", type: "line", data: data.submitted, itemStyle: { color: RED }, showSymbol: false },
        { name: "通过", type: "line", data: data.approved, itemStyle: { color: GREEN }, showSymbol: false }
      ]
    });
  }

  function draw(id, option) {
    var box = document.getElementById(id);
    if (!box || box.dataset.empty) return null;
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
    box.dataset.drawn = "1";
    return chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var charts = [draw("chart-orgs", orgsOption(data.orgs)), draw("chart-days", daysOption(data.days))];
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { if (chart) chart.resize(); });
    });
  });
})();
