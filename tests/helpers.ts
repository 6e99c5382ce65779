// Test helpers: real engines, and the tiny image (bash + busybox) the tests build for them.

import { join } from "@std/path";

/** The engines the tests know. */
export type TestEngine = "docker" | "podman" | "apptainer";

/** The image's name for docker and podman. */
export const TEST_IMAGE = "xqc-test:latest";
const CACHE = "/tmp/xqc-test-image";
/** The SIF file apptainer runs. */
export const TEST_SIF = join(CACHE, "xqc-test.sif");

const required = new Set(
  (Deno.env.get("XQC_REQUIRE_ENGINES") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
);

async function run(argv: string[], stdin?: string): Promise<{ code: number; out: string }> {
  try {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const o = await child.output();
    const d = new TextDecoder();
    return { code: o.code, out: d.decode(o.stdout) + d.decode(o.stderr) };
  } catch (e) {
    return { code: 127, out: String(e) };
  }
}

/** Run a command and return its stdout+stderr, throwing on failure. */
export async function sh(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.out}`);
  return r.out;
}

/** Run a command; return its exit code and output. */
export function tryRun(argv: string[]): Promise<{ code: number; out: string }> {
  return run(argv);
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(CACHE, { recursive: true });
  const file = await Deno.open(join(CACHE, "lock"), { write: true, create: true });
  await file.lock(true);
  try {
    return await fn();
  } finally {
    file.close();
  }
}

async function buildRootfs(): Promise<string> {
  const root = join(CACHE, "rootfs");
  const tar = join(CACHE, "rootfs.tar");
  try {
    await Deno.stat(tar);
    return tar;
  } catch {
    // Build it below.
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
  for (const dir of ["bin", "tmp", "proc", "sys", "dev", "etc", "root", "mnt", "usr/bin"]) {
    await Deno.mkdir(join(root, dir), { recursive: true });
  }
  await Deno.chmod(join(root, "tmp"), 0o1777);
  await Deno.copyFile("/bin/bash", join(root, "bin/bash"));
  const ldd = await sh(["ldd", "/bin/bash"]);
  for (const lib of ldd.matchAll(/(\/\S+\.so[^\s]*)/g)) {
    const target = join(root, lib[1]);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.copyFile(await Deno.realPath(lib[1]), target);
  }
  const busybox = "/bin/busybox";
  await Deno.copyFile(busybox, join(root, "bin/busybox"));
  await Deno.chmod(join(root, "bin/busybox"), 0o755);
  const applets = (await sh([busybox, "--list"])).split("\n").filter(Boolean);
  for (const applet of applets) {
    if (applet === "bash") continue;
    await Deno.symlink("busybox", join(root, "bin", applet)).catch(() => {});
  }
  await Deno.symlink("/bin/busybox", join(root, "usr/bin/env")).catch(() => {});
  await Deno.writeTextFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  await Deno.writeTextFile(join(root, "etc/group"), "root:x:0:\n");
  await sh(["tar", "-C", root, "-cf", tar + ".part", "."]);
  await Deno.rename(tar + ".part", tar);
  return tar;
}

const ready = new Map<TestEngine, Promise<string | null>>();

async function engineWorks(engine: TestEngine): Promise<string | null> {
  const which = await run(["sh", "-c", `command -v ${engine}`]);
  if (which.code !== 0) return `${engine} is not installed`;
  const probe = engine === "apptainer"
    ? await run([engine, "--version"])
    : await run([engine, "version"]);
  if (probe.code !== 0) return `${engine} does not answer: ${probe.out.trim().split("\n")[0]}`;
  return null;
}

async function prepare(engine: TestEngine): Promise<string | null> {
  const why = await engineWorks(engine);
  if (why) return why;
  return await withLock(async () => {
    if (engine === "apptainer") {
      try {
        await Deno.stat(TEST_SIF);
        return null;
      } catch {
        await buildRootfs();
        const out = await run([
          "apptainer",
          "build",
          "--force",
          TEST_SIF + ".part",
          join(CACHE, "rootfs"),
        ]);
        if (out.code !== 0) return `apptainer build failed: ${out.out}`;
        await Deno.rename(TEST_SIF + ".part", TEST_SIF);
        return null;
      }
    }
    const has = await run([engine, "image", "inspect", TEST_IMAGE]);
    if (has.code === 0) return null;
    const tar = await buildRootfs();
    const out = await run([engine, "import", tar, TEST_IMAGE]);
    return out.code === 0 ? null : `${engine} import failed: ${out.out}`;
  });
}

/**
 * Make sure an engine runs and has the test image.
 *
 * @returns `null` when it is ready, or why it is not. Throws when the engine is required.
 */
export async function engineReady(engine: TestEngine): Promise<string | null> {
  if (!ready.has(engine)) ready.set(engine, prepare(engine));
  const why = await ready.get(engine)!;
  if (why && required.has(engine)) {
    throw new Error(`${engine} is required (XQC_REQUIRE_ENGINES) but unavailable: ${why}`);
  }
  if (why) console.log(`%cSKIPPED ${engine}: ${why}`, "color: yellow");
  return why;
}

/** The image argument for an engine. */
export function imageFor(engine: TestEngine): string {
  return engine === "apptainer" ? TEST_SIF : TEST_IMAGE;
}

/** A fresh temporary folder (removed at exit is not needed: /tmp). */
export function tempDir(prefix = "xqc-test-"): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/** The engines, for tests that run on each. */
export const ENGINE_NAMES: TestEngine[] = ["docker", "podman", "apptainer"];

/** Names of the containers of a workdir that the engine still has. */
export async function containersOf(
  engine: "docker" | "podman",
  workdir: string,
): Promise<string[]> {
  const out = await sh([
    engine,
    "ps",
    "-a",
    "--filter",
    `label=xqc.workdir=${workdir}`,
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** Read a file of a job. */
export function readJobFile(workdir: string, index: number, file: string): Promise<string> {
  return Deno.readTextFile(join(workdir, String(index), file));
}

/** Wait until a condition holds, checking every 50 ms, up to a limit (tests only). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
