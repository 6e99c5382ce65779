// The tiny image the tests, the demo and the benchmark run: the host's bash (with the
// libraries ldd lists) and a static busybox, imported into docker/podman or built as a SIF.

import { join } from "@std/path";

/** The engines an image is made for. */
export type ImageEngine = "docker" | "podman" | "apptainer";

/** The image's name for docker and podman. */
export const TEST_IMAGE = "xqc-test:latest";
const CACHE = "/tmp/xqc-test-image";
/** The SIF file apptainer runs. */
export const TEST_SIF: string = join(CACHE, "xqc-test.sif");
const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"];

/** Run a command; its exit code and its stdout and stderr together. */
export async function run(argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const o = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    return { code: o.code, out: d.decode(o.stdout) + d.decode(o.stderr) };
  } catch (e) {
    return { code: 127, out: String(e) };
  }
}

/** Run a command and return its output, throwing when it fails. */
export async function sh(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.out}`);
  return r.out;
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

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function busybox(): Promise<string | null> {
  for (const path of BUSYBOX) if (await exists(path)) return path;
  return null;
}

async function buildRootfs(): Promise<string> {
  const root = join(CACHE, "rootfs");
  const tar = join(CACHE, "rootfs.tar");
  if (await exists(tar) && await exists(join(root, "bin", "bash"))) return tar;
  const box = await busybox();
  if (!box) throw new Error("busybox is not installed (apt-get install busybox-static)");
  await Deno.remove(root, { recursive: true }).catch(() => {});
  for (const dir of ["bin", "tmp", "proc", "sys", "dev", "etc", "root", "mnt", "usr/bin"]) {
    await Deno.mkdir(join(root, dir), { recursive: true });
  }
  await Deno.chmod(join(root, "tmp"), 0o1777);
  await Deno.copyFile("/bin/bash", join(root, "bin/bash"));
  for (const lib of (await sh(["ldd", "/bin/bash"])).matchAll(/(\/\S+\.so[^\s]*)/g)) {
    const target = join(root, lib[1]);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.copyFile(await Deno.realPath(lib[1]), target);
  }
  await Deno.copyFile(box, join(root, "bin/busybox"));
  await Deno.chmod(join(root, "bin/busybox"), 0o755);
  for (const applet of (await sh([box, "--list"])).split("\n").filter(Boolean)) {
    if (applet !== "bash") await Deno.symlink("busybox", join(root, "bin", applet)).catch(() => {});
  }
  await Deno.symlink("/bin/busybox", join(root, "usr/bin/env")).catch(() => {});
  await Deno.writeTextFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  await Deno.writeTextFile(join(root, "etc/group"), "root:x:0:\n");
  await sh(["tar", "-C", root, "-cf", tar + ".part", "."]);
  await Deno.rename(tar + ".part", tar);
  return tar;
}

/**
 * Why an engine cannot run jobs here, if it cannot: not installed, or not answering (its
 * daemon is down).
 *
 * @param engine The engine.
 * @returns `null` when it answers, or the reason.
 */
export async function engineProblem(engine: ImageEngine): Promise<string | null> {
  if ((await run(["sh", "-c", `command -v ${engine}`])).code !== 0) {
    return `${engine} is not installed`;
  }
  const probe = await run(engine === "apptainer" ? [engine, "--version"] : [engine, "version"]);
  return probe.code === 0 ? null : `${engine} does not answer: ${probe.out.trim().split("\n")[0]}`;
}

/**
 * The image's root filesystem, as a folder (apptainer takes it as a sandbox image) and as
 * the tar that docker and podman import; built once.
 *
 * @returns The folder and the tar.
 */
export async function rootfs(): Promise<{ dir: string; tar: string }> {
  const tar = await withLock(buildRootfs);
  return { dir: join(CACHE, "rootfs"), tar };
}

/**
 * Make sure an engine has the tiny image, building it once (under a lock, so parallel
 * test files build it once).
 *
 * @param engine The engine.
 * @returns `null` when the image is there, or why it cannot be.
 */
export async function ensureImage(engine: ImageEngine): Promise<string | null> {
  return await withLock(async () => {
    try {
      if (engine === "apptainer") {
        if (await exists(TEST_SIF)) return null;
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
      if ((await run([engine, "image", "inspect", TEST_IMAGE])).code === 0) return null;
      const out = await run([engine, "import", await buildRootfs(), TEST_IMAGE]);
      return out.code === 0 ? null : `${engine} import failed: ${out.out}`;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  });
}

/** The image argument for an engine. */
export function imageFor(engine: ImageEngine): string {
  return engine === "apptainer" ? TEST_SIF : TEST_IMAGE;
}
