// xqc report in a real browser (Debian's chromium, headless): the page a run makes, and the
// page of 10,000 jobs, which must stay fast and small.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { tempDir } from "./helpers.ts";
import { run } from "./image.ts";
import { renderReport } from "../src/report/html.ts";
import type { ReportData } from "../src/report/data.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const required = (Deno.env.get("XQC_REQUIRE_ENGINES") ?? "").includes("chromium");
if (!hasChromium && required) throw new Error("chromium is required (XQC_REQUIRE_ENGINES)");
if (!hasChromium) console.log("%cSKIPPED report tests: chromium is not installed", "color: yellow");

/** Run headless chromium on a page: its DOM after its scripts ran, or a screenshot. */
async function chromium(page: string, what: "--dump-dom" | `--screenshot=${string}`) {
  const profile = await tempDir("xqc-chromium-");
  const start = performance.now();
  const out = await run([
    CHROMIUM,
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    "--window-size=1200,1400",
    "--virtual-time-budget=10000",
    what,
    `file://${page}`,
  ]);
  return { ...out, ms: performance.now() - start };
}

/** The DOM as chromium left it; it prints the DOM on stdout and its own logs on stderr. */
async function dom(page: string): Promise<{ html: string; ms: number }> {
  const out = await new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      `--user-data-dir=${await tempDir("xqc-chromium-")}`,
      "--virtual-time-budget=10000",
      "--dump-dom",
      `file://${page}`,
    ],
    stdout: "piped",
    stderr: "null",
  });
  const start = performance.now();
  const result = await out.output();
  return { html: new TextDecoder().decode(result.stdout), ms: performance.now() - start };
}

const count = (html: string, pattern: RegExp) => html.match(pattern)?.length ?? 0;

Deno.test({
  name:
    "xqc report of a real run: the summary, a bar per trial, the failed jobs' stderr, no script error",
  ignore: !hasChromium,
  fn: async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const flag = join(dir, "second-try");
    await Deno.writeTextFile(
      join(dir, "jobs"),
      [
        "echo one",
        `bash -c 'x=$(head -c 20000000 /dev/zero | tr "\\0" x); echo two'`,
        "bash -c 'echo \"<script>no</script> went wrong\" >&2; exit 3'",
        `bash -c 'if [ -e ${flag} ]; then echo retried; else touch ${flag}; exit 5; fi'`,
        "sleep 0.2",
      ].join("\n") + "\n",
    );
    const ran = await xqc([
      "run",
      "--scheduler",
      "local",
      "-n",
      "2",
      "-w",
      workdir,
      "-j",
      join(dir, "jobs"),
      "--error-strategy",
      "retry",
      "--num-retries",
      "1",
    ]);
    assertEquals(ran.code, 1, ran.stderr);
    const page = join(dir, "report.html");
    const made = await xqc(["report", "-w", workdir, "-o", page]);
    assertEquals(made.code, 0, made.stderr);
    assertStringIncludes(made.stderr, "5 job(s), 7 trial(s)");
    const html = await Deno.readTextFile(page);
    assert(!/src=|href="http/.test(html), "the page loads something");
    const { html: shown } = await dom(page);
    assertStringIncludes(shown, 'data-ready="1"');
    assert(!/<body[^>]*data-errors=/.test(shown), "a script error");
    // Job 2 failed twice and job 3 once before its retry: 7 trials, 7 bars.
    assertEquals(count(shown, /<rect class="bar"/g), 7);
    assertEquals(count(shown, /data-status="FAILED"/g), 3);
    assertMatch(shown, /data-key="finished"><div class="value">4</);
    assertMatch(shown, /data-key="failed"><div class="value">1</);
    assertStringIncludes(shown, 'class="failure" data-job="2"');
    assertStringIncludes(shown, "&lt;script&gt;no&lt;/script&gt; went wrong");
    const screenshot = join(dir, "report.png");
    await chromium(page, `--screenshot=${screenshot}`);
    assert((await Deno.stat(screenshot)).size > 10_000, "no screenshot");
  },
});

Deno.test({
  name: "a report of 10,000 jobs stays small and fast: a canvas timeline, boxes per command",
  ignore: !hasChromium,
  fn: async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const kinds = ["bwa", "samtools", "python", "gatk"];
    const jobs: ReportData["jobs"] = [];
    const trials: ReportData["trials"] = [];
    for (let i = 0; i < 10_000; i++) {
      const status = i % 97 === 0 ? "FAILED" : "FINISHED";
      const start = t0 + i * 40 + (i % 7) * 100;
      const took = 500 + (i % 13) * 120;
      jobs.push({
        index: i,
        cmd: `${kinds[i % 4]} --sample s${i}`,
        kind: kinds[i % 4],
        status,
        rc: status === "FAILED" ? 1 : 0,
        trials: 1,
        cpuMs: took * 0.8,
        peakRss: (50 + (i % 50)) * 1024 ** 2,
        realtimeMs: took,
      });
      trials.push({
        index: i,
        trial: 1,
        status,
        exit: status === "FAILED" ? 1 : 0,
        submit: start - 50,
        start,
        complete: start + took,
        cpuMs: took * 0.8,
        peakRss: (50 + (i % 50)) * 1024 ** 2,
      });
    }
    const failed = jobs.filter((j) => j.status === "FAILED");
    const data: ReportData = {
      workdir: "/work/big",
      generatedAt: t0 + 500_000,
      run: null,
      counts: { FINISHED: jobs.length - failed.length, FAILED: failed.length },
      jobs,
      trials,
      failures: failed.slice(0, 100).map((j) => ({ ...j, stderr: "boom" })),
      moreFailures: Math.max(0, failed.length - 100),
    };
    const page = join(await tempDir(), "report.html");
    await Deno.writeTextFile(page, renderReport(data));
    const { html, ms } = await dom(page);
    assertStringIncludes(html, 'data-ready="1"');
    assert(!/<body[^>]*data-errors=/.test(html), "a script error");
    assertMatch(html, /<canvas [^>]*data-bars="10000"/);
    assertEquals(count(html, /<rect class="bar"/g), 0);
    const elements = count(html, /<[a-z]+[\s>]/g);
    assert(elements < 3000, `${elements} elements for 10,000 jobs`);
    assert(ms < 20_000, `chromium took ${ms} ms`);
    assertMatch(html, /data-key="jobs"><div class="value">10000</);
  },
});
