// Bad input to `xqc run`: one line naming the problem, exit 2 (or 3), nothing written.

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { engineReady, tempDir, TEST_IMAGE } from "./helpers.ts";

const dockerMissing = await engineReady("docker");

interface Case {
  name: string;
  args: (dir: string) => string[];
  files?: Record<string, string>;
  stdin?: string;
  message: string | RegExp;
  code?: number;
}

const IMAGE = ["-i", TEST_IMAGE];
const cases: Case[] = [
  {
    name: "an unknown option",
    args: () => ["run", "--bogus", "--", "true"],
    message: `Unknown option "--bogus"`,
  },
  { name: "an unknown command", args: () => ["launch"], message: `Unknown command "launch"` },
  {
    name: "a negative --forks",
    args: () => ["run", ...IMAGE, "-n", "-1", "--", "true"],
    message: "--forks must be a whole number >= 1",
  },
  {
    name: "a --forks that is not a number",
    args: () => ["run", ...IMAGE, "-n", "four", "--", "true"],
    message: `not "four"`,
  },
  {
    name: "a negative --timeout",
    args: () => ["run", ...IMAGE, "--timeout", "-5", "--", "true"],
    message: "--timeout must be a number >= 0",
  },
  {
    name: "a negative --num-retries",
    args: () => ["run", ...IMAGE, "--num-retries", "-2", "--", "true"],
    message: "--num-retries",
  },
  {
    name: "an unknown error strategy",
    args: () => ["run", ...IMAGE, "--error-strategy", "explode", "--", "true"],
    message: `must be one of ignore, retry, halt, not "explode"`,
  },
  {
    name: "a malformed volume",
    args: () => ["run", ...IMAGE, "-v", "/a:/b:/c:/d", "--", "true"],
    message: `Volume "/a:/b:/c:/d"`,
  },
  {
    name: "a bad mount option",
    args: () => ["run", ...IMAGE, "-v", "/tmp:/b:rox", "--", "true"],
    message: `unknown mount option "rox"`,
  },
  {
    name: "a missing host path",
    args: () => ["run", ...IMAGE, "-v", "/no/such/dir-xqc:/x", "--", "true"],
    message: `host path "/no/such/dir-xqc" does not exist`,
  },
  {
    name: "a bad env name",
    args: () => ["run", ...IMAGE, "-e", "1BAD=x", "--", "true"],
    message: `bad env name "1BAD"`,
  },
  { name: "no jobs at all", args: () => ["run", ...IMAGE], message: "No jobs" },
  { name: "no image", args: () => ["run", "--", "true"], message: "No image" },
  {
    name: "a command and a jobs file together",
    args: (d) => ["run", ...IMAGE, "-j", join(d, "jobs"), "--", "true"],
    files: { jobs: "true\n" },
    message: "not both",
  },
  {
    name: "a jobs file that does not exist",
    args: (d) => ["run", ...IMAGE, "-j", join(d, "nope.txt")],
    message: /Jobs file ".*nope\.txt" does not exist/,
  },
  {
    name: "an empty jobs file",
    args: (d) => ["run", ...IMAGE, "-j", join(d, "jobs")],
    files: { jobs: "\n# only a comment\n" },
    message: "has no jobs",
  },
  {
    name: "an empty job list on stdin",
    args: () => ["run", ...IMAGE, "-j", "-"],
    stdin: "\n\n",
    message: `Jobs file "-" has no jobs`,
  },
  {
    name: "an unknown spec key",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\nforkz: 2\njobs: [true]\n" },
    message: /Spec ".*spec\.yaml": unknown key "forkz"/,
  },
  {
    name: "a wrong type in the spec",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\nforks: four\njobs: [true]\n" },
    message: /Spec ".*spec\.yaml": key "forks" must be a whole number >= 1, not "four"/,
  },
  {
    name: "a negative number in the spec",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\nnumRetries: -1\njobs: [true]\n" },
    message: `key "numRetries" must be a whole number >= 0, not -1`,
  },
  {
    name: "a bad env name in the spec",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\nenvs: {A-B: 1}\njobs: [true]\n" },
    message: `key "envs": bad env name "A-B"`,
  },
  {
    name: "a bad job in the spec",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\njobs:\n  - true\n  - {command: x}\n" },
    message: `key "jobs" item 2: unknown key "command"`,
  },
  {
    name: "a job whose cmd is a number",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\njobs:\n  - {cmd: 3}\n" },
    message: `key "jobs" item 1: "cmd" must be a command line or an argv list, not 3`,
  },
  {
    name: "an --entrypoint with an unclosed quote",
    args: () => ["run", ...IMAGE, "--entrypoint", "/bin/bash -c 'x", "--", "true"],
    message: `Option --entrypoint "/bin/bash -c 'x": Unclosed single quote`,
  },
  {
    name: "an empty job list in the spec",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\njobs: []\n" },
    message: "has no jobs",
  },
  {
    name: "broken YAML",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\njobs: [true,\n  false\nforks: }\n" },
    message: /Spec ".*spec\.yaml" is not valid YAML: .*line 4/,
  },
  {
    name: "a spec that does not exist",
    args: (d) => ["run", "-f", join(d, "nope.yaml")],
    message: /Spec ".*nope\.yaml" cannot be read/,
  },
  {
    name: "a workdir that is a file",
    args: (d) => ["run", ...IMAGE, "-w", join(d, "afile"), "--", "true"],
    files: { afile: "x" },
    message: /Workdir ".*afile" is not a directory/,
  },
  {
    name: "volumes with the local scheduler",
    args: () => ["run", "--scheduler", "local", "-v", "/tmp:/x", "--", "true"],
    message: `"volumes" needs the container, slurm or sge scheduler`,
  },
  {
    name: "an engine binary that does not exist",
    args: () => ["run", ...IMAGE, "-b", "/no/such/docker", "--", "true"],
    message: `Engine binary "/no/such/docker" is not on PATH`,
    code: 3,
  },
  {
    name: "an image that is not there, with --pull never",
    args: () => ["run", "-i", "xqc-no-such-image:9", "--pull", "never", "--", "true"],
    message: `Image "xqc-no-such-image:9" is not on this machine for docker and --pull is never`,
    code: 3,
  },
  {
    name: "an image that is not there and cannot be pulled (--quiet: no progress)",
    args: () => ["run", "-i", "xqc-no-such-image:9", "--quiet", "--", "true"],
    message: `Could not pull "xqc-no-such-image:9" with docker`,
    code: 3,
  },
  {
    name: "a memory size that is not one",
    args: () => ["run", ...IMAGE, "--memory", "lots", "--", "true"],
    message:
      `Option --memory must be a memory size of 1m or more such as "512m" or "4g", not "lots"`,
  },
  {
    name: "a CPU count that is not one",
    args: () => ["run", ...IMAGE, "--cpus", "0", "--", "true"],
    message: `Option --cpus must be a number of CPUs > 0 such as 2 or 1.5, not "0"`,
  },
  {
    name: "a bad memory in a spec's job",
    args: (d) => ["run", "-f", join(d, "spec.yaml")],
    files: { "spec.yaml": "image: x\njobs:\n  - {cmd: echo, memory: 12x}\n" },
    message: `key "jobs" item 1: "memory" must be a memory size`,
  },
  {
    name: "resources with the local scheduler",
    args: () => ["run", "--scheduler", "local", "--memory", "1g", "--", "true"],
    message: `Option "memory" needs the container, slurm or sge scheduler, not "local"`,
  },
  {
    name: "a pull policy that is not one",
    args: () => ["run", ...IMAGE, "--pull", "sometimes", "--", "true"],
    message: `Option --pull must be one of missing, always, never, not "sometimes"`,
  },
];

