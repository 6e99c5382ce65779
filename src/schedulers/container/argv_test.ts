import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { join } from "@std/path";
import { ContainerScheduler, EngineUnavailableError } from "../../../mod.ts";
import { engineOf } from "../../engines/select.ts";
import { DEFAULT_MOUNTED_WORKDIR, MOUNTED_CWD } from "./options.ts";
import { tempDir } from "../../../tests/helpers.ts";

// A stand-in binary: these tests build argv only and never run it.
async function fakeBin(name: string): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, name);
  await Deno.writeTextFile(path, "#!/bin/sh\nexit 0\n");
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("engineOf() tells the engine from the binary's basename", () => {
  assertEquals(engineOf("docker"), "docker");
  assertEquals(engineOf("/opt/bin/podman"), "podman");
  assertEquals(engineOf("/usr/bin/apptainer"), "apptainer");
  assertEquals(engineOf("singularity"), "apptainer");
  assertThrows(() => engineOf("/usr/bin/runc"), TypeError, `"/usr/bin/runc"`);
});

Deno.test("ContainerScheduler builds the docker argv: --rm, name, labels, user, -e, -v, workdir", async () => {
  const workdir = await tempDir();
  const data = await tempDir();
  const s = new ContainerScheduler({
    image: "docker://python:3.12",
    bin: await fakeBin("docker"),
    workdir,
    volumes: [`${data}:/data:ro`],
    envs: { SECRET: "s3cr3t" },
    user: "1000:1000",
    binArgs: ["--network", "none"],
    jobnamePrefix: "bio",
  });
  const job = s.createJob(3, ["echo", "x"], { SEED: "1" });
  job.trial = 2;
  const argv = s.engineCommand(job);
  assertEquals(argv.slice(1), [
    "run",
    "--rm",
    "--name",
    `bio-${s.runId}-3-2`,
    "--label",
    `xqc.run=${s.runId}`,
    "--label",
    `xqc.workdir=${workdir}`,
    "--label",
    "xqc.job=3",
    "--user",
    "1000:1000",
    "-e",
    "SECRET",
    "-e",
    "SEED",
    "-v",
    `${data}:/data:ro`,
    "-v",
    `${workdir}:${DEFAULT_MOUNTED_WORKDIR}`,
    "--workdir",
    DEFAULT_MOUNTED_WORKDIR,
    "--network",
    "none",
    "python:3.12",
    "/bin/bash",
  ]);
  assert(!argv.join(" ").includes("s3cr3t"), "an env value is in argv");
  assertEquals(s.processEnv(job), { SECRET: "s3cr3t", SEED: "1" });
  assertEquals(job.mountedMetadir, `${DEFAULT_MOUNTED_WORKDIR}/3`);
  assertEquals(s.wrapperSuffix, "container-docker");
});

Deno.test("ContainerScheduler builds the apptainer argv: exec --cleanenv --no-eval, --bind, --pwd, envs as APPTAINERENV_*", async () => {
  const workdir = await tempDir();
  const s = new ContainerScheduler({
    image: "docker://alpine",
    bin: await fakeBin("singularity"),
    workdir,
    entrypoint: ["/bin/bash", "--noprofile"],
    remove: false,
  });
  const job = s.createJob(0, ["true"], { A: "1" });
  assertEquals(s.engineCommand(job).slice(1), [
    "--quiet",
    "exec",
    "--cleanenv",
    "--no-eval",
    "--bind",
    `${workdir}:${DEFAULT_MOUNTED_WORKDIR}`,
    "--pwd",
    DEFAULT_MOUNTED_WORKDIR,
    "docker://alpine",
    "/bin/bash",
    "--noprofile",
  ]);
  // The job's variables go in as APPTAINERENV_*, kept literally (--no-eval); nothing else
  // of this environment goes in (--cleanenv).
  assertEquals(s.processEnv(job), { APPTAINERENV_A: "1" });
  assertEquals(s.image, "docker://alpine");
});

Deno.test("ContainerScheduler podman argv has no --rm with remove: false", async () => {
  const s = new ContainerScheduler({
    image: "x",
    bin: await fakeBin("podman"),
    workdir: await tempDir(),
    remove: false,
  });
  assert(!s.engineCommand(s.createJob(0, ["true"])).includes("--rm"));
});

Deno.test("ContainerScheduler volumeAsCwd mounts the folder as cwd and puts the workdir in it", async () => {
  const host = await tempDir();
  const s = new ContainerScheduler({ image: "x", bin: await fakeBin("docker"), volumeAsCwd: host });
  assertEquals(s.cwd, MOUNTED_CWD);
  assertEquals(s.workdir, join(host, ".xqute"));
  assertEquals(s.mountedWorkdir, `${MOUNTED_CWD}/.xqute`);
  assertEquals(s.volumes, [{ host, container: MOUNTED_CWD, options: "" }]);
  assert(s.jobcmdWrapperInit.includes(`cd ${MOUNTED_CWD}`));
  const workdir = await tempDir();
  const s2 = new ContainerScheduler({
    image: "x",
    bin: await fakeBin("docker"),
    mountAsCwd: host,
    workdir,
  });
  assertEquals(s2.mountedWorkdir, "/mnt/disks/.xqute");
  assertEquals(s2.volumes.length, 2);
});

Deno.test("ContainerScheduler cwd inside a volume puts the workdir under its host folder", async () => {
  const host = await tempDir();
  const s = new ContainerScheduler({
    image: "x",
    bin: await fakeBin("docker"),
    mount: `${host}:/container`,
    cwd: "/container/cwd",
    mountedWorkdir: "/tmp/workdir",
  });
  assertEquals(s.workdir, join(host, "cwd", ".xqute"));
  assertEquals(s.volumes[1], {
    host: join(host, "cwd", ".xqute"),
    container: "/tmp/workdir",
    options: "",
  });
  assertThrows(
    () =>
      new ContainerScheduler({ image: "x", bin: "docker", mount: `${host}:/c`, cwd: "/elsewhere" }),
    TypeError,
    "not inside any volume",
  );
});

Deno.test("ContainerScheduler rejects conflicting and bad options", async () => {
  const bin = await fakeBin("docker");
  const host = await tempDir();
  assertThrows(
    () => new ContainerScheduler({ image: "x", bin, volumes: [], mount: [] }),
    TypeError,
    "not both",
  );
  assertThrows(
    () => new ContainerScheduler({ image: "x", bin, volumeAsCwd: host, mountAsCwd: host }),
    TypeError,
    "not both",
  );
  assertThrows(
    () => new ContainerScheduler({ image: "x", bin, volumeAsCwd: host, cwd: "/x" }),
    TypeError,
    "not both",
  );
  assertThrows(() => new ContainerScheduler({ image: "", bin }), TypeError, `"image" is required`);
  assertThrows(
    () => new ContainerScheduler({ image: "x", bin, volumes: [`${host}:/a`, `${host}/..:/a`] }),
    TypeError,
    `Mount point "/a"`,
  );
  assertThrows(() => new ContainerScheduler({ image: "x", bin, user: "a b" }), TypeError, `"user"`);
});

Deno.test("ContainerScheduler names a bin that is not on PATH", () => {
  assertThrows(
    () => new ContainerScheduler({ image: "x", bin: "docker-not-installed-xqc" }),
    EngineUnavailableError,
    `Engine binary "docker-not-installed-xqc" is not on PATH`,
  );
});
