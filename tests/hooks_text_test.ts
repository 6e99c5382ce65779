// A prescript and a postscript go into the wrapper and the pool's job file as written: a
// heredoc in them still ends at its word, on every way a job can run.

import { assertEquals } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  readJobFile,
  tempDir,
  TEST_IMAGE,
  type TestEngine,
  testOn,
} from "./helpers.ts";

await checkEngines("docker", "slurm");

const PRESCRIPT = `cat >"$XQUTE_JOB_METADIR/pre.txt" <<'END'
pre $XQUTE_JOB_INDEX
END
read -r xqc_test_pre <"$XQUTE_JOB_METADIR/pre.txt"`;
const POSTSCRIPT = `cat >"$XQUTE_JOB_METADIR/post.txt" <<END
post $XQUTE_JOB_INDEX
END`;

const WAYS: { name: string; engines: TestEngine[]; args: string[] }[] = [
  { name: "local", engines: [], args: ["--scheduler", "local"] },
  { name: "a container a job", engines: ["docker"], args: ["-i", TEST_IMAGE] },
  { name: "a pool", engines: ["docker"], args: ["-i", TEST_IMAGE, "--pool"] },
  { name: "Slurm", engines: ["slurm"], args: ["--scheduler", "slurm"] },
];

for (const way of WAYS) {
  testOn(
    way.engines,
    `--prescript and --postscript with heredocs keep their text (${way.name})`,
    async () => {
      const workdir = join(await tempDir(), "wd");
      const result = await xqc([
        "run",
        ...way.args,
        "-w",
        workdir,
        "-n",
        "2",
        "--prescript",
        PRESCRIPT,
        "--postscript",
        POSTSCRIPT,
        "--json",
        "--",
        "bash",
        "-c",
        'echo "ran after $xqc_test_pre"',
      ]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(JSON.parse(result.stdout).jobs[0].rc, 0);
      assertEquals(await readJobFile(workdir, 0, "pre.txt"), "pre $XQUTE_JOB_INDEX\n");
      assertEquals(await readJobFile(workdir, 0, "post.txt"), "post 0\n");
    },
  );
}
