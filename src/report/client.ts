// The report page's script: it draws the summary, the timeline, the usage and the failures
// from the JSON the page carries. Plain browser JavaScript, no network, no libraries.

/** Above this many trials the timeline is one canvas instead of an SVG element per bar. */
export const SVG_MAX_TRIALS = 1000;
/** Above this many jobs, memory and CPU are shown per kind of command only. */
export const BARS_MAX_JOBS = 200;

/** The script, run once the page has loaded. */
export const CLIENT_SCRIPT: string = String.raw`
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    document.body.setAttribute("data-errors", errors.join(" | "));
  });
  var data = JSON.parse(document.getElementById("xqc-data").textContent);
  // Jobs and trials come as rows under one list of columns, their times from a base.
  function unpack(table) {
    return table.rows.map(function (row) {
      var record = {};
      table.columns.forEach(function (column, i) {
        var value = row[i];
        record[column] = table.times.indexOf(column) >= 0 && value !== null ? value + table.base : value;
      });
      return record;
    });
  }
  data.jobs = unpack(data.jobs);
  data.trials = unpack(data.trials);
  var SVG_MAX = ${SVG_MAX_TRIALS};
  var BARS_MAX = ${BARS_MAX_JOBS};
  var COLORS = {
    FINISHED: "#2e9e5b", FAILED: "#d9463b", KILLED: "#e38b1c", SKIPPED: "#9a9a9a",
    CANCELLED: "#bdbdbd", RUNNING: "#3b7dd8", SUBMITTED: "#7fa8e0", QUEUED: "#cfcfcf"
  };
  var NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    return node;
  }
  function bytes(n) {
    if (n === null || n === undefined) return "-";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
  function ms(n) {
    if (n === null || n === undefined) return "-";
    if (n < 1000) return Math.round(n) + " ms";
    if (n < 60000) return (n / 1000).toFixed(1) + " s";
    if (n < 3600000) return Math.floor(n / 60000) + " m " + Math.round((n % 60000) / 1000) + " s";
    return Math.floor(n / 3600000) + " h " + Math.round((n % 3600000) / 60000) + " m";
  }
  function color(status) { return COLORS[status] || "#888"; }

  function summary() {
    var box = document.getElementById("summary");
    var counts = data.counts, run = data.run || {};
    var cards = [
      ["jobs", data.jobs.length],
      ["finished", counts.FINISHED || 0], ["failed", counts.FAILED || 0],
      ["killed", counts.KILLED || 0], ["skipped", counts.SKIPPED || 0],
      ["cancelled", counts.CANCELLED || 0],
      ["duration", run.startedAt ? ms((run.endedAt || data.generatedAt) - run.startedAt) : "-"]
    ];
    cards.forEach(function (card) {
      var node = el("div", { "class": "card", "data-key": card[0] });
      node.appendChild(el("div", { "class": "value" }, String(card[1])));
      node.appendChild(el("div", { "class": "label" }, card[0]));
      box.appendChild(node);
    });
    var facts = [run.scheduler, run.image ? "image " + run.image : "", "forks " + (run.forks || "?"),
      run.state ? "state " + run.state + (run.signal ? " (" + run.signal + ")" : "") : ""];
    document.getElementById("facts").textContent = facts.filter(Boolean).join(" · ");
  }

  function timeline() {
    var box = document.getElementById("timeline");
    var trials = data.trials.filter(function (t) { return t.start !== null && t.complete !== null; });
    box.setAttribute("data-trials", String(trials.length));
    if (!trials.length) { box.appendChild(el("p", {}, "No trial ran.")); return; }
    var t0 = Infinity, t1 = -Infinity, rows = {};
    trials.forEach(function (t) {
      t0 = Math.min(t0, t.submit === null ? t.start : t.submit);
      t1 = Math.max(t1, t.complete);
      rows[t.index] = true;
    });
    var indexes = Object.keys(rows).map(Number).sort(function (a, b) { return a - b; });
    var rowOf = {};
    indexes.forEach(function (index, i) { rowOf[index] = i; });
    var width = Math.max(600, Math.min(1200, box.clientWidth || 1100)), left = 70, right = 40;
    var rowH = Math.max(0.05, Math.min(14, 560 / indexes.length));
    var height = Math.max(40, Math.ceil(rowH * indexes.length)) + 24;
    var span = Math.max(1, t1 - t0), scale = (width - left - right) / span;
    function x(t) { return left + (t - t0) * scale; }
    var ticks = [];
    for (var i = 0; i <= 5; i++) ticks.push(t0 + span * i / 5);
    if (trials.length <= SVG_MAX) {
      var plot = svg("svg", { width: width, height: height, id: "timeline-svg", role: "img" });
      ticks.forEach(function (t) {
        plot.appendChild(svg("line", { x1: x(t), x2: x(t), y1: 0, y2: height - 20, "class": "tick" }));
        var label = svg("text", { x: x(t), y: height - 6, "class": "tick-label" });
        label.textContent = ms(t - t0);
        plot.appendChild(label);
      });
      trials.forEach(function (t) {
        var y = rowOf[t.index] * rowH, h = Math.max(1, rowH - (rowH > 4 ? 2 : 0));
        if (t.submit !== null && t.start > t.submit) {
          plot.appendChild(svg("rect", { "class": "queued", x: x(t.submit), y: y, height: h,
            width: Math.max(1, (t.start - t.submit) * scale), fill: color(t.status) }));
        }
        var bar = svg("rect", { "class": "bar", x: x(t.start), y: y, height: h,
          width: Math.max(1, (t.complete - t.start) * scale), fill: color(t.status),
          "data-job": t.index, "data-trial": t.trial, "data-status": t.status });
        var title = svg("title");
        title.textContent = "job " + t.index + " trial " + t.trial + ": " + t.status + " rc " + t.exit +
          ", queued " + ms(t.start - (t.submit === null ? t.start : t.submit)) + ", ran " +
          ms(t.complete - t.start) + ", peak " + bytes(t.peakRss) + ", CPU " + ms(t.cpuMs);
        bar.appendChild(title);
        plot.appendChild(bar);
      });
      box.appendChild(plot);
    } else {
      // Many trials: one canvas, drawn in a loop, instead of thousands of elements.
      var canvas = el("canvas", { width: width, height: height, id: "timeline-canvas",
        "data-bars": String(trials.length) });
      box.appendChild(canvas);
      var g = canvas.getContext("2d");
      g.font = "11px sans-serif";
      g.fillStyle = "#666";
      ticks.forEach(function (t) { g.fillText(ms(t - t0), x(t) - 10, height - 6); });
      trials.forEach(function (t) {
        var y = rowOf[t.index] * rowH, h = Math.max(1, rowH);
        g.fillStyle = color(t.status);
        if (t.submit !== null && t.start > t.submit) {
          g.globalAlpha = 0.3;
          g.fillRect(x(t.submit), y, Math.max(1, (t.start - t.submit) * scale), h);
          g.globalAlpha = 1;
        }
        g.fillRect(x(t.start), y, Math.max(1, (t.complete - t.start) * scale), h);
      });
    }
    var legend = el("div", { "class": "legend" });
    ["FINISHED", "FAILED", "KILLED"].forEach(function (status) {
      var item = el("span", { "class": "swatch" }, status.toLowerCase());
      item.style.setProperty("--swatch", color(status));
      legend.appendChild(item);
    });
    legend.appendChild(el("span", { "class": "note" },
      "a row per job (" + indexes.length + "), a bar per trial; the pale part is queued"));
    box.appendChild(legend);
  }

  function quartiles(values) {
    var v = values.slice().sort(function (a, b) { return a - b; });
    function at(p) {
      var i = (v.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i);
      return v[lo] + (v[hi] - v[lo]) * (i - lo);
    }
    return { n: v.length, min: v[0], q1: at(0.25), median: at(0.5), q3: at(0.75), max: v[v.length - 1] };
  }

  function boxes(container, title, key, format) {
    var kinds = {};
    data.jobs.forEach(function (job) {
      if (job[key] === null || job[key] === undefined) return;
      (kinds[job.kind] = kinds[job.kind] || []).push(job[key]);
    });
    var names = Object.keys(kinds).sort(function (a, b) { return kinds[b].length - kinds[a].length; })
      .slice(0, 20);
    var section = el("div", { "class": "boxes", "data-metric": key });
    section.appendChild(el("h3", {}, title));
    if (!names.length) { section.appendChild(el("p", {}, "Not measured.")); container.appendChild(section); return; }
    var max = 0;
    names.forEach(function (name) { kinds[name].forEach(function (v) { max = Math.max(max, v); }); });
    var width = 520, left = 150, rowH = 26, height = names.length * rowH + 20;
    var plot = svg("svg", { width: width, height: height });
    function x(v) { return left + (max ? v / max : 0) * (width - left - 20); }
    names.forEach(function (name, i) {
      var q = quartiles(kinds[name]), y = i * rowH + 6;
      var label = svg("text", { x: 0, y: y + 12, "class": "kind" });
      label.textContent = name + " (" + q.n + ")";
      plot.appendChild(label);
      plot.appendChild(svg("line", { x1: x(q.min), x2: x(q.max), y1: y + 8, y2: y + 8, "class": "whisker" }));
      var rect = svg("rect", { x: x(q.q1), y: y, width: Math.max(1, x(q.q3) - x(q.q1)), height: 16,
        "class": "box" });
      var tip = svg("title");
      tip.textContent = name + ": median " + format(q.median) + ", quartiles " + format(q.q1) + " – " +
        format(q.q3) + ", " + format(q.min) + " – " + format(q.max);
      rect.appendChild(tip);
      plot.appendChild(rect);
      plot.appendChild(svg("line", { x1: x(q.median), x2: x(q.median), y1: y, y2: y + 16, "class": "median" }));
    });
    var axis = svg("text", { x: width - 20, y: height - 2, "class": "tick-label", "text-anchor": "end" });
    axis.textContent = format(max);
    plot.appendChild(axis);
    section.appendChild(plot);
    container.appendChild(section);
  }

  function bars(container, title, key, format) {
    var jobs = data.jobs.filter(function (job) { return job[key] !== null && job[key] !== undefined; });
    if (!jobs.length || data.jobs.length > BARS_MAX) return;
    var max = Math.max.apply(null, jobs.map(function (job) { return job[key]; })) || 1;
    var section = el("div", { "class": "bars", "data-metric": key });
    section.appendChild(el("h3", {}, title));
    var rowH = 14, width = 520, left = 60;
    var plot = svg("svg", { width: width, height: jobs.length * rowH + 4 });
    jobs.forEach(function (job, i) {
      var label = svg("text", { x: 0, y: i * rowH + 11, "class": "kind" });
      label.textContent = "job " + job.index;
      plot.appendChild(label);
      var rect = svg("rect", { x: left, y: i * rowH + 2, height: rowH - 3,
        width: Math.max(1, job[key] / max * (width - left - 80)), fill: color(job.status), "class": "job-bar" });
      plot.appendChild(rect);
      var value = svg("text", { x: left + Math.max(1, job[key] / max * (width - left - 80)) + 4,
        y: i * rowH + 11, "class": "tick-label" });
      value.textContent = format(job[key]);
      plot.appendChild(value);
    });
    section.appendChild(plot);
    container.appendChild(section);
  }

  function top(container, title, key, format) {
    var jobs = data.jobs.filter(function (job) { return job[key] !== null && job[key] !== undefined; })
      .sort(function (a, b) { return b[key] - a[key]; }).slice(0, 10);
    if (!jobs.length) return;
    var section = el("div", { "class": "top" });
    section.appendChild(el("h3", {}, title));
    var table = el("table");
    jobs.forEach(function (job) {
      var row = el("tr");
      row.appendChild(el("td", { "class": "num" }, format(job[key])));
      row.appendChild(el("td", {}, "job " + job.index));
      row.appendChild(el("td", { "class": "cmd" }, job.cmd));
      table.appendChild(row);
    });
    section.appendChild(table);
    container.appendChild(section);
  }

  function usage() {
    var box = document.getElementById("usage");
    boxes(box, "Peak memory by command", "peakRss", bytes);
    boxes(box, "CPU time by command", "cpuMs", ms);
    boxes(box, "Run time by command", "realtimeMs", ms);
    bars(box, "Peak memory per job", "peakRss", bytes);
    bars(box, "CPU time per job", "cpuMs", ms);
    top(box, "Slowest jobs", "realtimeMs", ms);
    top(box, "Most memory", "peakRss", bytes);
  }

  function failures() {
    var box = document.getElementById("failures");
    if (!data.failures.length) { box.appendChild(el("p", {}, "No job failed.")); return; }
    data.failures.forEach(function (failure) {
      var item = el("details", { "class": "failure", "data-job": failure.index });
      item.appendChild(el("summary", {}, "job " + failure.index + " " + failure.status + " rc " +
        failure.rc + ": " + failure.cmd));
      item.appendChild(el("pre", {}, failure.stderr || "(stderr is empty)"));
      box.appendChild(item);
    });
    if (data.moreFailures) box.appendChild(el("p", {}, "and " + data.moreFailures + " more"));
  }

  summary();
  timeline();
  usage();
  failures();
  document.body.setAttribute("data-ready", "1");
})();
`;
