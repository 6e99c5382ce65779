// What jobs used, measured from the kernel: peak memory and CPU time on local, docker,
// podman and apptainer jobs; per-job cgroups never left behind; sampled without cgroup rights.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startRunning, xqc, xqcArgv } from "./cli_helpers.ts";
import { checkEngines, imageFor, readJobFile, sh, tempDir, testOn, waitFor } from "./helpers.ts";
import { run } from "./image.ts";

await checkEngines("docker", "podman", "apptainer");

/** Holds about 200 MB (a 100 MB bash string, and the pipe's copy it was read from). */
const HOLD_200MB = 'x=$(head -c 100000000 /dev/zero | tr "\\0" x); sleep 1';
/**
 * Burns 2 s of CPU (however busy the machine is: it counts its own utime + stime in clock
 * ticks until 200), then prints its own count (bash's times: itself, then its children).
 */
const BURN_2S = "while :; do for ((i = 0; i < 20000; i++)); do :; done; " +
  "read -ra s </proc/$$/stat; (( s[13] + s[14] >= 200 )) && break; done; times";

/** User + system CPU in ms, of the shell and its children, from bash's `times`. */
function timesCpuMs(times: string): number {
  return times.trim().split(/\s+/).map((t) => {
    const [, m, s] = /^(\d+)m([\d.]+)s$/.exec(t)!;
    return Number(m) * 60000 + Number(s) * 1000;
  }).reduce((a, b) => a + b, 0);
}

const within = (actual: number, expected: number, share: number) =>
  Math.abs(actual - expected) <= expected * share;

Deno.test({
  name: "a trial cgroup used again: the next job's CPU and peak count from its own start",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    // One at a time: each job runs in the cgroup the job before it used.
    await Deno.writeTextFile(
      join(dir, "jobs"),
      `bash -c '${HOLD_200MB}'\nbash -c '${BURN_2S}'\ntrue\n`,
    );
    const result = await xqc([
      "run",
      "--scheduler",
      "local",
      "-n",
      "1",
      "-w",
      workdir,
      "-j",
      join(dir, "jobs"),
      "--json",
    ]);
    assertEquals(result.code, 0, result.stderr);
    const [memory, cpu, last] = JSON.parse(result.stdout).jobs.map((
      j: { usage: { peakRss: number; cpuMs: number; measured: string } },
    ) => j.usage);
    for (const usage of [memory, cpu, last]) assertEquals(usage.measured, "cgroup");
    assert(memory.peakRss > 150e6, `the first job's peak: ${memory.peakRss}`);
    assert(cpu.peakRss < 50e6, `the second job's peak counts the first's: ${cpu.peakRss}`);
    assert(cpu.cpuMs >= 1800, `the second job's CPU: ${cpu.cpuMs}`);
    assert(last.cpuMs < 500, `the last job's CPU counts the second's: ${last.cpuMs}`);
    assert(last.peakRss < 50e6, `the last job's peak: ${last.peakRss}`);
  },
});

const WHERE: [string, "docker" | "podman" | "apptainer" | null][] = [
  ["local", null],
  ["docker", "docker"],
  ["podman", "podman"],
  ["apptainer", "apptainer"],
];

