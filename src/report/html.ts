// The report as one self-contained HTML file: inline CSS, the data as JSON, and the script
// that draws it. Nothing is fetched from the network.

import { CLIENT_SCRIPT } from "./client.ts";
import type { ReportData } from "./data.ts";

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 14px; margin: 12px 0 4px; } #facts, .note { color: #666; }
#summary { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 90px; }
.card .value { font-size: 20px; font-weight: 600; } .card .label { color: #666; }
.card[data-key=failed] .value { color: #d9463b; } .card[data-key=finished] .value { color: #2e9e5b; }
.card[data-key=killed] .value { color: #e38b1c; }
svg text { font: 11px sans-serif; fill: #444; } .tick { stroke: #eee; } .queued { opacity: 0.3; }
.legend { margin-top: 6px; } .swatch { margin-right: 14px; }
.swatch::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; background: var(--swatch); }
#usage { display: flex; flex-wrap: wrap; gap: 10px 40px; }
.box { fill: #9cc3ea; stroke: #3b7dd8; } .whisker { stroke: #3b7dd8; } .median { stroke: #1a3f73; stroke-width: 2; }
table { border-collapse: collapse; } td { padding: 1px 8px 1px 0; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; } td.cmd, summary { font-family: ui-monospace, monospace; font-size: 12px; }
.failure { margin: 6px 0; } .failure summary { cursor: pointer; color: #b3261e; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; max-height: 320px; font-size: 12px; }
`;

/** The trials' fields that are times: sent as ms after the report's time base. */
const TIMES = ["submit", "start", "complete"];

/** The earliest time of the report (the run's start, or its first trial's submission). */
function timeBase(data: ReportData): number {
  let base = data.run?.startedAt ?? Infinity;
  for (const trial of data.trials) {
    if (trial.submit !== null && trial.submit < base) base = trial.submit;
  }
  return Number.isFinite(base) ? base : 0;
}

/**
 * Records as `{columns, rows, base}`: each record a row of its values in the columns'
 * order, the time columns less `base`.
 */
function packRows<T extends object>(
  records: readonly T[],
  times: readonly string[],
  base = 0,
): { columns: string[]; rows: unknown[][]; base: number; times: readonly string[] } {
  const columns = records.length ? Object.keys(records[0]) : [];
  const rows = records.map((record) =>
    columns.map((column) => {
      const value = (record as Record<string, unknown>)[column];
      return times.includes(column) && typeof value === "number" ? value - base : value;
    })
  );
  return { columns, rows, base, times };
}

/**
 * Render a report.
 *
 * @param data What it shows.
 * @returns The HTML page.
 */
export function renderReport(data: ReportData): string {
  // The data goes in a script element as JSON: "<" is escaped so that no text in it (a
  // command, a stderr line) can close the element. Jobs and trials go as rows of values
  // under one list of columns, their times from one base: 100,000 jobs in a third of the
  // bytes. The page makes them objects again.
  const json = JSON.stringify({
    ...data,
    jobs: packRows(data.jobs, []),
    trials: packRows(data.trials, TIMES, timeBase(data)),
  }).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  const title = `xqc report: ${data.workdir}`.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${title}</h1>
<div id="facts"></div>
<div id="summary"></div>
<h2>Timeline</h2>
<div id="timeline"></div>
<h2>Memory and CPU</h2>
<div id="usage"></div>
<h2>Failed jobs</h2>
<div id="failures"></div>
<p class="note">Made by @xq/container on ${new Date(data.generatedAt).toISOString()}.</p>
<script type="application/json" id="xqc-data">${json}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
