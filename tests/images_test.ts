// Images from a real registry (../shared/registry/registry-up.sh, 127.0.0.1:5000): an image
// that is not here is pulled once for all jobs, on each engine; a job may have its own image;
// a registry that is down is exit 3 with nothing started.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  ENGINE_NAMES,
  readJobFile,
  REGISTRY,
  REGISTRY_LOG,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
} from "./helpers.ts";
import { rootfs, run } from "./image.ts";

await checkEngines("registry", "docker", "podman", "apptainer");

/**
 * Push the test image to a repository of the registry no test used, so that no engine has
 * it yet and the registry's log tells its pulls apart. `env` becomes the image's ENV.
 */
async function pushFresh(name: string, env?: string): Promise<string> {
  const ref = `${REGISTRY}/xqc-test/${name}-${crypto.randomUUID().slice(0, 8)}:1`;
  if (env) await sh(["docker", "import", "--change", `ENV ${env}`, (await rootfs()).tar, ref]);
  else await sh(["docker", "tag", TEST_IMAGE, ref]);
  await sh(["docker", "push", ref]);
  await sh(["docker", "rmi", ref]);
  return ref;
}

/** Where the registry's log ends now: pulls are counted after it. */
async function logMark(): Promise<number> {
  return (await Deno.readTextFile(REGISTRY_LOG)).length;
}

/**
 * How many times an image was pulled since a mark of the log: each pull resolves its tag
 * once (docker with a HEAD, podman with a GET, apptainer with a HEAD of its own), whatever
 * blobs it then needs. Apptainer then GETs the manifest by tag again, through its library
 * (user agent go-containerregistry), only when its cache lacks that manifest's digest: that
 * second request is part of the same pull, and whether it comes depends on what earlier
 * tests left in the cache, so it is not counted.
 */
async function pulls(ref: string, mark: number): Promise<number> {
  const [repository, tag] = ref.slice(REGISTRY.length + 1).split(":");
  const log = (await Deno.readTextFile(REGISTRY_LOG)).slice(mark);
  const asked = new RegExp(`"(GET|HEAD) /v2/${repository}/manifests/${tag} HTTP/[\\d.]+" 200 `);
  return log.split("\n").filter((line) => asked.test(line) && !/ "go-containerregistry/.test(line))
    .length;
}

/** What an engine needs to pull from a plain-http registry. */
function pullFlags(engine: string): string[] {
  if (engine === "podman") return ["--pull-arg", "--tls-verify=false"];
  if (engine === "apptainer") return ["--pull-arg", "--no-https"];
  return [];
}

async function forget(engine: string, ref: string): Promise<void> {
  if (engine !== "apptainer") await run([engine, "rmi", "-f", ref]);
}

for (const engine of ENGINE_NAMES) {
  testOn(
    ["registry", engine],
    `an image not on this machine is pulled once for 8 jobs at 4 forks (${engine})`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      const ref = await pushFresh(engine);
      const mark = await logMark();
      const image = engine === "apptainer" ? `docker://${ref}` : ref;
      await Deno.writeTextFile(join(dir, "jobs"), "bash -c 'echo $XQUTE_JOB_INDEX'\n".repeat(8));
      try {
        const result = await xqc([
          "run",
          "-b",
          engine,
          "-i",
          image,
          "-n",
          "4",
          "-w",
          workdir,
          "-j",
          join(dir, "jobs"),
          "--sif-cache",
          join(dir, "sif"),
          ...pullFlags(engine),
          "--json",
        ]);
        assertEquals(result.code, 0, result.stderr);
        assertEquals(JSON.parse(result.stdout).succeeded, 8);
        assertEquals(await pulls(ref, mark), 1, "the image was not pulled exactly once");
        assertEquals(result.stderr.split(`pulling ${image} (`).length - 1, 1);
        assertStringIncludes(result.stderr, `pulled ${image} in `);
        assertEquals(await readJobFile(workdir, 7, "job.stdout"), "7\n");
        if (engine === "apptainer") {
          // Every job runs the one SIF in the cache, named by its content.
          const sifs = [...Deno.readDirSync(join(dir, "sif"))].filter((e) =>
            e.name.endsWith(".sif")
          );
          assertEquals(sifs.length, 1);
          assertStringIncludes(await readJobFile(workdir, 5, "job.submission"), sifs[0].name);
        }
        // Now it is here: a second run pulls nothing.
        const again = await xqc([
          "run",
          "-b",
          engine,
          "-i",
          image,
          "-w",
          workdir,
          "--sif-cache",
          join(dir, "sif"),
          ...pullFlags(engine),
          "--",
          "true",
        ]);
        assertEquals(again.code, 0, again.stderr);
        assertEquals(await pulls(ref, mark), 1);
      } finally {
        await forget(engine, ref);
      }
    },
  );
}

testOn(
  ["registry", "docker"],
  "jobs with images of their own: each image pulled once, each job in its own",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const a = await pushFresh("per-job-a", "WHICH=a");
    const b = await pushFresh("per-job-b", "WHICH=b");
    const mark = await logMark();
    const jobs = [0, 1, 2, 3, 4, 5].map((i) => `  - {cmd: 'echo $WHICH', image: ${i % 2 ? b : a}}`);
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `image: ${TEST_IMAGE}\nforks: 3\nworkdir: ${workdir}\njobs:\n${
        jobs.join("\n")
      }\n  - echo default\n`,
    );
    try {
      const result = await xqc(["run", "-f", join(dir, "spec.yaml"), "--json"]);
      assertEquals(result.code, 0, result.stderr);
      for (let i = 0; i < 6; i++) {
        assertEquals(await readJobFile(workdir, i, "job.stdout"), i % 2 ? "b\n" : "a\n");
      }
      assertEquals(await readJobFile(workdir, 6, "job.stdout"), "default\n");
      assertEquals([await pulls(a, mark), await pulls(b, mark)], [1, 1]);
    } finally {
      await forget("docker", a);
      await forget("docker", b);
    }
  },
);

for (const engine of ENGINE_NAMES) {
  testOn(
    engine,
    `a registry that is down: exit 3 with the engine's message, nothing started (${engine})`,
    async () => {
      const dir = await tempDir();
      const ref = "127.0.0.1:5999/xqc-test/nowhere:1";
      const result = await xqc([
        "run",
        "-b",
        engine,
        "-i",
        engine === "apptainer" ? `docker://${ref}` : ref,
        "--sif-cache",
        join(dir, "sif"),
        ...pullFlags(engine),
        "--",
        "touch",
        join(dir, "ran"),
      ], { cwd: dir });
      assertEquals(result.code, 3, result.stderr);
      const last = result.stderr.trimEnd().split("\n").at(-1)!;
      assertStringIncludes(last, `Could not pull "`);
      assert(/connect|refused|dial/i.test(last), last);
      assertEquals(await Deno.stat(join(dir, "ran")).then(() => true, () => false), false);
      assertEquals(await Deno.stat(join(dir, ".xqute")).then(() => true, () => false), false);
    },
  );
}
