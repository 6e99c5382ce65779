import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { join } from "@std/path";
import { tempDir } from "../../tests/temp.ts";
import { agentScript, killRequest, parseAgentReport, POOL_LOG, runRequest } from "./agent.ts";
import { renderPoolJob } from "./pool_job.ts";

const WRAPPER = "job.wrapped.test";

/** A real agent (bash on this host) and the lines it says. */
class Agent {
  child: Deno.ChildProcess;
  lines: string[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiters: (() => void)[] = [];
  done: Promise<void>;

  constructor(env: Record<string, string> = {}) {
    const child = new Deno.Command("bash", {
      args: ["-c", agentScript(), "xqc-pool-agent", WRAPPER],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    this.done = (async () => {
      let pending = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        let at: number;
        while ((at = pending.indexOf("\n")) >= 0) {
          this.lines.push(pending.slice(0, at));
          pending = pending.slice(at + 1);
          for (const wake of this.#waiters.splice(0)) wake();
        }
      }
    })();
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.done;
    await this.child.status;
  }

  /**
   * Wait until a line matches, sending another line meanwhile when asked (a kill is sent
   * again until the job has gone, as the run does).
   */
  async waitLine(pattern: RegExp, ms = 15000, again?: string): Promise<string> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, 200)),
      ]);
      if (again) await this.send(again);
    }
    throw new Error(`no line ${pattern} in ${JSON.stringify(this.lines)}`);
  }

  /** Wait until a job has started; its process group. */
  async started(id: string): Promise<number> {
    const line = await this.waitLine(new RegExp(`^start ${id.replace(".", "\\.")} \\d+$`));
    const report = parseAgentReport(line);
    assert(report?.kind === "start");
    return report.pgid;
  }
}

async function job(
  root: string,
  index: number,
  cmd: string | string[],
  prescript = "",
  timeout = 0,
  postscript = "",
): Promise<string> {
  const metadir = join(root, String(index));
  await Deno.mkdir(metadir, { recursive: true });
  await Deno.writeTextFile(
    join(metadir, WRAPPER),
    renderPoolJob({
      shebang: "",
      index,
      trial: 1,
      mountedWorkdir: root,
      mountedMetadir: metadir,
      cmd,
      prescript,
      timeout,
      postscript,
    }),
  );
  return metadir;
}

Deno.test("the pool agent runs jobs with their own variables and reports start and end", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    const ready = parseAgentReport(await agent.waitLine(/^ready /));
    assertEquals(ready?.kind, "ready");
    const meta = await job(
      root,
      0,
      'printf "%s|%s" "$A" "$XQUTE_JOB_INDEX"; echo oops >&2; exit 3',
      "echo said-by-prescript",
    );
    await agent.send(runRequest("0.1", meta, { A: "x 'y'\n$(z)" }));
    const pgid = await agent.started("0.1");
    await agent.waitLine(/^end 0\.1 3$/);
    assert(pgid > 1, `pgid ${pgid}`);
    assertEquals(await Deno.readTextFile(join(meta, "job.stdout")), "x 'y'\n$(z)|0");
    assertEquals(await Deno.readTextFile(join(meta, "job.stderr")), "oops\n");
    assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "3");
    assertEquals((await Deno.readTextFile(join(meta, "job.status"))).trim(), "7");
    assertStringIncludes(await Deno.readTextFile(join(meta, "job.usage")), "cpu_ms=");
    // What the job's set-up says (not the command) goes to its own file.
    assertStringIncludes(await Deno.readTextFile(join(meta, POOL_LOG)), "said-by-prescript");
    // The variables of one job do not reach the next.
    const next = await job(root, 1, 'echo "[${A-unset}]"');
    await agent.send(runRequest("1.1", next, {}));
    await agent.waitLine(/^end 1\.1 0$/);
    assertEquals(await Deno.readTextFile(join(next, "job.stdout")), "[unset]\n");
  } finally {
    await agent.close();
  }
});

