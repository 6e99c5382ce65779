import { assertEquals } from "../../tests/assert.ts";
import type { Resources } from "../core/resources.ts";
import { ApptainerEngine } from "./apptainer.ts";
import { DockerEngine } from "./docker.ts";
import type { RunSpec } from "./engine.ts";
import { PodmanEngine } from "./podman.ts";

// Argv only: these engines are never run here (there is no GPU on these machines).
const spec = (resources: Resources, user: string | null = null): RunSpec => ({
  image: "img",
  entrypoint: ["/bin/bash"],
  mounts: [],
  envNames: [],
  cwd: "",
  binArgs: [],
  remove: true,
  user,
  resources,
  name: "c",
  labels: {},
});

const between = (argv: string[], from: string, to: string) =>
  argv.slice(argv.indexOf(from) + 1, argv.indexOf(to));

Deno.test("DockerEngine.runArgv() gives limits as --cpus, --memory and --gpus", () => {
  const docker = new DockerEngine("docker", 0);
  assertEquals(
    between(docker.runArgv(spec({ cpus: 1.5, memory: 512 * 1024 ** 2, gpus: "all" })), "c", "img")
      .slice(2),
    ["--cpus", "1.5", "--memory", "512m", "--gpus", "all"],
  );
  assertEquals(docker.gpuArgs(2), ["--gpus", "2"]);
});

Deno.test("PodmanEngine.runArgv() gives GPUs as CDI devices, and keeps a rootless user's id", () => {
  assertEquals(new PodmanEngine("podman", 0).gpuArgs("all"), ["--device", "nvidia.com/gpu=all"]);
  assertEquals(new PodmanEngine("podman", 0).gpuArgs(2), [
    "--device",
    "nvidia.com/gpu=0",
    "--device",
    "nvidia.com/gpu=1",
  ]);
  const rootless = new PodmanEngine("podman", 1000);
  assertEquals(rootless.userArgs(null), ["--userns=keep-id"]);
  assertEquals(rootless.userArgs("5:5"), ["--user", "5:5"]);
  const root = new PodmanEngine("podman", 0);
  assertEquals(root.userArgs(null)[0], "--user");
  assertEquals(root.runArgv(spec({ memory: 4 * 1024 ** 3 })).includes("4g"), true);
});

Deno.test("ApptainerEngine.runArgv() gives --cpus, --memory and --nv, in a clean environment", () => {
  const apptainer = new ApptainerEngine("apptainer");
  const argv = apptainer.runArgv(spec({ cpus: 2, memory: 256 * 1024 ** 2, gpus: 1 }));
  assertEquals(argv.slice(0, 5), ["apptainer", "--quiet", "exec", "--cleanenv", "--no-eval"]);
  assertEquals(between(argv, "--no-eval", "img"), ["--cpus", "2", "--memory", "256m", "--nv"]);
  apptainer.config = "/cache/apptainer.conf";
  assertEquals(apptainer.runArgv(spec({})).slice(1, 5), [
    "--quiet",
    "-c",
    "/cache/apptainer.conf",
    "exec",
  ]);
  assertEquals(apptainer.clientEnv({ A: "$(x)" }), { APPTAINERENV_A: "$(x)" });
});