for (const [name, engine] of WHERE) {
  const register = (title: string, fn: () => Promise<void>) =>
    engine ? testOn(engine, title, fn) : Deno.test(title, fn);
  register(
    `usage on ${name}: a job holding 200 MB and one burning 2 s of CPU, within 10%`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      await Deno.writeTextFile(
        join(dir, "jobs"),
        `bash -c '${HOLD_200MB}'\nbash -c '${BURN_2S}'\n`,
      );
      const where = engine ? ["-b", engine, "-i", imageFor(engine)] : ["--scheduler", "local"];
      const result = await xqc([
        "run",
        ...where,
        "-n",
        "2",
        "-w",
        workdir,
        "-j",
        join(dir, "jobs"),
        "--json",
      ]);
      assertEquals(result.code, 0, result.stderr);
      const [memory, cpu] = JSON.parse(result.stdout).jobs.map((j: { usage: unknown }) => j.usage);
      assertEquals(memory.measured, "cgroup");
      assert(within(memory.peakRss, 200e6, 0.1), `peak ${memory.peakRss} bytes for 200 MB`);
      const own = timesCpuMs(await readJobFile(workdir, 1, "job.stdout"));
      assert(within(own, 2000, 0.1), `the job burnt ${own} ms by its own count`);
      assert(within(cpu.cpuMs, 2000, 0.1), `cpu ${cpu.cpuMs} ms for 2 s`);
      assert(within(cpu.cpuMs, own, 0.1), `cpu ${cpu.cpuMs} ms, the job's own count ${own} ms`);
      assert(cpu.endedAt - cpu.startedAt >= 1900, "realtime");
      // trace.tsv has both, as Nextflow's columns.
      const trace = (await Deno.readTextFile(join(workdir, "trace.tsv"))).trim().split("\n");
      const header = trace[0].split("\t");
      const rows = trace.slice(1).map((line) => line.split("\t"));
      assertEquals(rows.length, 2);
      const peak = rows.find((r) => r[header.indexOf("task_id")] === "0")!;
      assertEquals(Number(peak[header.indexOf("peak_rss")]), memory.peakRss);
      assertEquals(peak[header.indexOf("container")], engine ? imageFor(engine) : "-");
      assert(Number(rows.find((r) => r[0] === "1")![header.indexOf("%cpu")]) > 30);
    },
  );
}

/** The cgroup folders this machine has for xqc's runs. */
async function xqcCgroups(): Promise<string[]> {
  const out = await run([
    "sh",
    "-c",
    "ls -d /sys/fs/cgroup/memory/xqc /sys/fs/cgroup/cpuacct/xqc 2>/dev/null",
  ]);
  return out.out.split("\n").filter(Boolean);
}

Deno.test({
  name: "per-job cgroups are gone after a run, and after kill -9 the next run removes them",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const args = ["run", "--scheduler", "local", "-w", workdir];
    const child = await startRunning([...args, "--", "sleep", "91.401"], workdir, 1, { cwd: dir });
    const key = (await xqcCgroups()).length;
    assert(key > 0, "no cgroup while the job runs");
    child.kill("SIGKILL");
    await finish(child);
    const next = await xqc([...args, "--", "true"], { cwd: dir });
    assertEquals(next.code, 0, next.stderr);
    assertStringIncludes(next.stderr, "cgroup(s)");
    await waitFor("no xqc cgroup", async () => (await xqcCgroups()).length === 0);
  },
});

const root = Deno.uid() === 0;

Deno.test({
  name: "without cgroup rights (not root), a local job's peak memory is sampled and says so",
  ignore: !root,
  fn: async () => {
    const user = "xqc-runner";
    if ((await run(["id", "-u", user])).code !== 0) {
      await sh(["useradd", "-M", "-s", "/bin/sh", user]);
    }
    const home = await tempDir("xqc-runner-home-");
    const denoDir = join(home, "deno");
    await sh(["cp", "-a", Deno.env.get("DENO_DIR") ?? "/root/.cache/deno", denoDir]);
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await sh(["chown", "-R", `${user}:${user}`, home, dir]);
    await Deno.chmod(dir, 0o755);
    const [deno, ...args] = xqcArgv([
      "run",
      "--scheduler",
      "local",
      "-w",
      workdir,
      "--json",
      "--",
      "bash",
      "-c",
      'x=$(head -c 100000000 /dev/zero | tr "\\0" x); sleep 2',
    ]);
    const result = await run([
      "setpriv",
      `--reuid=${user}`,
      `--regid=${user}`,
      "--init-groups",
      "env",
      `HOME=${home}`,
      `DENO_DIR=${denoDir}`,
      deno,
      args[0],
      "--no-lock",
      ...args.slice(1),
    ]);
    assertEquals(result.code, 0, result.out);
    const json = result.out.split("\n").find((line) => line.startsWith("{"))!;
    const usage = JSON.parse(json).jobs[0].usage;
    assertEquals(usage.measured, "sampled");
    // The sample sees the shell's string (100 MB) and the pipe's copy it read, or most of it.
    assert(within(usage.peakRss, 200e6, 0.5), `sampled peak ${usage.peakRss} bytes`);
    assert(usage.cpuMs > 0, "the CPU time from the shell's own count");
  },
});