Deno.test("a plain pooled job (a program, no hooks) gets its variables, and only its own", async () => {
  const root = await tempDir();
  // A UTF-8 locale, and values with characters of several bytes, one longer than a pipe write.
  const agent = new Agent({ LC_ALL: "C.UTF-8" });
  try {
    await agent.waitLine(/^ready /);
    const meta = await job(root, 4, [
      "bash",
      "-c",
      'printf "%s|%s|%s|%s" "$A" "$XQUTE_JOB_INDEX" "$XQUTE_JOB_METADIR" "${#B}"',
    ]);
    const a = "x 'y'\n$(z) é ü 😀";
    // Longer than a pipe's single write, in characters of two bytes.
    const b = "é".repeat(40_000);
    await agent.send(runRequest("4.1", meta, { A: a, B: b }));
    await agent.waitLine(/^end 4\.1 0$/);
    assertEquals(await Deno.readTextFile(join(meta, "job.stdout")), `${a}|4|${meta}|${b.length}`);
    const next = await job(root, 5, ["bash", "-c", 'echo "[${A-unset}|$XQUTE_JOB_INDEX]"']);
    await agent.send(runRequest("5.1", next, {}));
    await agent.waitLine(/^end 5\.1 0$/);
    assertEquals(await Deno.readTextFile(join(next, "job.stdout")), "[unset|5]\n");
  } finally {
    await agent.close();
  }
});

Deno.test("the pool agent runs a program as the job's process, a builtin in it; rc 127 is told", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    // The job's process becomes the program: its pid is the group the start reported.
    const program = await job(root, 0, ["bash", "-c", 'echo "$$"']);
    await agent.send(runRequest("0.1", program, {}));
    const pgid = await agent.started("0.1");
    await agent.waitLine(/^end 0\.1 0$/);
    assertEquals((await Deno.readTextFile(join(program, "job.stdout"))).trim(), String(pgid));
    // A bash builtin runs as in a wrapper of its own (there is no program `type`).
    const builtin = await job(root, 1, ["type", "-t", "cd"]);
    await agent.send(runRequest("1.1", builtin, {}));
    await agent.waitLine(/^end 1\.1 0$/);
    assertEquals(await Deno.readTextFile(join(builtin, "job.stdout")), "builtin\n");
    const missing = await job(root, 2, ["xqc-no-such-program", "x"]);
    await agent.send(runRequest("2.1", missing, {}));
    await agent.waitLine(/^end 2\.1 127$/);
    assertStringIncludes(
      await Deno.readTextFile(join(missing, "job.stderr")),
      "rc 127: a command was not found (job command: xqc-no-such-program)",
    );
    // The postscript runs after the rc is written, with the job's variables.
    const post = await job(
      root,
      3,
      "exit 4",
      "",
      0,
      'echo "post $A $(cat "$XQUTE_JOB_METADIR/job.rc")" >"$XQUTE_JOB_METADIR/post"',
    );
    await agent.send(runRequest("3.1", post, { A: "a" }));
    await agent.waitLine(/^end 3\.1 4$/);
    assertEquals(await Deno.readTextFile(join(post, "post")), "post a 4\n");
  } finally {
    await agent.close();
  }
});

Deno.test("the pool agent kills a job's group and runs the next, and ends what a job left", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    const slow = await job(root, 0, "sleep 60 & wait");
    const other = await job(root, 1, "echo survived");
    await agent.send(runRequest("0.1", slow, {}));
    await agent.send(runRequest("1.1", other, {}));
    const pgid = await agent.started("0.1");
    await agent.waitLine(/^end 0\.1 143$/, 15000, killRequest("0.1", "TERM", pgid));
    await agent.waitLine(/^end 1\.1 0$/);
    assertEquals(await Deno.readTextFile(join(other, "job.stdout")), "survived\n");
    // A job that ignores TERM goes with KILL.
    const stubborn = await job(root, 2, "trap '' TERM; echo ignoring; sleep 60");
    await agent.send(runRequest("2.1", stubborn, {}));
    const stubbornGroup = await agent.started("2.1");
    const ignoring = Date.now() + 5000;
    while (!(await Deno.readTextFile(join(stubborn, "job.stdout")).catch(() => ""))) {
      assert(Date.now() < ignoring, "the job did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
    await agent.send(killRequest("2.1", "TERM", stubbornGroup));
    await new Promise((r) => setTimeout(r, 300));
    assert(!agent.lines.some((l) => l.startsWith("end 2.1 ")), "TERM ended a job that ignores it");
    await agent.send(killRequest("2.1", "KILL", stubbornGroup));
    await agent.waitLine(/^end 2\.1 137$/);
    assertStringIncludes(
      await Deno.readTextFile(join(stubborn, "job.stderr")),
      "rc 137: the job was killed by SIGKILL",
    );
    // What a job leaves in the background goes when it ends.
    const marker = `xqc-agent-left-${crypto.randomUUID()}`;
    const leaver = await job(root, 3, `bash -c 'exec -a ${marker} sleep 60' & echo left`);
    await agent.send(runRequest("3.1", leaver, {}));
    await agent.waitLine(/^end 3\.1 0$/);
    const end = Date.now() + 5000;
    let left = true;
    while (left && Date.now() < end) {
      const ps = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
      left = ps.code === 0;
      if (left) await new Promise((r) => setTimeout(r, 100));
    }
    assert(!left, "the job's background process outlived it");
  } finally {
    await agent.close();
  }
});