for (const c of cases) {
  const needsDocker = c.code === 3 && /Image|pull/.test(c.message.toString());
  Deno.test({
    name: `xqc run rejects ${c.name} with one line, exit ${c.code ?? 2}, nothing written`,
    ignore: needsDocker && dockerMissing !== null,
  }, async () => {
    const dir = await tempDir();
    for (const [name, text] of Object.entries(c.files ?? {})) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const result = await xqc(c.args(dir), { cwd: dir, stdin: c.stdin });
    assertEquals(result.code, c.code ?? 2, result.stderr);
    const lines = result.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 1, `more than one line: ${result.stderr}`);
    assertMatch(lines[0], /^xqc: [A-Z"]/);
    if (typeof c.message === "string") assertStringIncludes(lines[0], c.message);
    else assertMatch(lines[0], c.message);
    assert(!result.stderr.includes("    at "), "a stack trace");
    assertEquals(result.stdout, "");
    const after = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(after, before, "something was written");
    await assertRejects(() => Deno.stat(join(dir, ".xqute")));
  });
}

Deno.test("xqc prints help and version, and help for each command", async () => {
  const version = await xqc(["--version"]);
  assertEquals(version.code, 0);
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assertEquals(version.stdout, `xqc ${config.version}\n`);
  for (const command of ["run", "status", "logs", "kill"]) {
    const help = await xqc([command, "--help"]);
    assertEquals(help.code, 0);
    assertStringIncludes(help.stdout, `Usage: xqc ${command}`);
  }
  const bare = await xqc([]);
  assertEquals(bare.code, 2);
  assertStringIncludes(bare.stdout, "xqc run");
});
