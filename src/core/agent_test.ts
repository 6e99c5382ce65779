import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { join } from "@std/path";
import { tempDir } from "../../tests/temp.ts";
import { agentScript, killRequest, parseAgentReport, POOL_LOG, runRequest } from "./agent.ts";
import { renderWrapper } from "./wrapper.ts";

const WRAPPER = "job.wrapped.test";

/** A real agent (bash on this host) and the lines it says. */
class Agent {
  child: Deno.ChildProcess;
  lines: string[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiters: (() => void)[] = [];
  done: Promise<void>;

  constructor() {
    const child = new Deno.Command("bash", {
      args: ["-c", agentScript(), "xqc-pool-agent", WRAPPER],
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
   * Wait until a line matches, sending pings meanwhile (as the run does every second), or
   * another line (a kill is sent again until the job has gone, as the run does: a signal
   * that comes while the wrapper forks its command can be lost in the child).
   */
  async waitLine(pattern: RegExp, ms = 15000, again = "ping"): Promise<string> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, 200)),
      ]);
      await this.send(again);
    }
    throw new Error(`no line ${pattern} in ${JSON.stringify(this.lines)}`);
  }
}

async function job(
  root: string,
  index: number,
  cmd: string | string[],
  prescript = "",
  timeout = 0,
): Promise<string> {
  const metadir = join(root, String(index));
  await Deno.mkdir(metadir, { recursive: true });
  await Deno.writeTextFile(
    join(metadir, WRAPPER),
    renderWrapper({
      shebang: "/bin/bash",
      index,
      trial: 1,
      mountedWorkdir: root,
      mountedMetadir: metadir,
      cmd,
      prescript,
      timeout,
      pooled: true,
    }),
  );
  return metadir;
}

Deno.test("the pool agent runs wrappers with their own variables and reports start and end", async () => {
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
    await agent.waitLine(/^end 0\.1 3$/);
    assert(agent.lines.includes("start 0.1"));
    assertEquals(await Deno.readTextFile(join(meta, "job.stdout")), "x 'y'\n$(z)|0");
    assertEquals(await Deno.readTextFile(join(meta, "job.stderr")), "oops\n");
    assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "3");
    // What the wrapper itself says (not the command) goes to its own file.
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

Deno.test("the pool agent kills one job's group, leaves the others, and ends what a job left", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    const slow = await job(root, 0, "sleep 60 & wait");
    const other = await job(root, 1, "sleep 1; echo survived");
    await agent.send(runRequest("0.1", slow, {}));
    await agent.send(runRequest("1.1", other, {}));
    await agent.waitLine(/^start 0\.1$/);
    await agent.send(killRequest("0.1", "TERM"));
    await agent.waitLine(/^end 0\.1 143$/, 15000, killRequest("0.1", "TERM"));
    await agent.waitLine(/^end 1\.1 0$/);
    assertEquals(await Deno.readTextFile(join(other, "job.stdout")), "survived\n");
    // A job that ignores TERM goes with KILL; the agent reports it at once.
    const stubborn = await job(root, 2, "trap '' TERM; sleep 60");
    await agent.send(runRequest("2.1", stubborn, {}));
    await agent.waitLine(/^start 2\.1$/);
    await agent.send(killRequest("2.1", "KILL"));
    await agent.waitLine(/^end 2\.1 137$/);
    // What a job leaves in the background goes when it ends.
    const marker = `xqc-agent-left-${crypto.randomUUID()}`;
    const leaver = await job(root, 3, `bash -c 'exec -a ${marker} sleep 60' & echo left`);
    await agent.send(runRequest("3.1", leaver, {}));
    await agent.waitLine(/^end 3\.1 0$/);
    const end = Date.now() + 5000;
    let left = true;
    while (left && Date.now() < end) {
      await agent.send("ping");
      const ps = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
      left = ps.code === 0;
      if (left) await new Promise((r) => setTimeout(r, 100));
    }
    assert(!left, "the job's background process outlived it");
  } finally {
    await agent.close();
  }
});

Deno.test("a stop that lands as the wrapper forks its command: rc 143, written once, every time", async () => {
  // The signal reaches the wrapper's group while the command's child still holds the
  // wrapper's traps: only the wrapper may end the job (the child once wrote rc 0 here).
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    for (let i = 0; i < 40; i++) {
      const meta = await job(root, i, ["sleep", "60"], "", i % 2 ? 30 : 0);
      await agent.send(runRequest(`${i}.1`, meta, {}));
      await agent.waitLine(new RegExp(`^start ${i}\\.1$`));
      await agent.send(killRequest(`${i}.1`, "TERM"));
      const end = await agent.waitLine(
        new RegExp(`^end ${i}\\.1 `),
        15000,
        killRequest(`${i}.1`, "TERM"),
      );
      assertEquals(end, `end ${i}.1 143`, `job ${i}`);
      assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "143", `job ${i}`);
    }
  } finally {
    await agent.close();
  }
});

Deno.test("the pool agent reports a wrapper killed from elsewhere when pinged", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    const meta = await job(root, 0, "sleep 60");
    await agent.send(runRequest("0.1", meta, {}));
    await agent.waitLine(/^start 0\.1$/);
    const pids = new TextDecoder().decode(
      (await new Deno.Command("pgrep", { args: ["-P", String(agent.child.pid)] }).output()).stdout,
    ).trim().split("\n").map(Number);
    for (const pid of pids) Deno.kill(pid, "SIGKILL");
    const line = await agent.waitLine(/^end 0\.1 /);
    assertEquals(line, "end 0.1 137");
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
  await agent.waitLine(/^start 0\.1$/);
  const started = Date.now();
  await agent.close();
  assert(Date.now() - started < 4000, "the agent waited for its job");
  assertEquals((await Deno.readTextFile(join(meta, "job.rc"))).trim(), "143");
});

Deno.test("a wrapper that cannot start is reported ended without a start", async () => {
  const root = await tempDir();
  const agent = new Agent();
  try {
    await agent.waitLine(/^ready /);
    await agent.send(runRequest("0.1", join(root, "missing"), {}));
    const line = await agent.waitLine(/^end 0\.1 /);
    assert(!agent.lines.includes("start 0.1"));
    assert(line !== "end 0.1 0", line);
  } finally {
    await agent.close();
  }
});