Deno.test("a stop that lands as the job starts: rc 143, written once, every time", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    for (let i = 0; i < 40; i++) {
      const meta = await job(root, i, ["sleep", "60"], "", i % 2 ? 30 : 0);
      await agent.send(runRequest(`${i}.1`, meta, {}));
      const pgid = await agent.started(`${i}.1`);
      const end = await agent.waitLine(
        new RegExp(`^end ${i}\\.1 `),
        15000,
        killRequest(`${i}.1`, "TERM", pgid),
      );
      assertEquals(end, `end ${i}.1 143`, `job ${i}`);
      assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "143", `job ${i}`);
    }
  } finally {
    await agent.close();
  }
});

Deno.test("the pool agent ends a job killed from elsewhere: rc 137 written and reported", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    const meta = await job(root, 0, "sleep 60");
    await agent.send(runRequest("0.1", meta, {}));
    const pgid = await agent.started("0.1");
    Deno.kill(-pgid, "SIGKILL");
    assertEquals(await agent.waitLine(/^end 0\.1 /), "end 0.1 137");
    assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "137");
  } finally {
    await agent.close();
  }
});

Deno.test("the pool agent times a job out: rc 124, said in job.stderr", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    const meta = await job(root, 0, "sleep 60", "", 1);
    await agent.send(runRequest("0.1", meta, {}));
    assertEquals(await agent.waitLine(/^end 0\.1 /), "end 0.1 124");
    assertStringIncludes(await Deno.readTextFile(join(meta, "job.stderr")), "timed out after 1 s");
    // The next job is not timed out by the last one's watchdog.
    const quick = await job(root, 1, "sleep 1.5; echo done", "", 30);
    await agent.send(runRequest("1.1", quick, {}));
    assertEquals(await agent.waitLine(/^end 1\.1 /), "end 1.1 0");
  } finally {
    await agent.close();
  }
});

Deno.test("at the end of its stdin the pool agent stops its jobs (SIGTERM) and exits", async () => {
  const root = await tempDir();
  const agent = new Agent();
  await agent.waitLine(/^ready /);
  const meta = await job(root, 0, "sleep 60");
  await agent.send(runRequest("0.1", meta, {}));
  await agent.started("0.1");
  const started = Date.now();
  await agent.close();
  assert(Date.now() - started < 4000, "the agent waited for its job");
  assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "143");
});

Deno.test("a job whose file does not load or is not there ends rc 127 without a start, and says why", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    // A plain job (a program): the agent makes no file of its own in the metadir.
    const plain = await job(root, 0, ["/bin/true"]);
    await agent.send(runRequest("0.1", plain, {}));
    await agent.waitLine(/^end 0\.1 0$/);
    await Deno.stat(join(plain, POOL_LOG)).then(
      () => assert(false, `${POOL_LOG} made for a plain job`),
      (e) => assert(e instanceof Deno.errors.NotFound),
    );
    // A file cut short in a quoted word: bash's own error is kept in job.pool.out.
    const broken = await job(root, 1, ["/bin/true"]);
    const text = await Deno.readTextFile(join(broken, WRAPPER));
    await Deno.writeTextFile(
      join(broken, WRAPPER),
      text.slice(0, text.indexOf("xqc_cmd=")) + "xqc_cmd=('",
    );
    await agent.send(runRequest("1.1", broken, {}));
    await agent.waitLine(/^end 1\.1 127$/);
    assertEquals((await Deno.readTextFile(join(broken, "job.rc"))).trim(), "127");
    assertStringIncludes(await Deno.readTextFile(join(broken, "job.stderr")), "could not be read");
    assertStringIncludes(await Deno.readTextFile(join(broken, POOL_LOG)), "unexpected EOF");
    // A file that is not there: no start is said, only the end.
    const missing = join(root, "missing");
    await Deno.mkdir(missing);
    await agent.send(runRequest("2.1", missing, {}));
    await agent.waitLine(/^end 2\.1 127$/);
    assert(!agent.lines.some((l) => l.startsWith("start 2.1 ") || l.startsWith("start 1.1 ")));
    // The agent goes on.
    const next = await job(root, 3, ["/bin/true"]);
    await agent.send(runRequest("3.1", next, {}));
    await agent.waitLine(/^end 3\.1 0$/);
  } finally {
    await agent.close();
  }
});
