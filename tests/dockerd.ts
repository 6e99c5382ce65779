// A second, private dockerd for tests that break the daemon (kill it, freeze it), so the
// machine's own daemon and the other tests go on undisturbed.

import { join } from "@std/path";
import { rootfs, run, sh, TEST_IMAGE } from "./image.ts";
import { tempDir, waitFor } from "./helpers.ts";

/** A private dockerd with the test image, and how to reach and stop it. */
export interface SecondDockerd {
  /** The environment that points the docker CLI at it. */
  env: Record<string, string>;
  /** The daemon's process. */
  process: Deno.ChildProcess;
  /** Stop it for good and clean up what it left (its containers, its mounts). */
  stop(): Promise<void>;
}

/**
 * Start a private dockerd on its own socket and import the test image into it.
 *
 * @returns The daemon.
 */
export async function startSecondDockerd(): Promise<SecondDockerd> {
  const root = await tempDir("xqc-dockerd-");
  const socket = join(root, "docker.sock");
  const env = { DOCKER_HOST: `unix://${socket}` };
  const daemon = new Deno.Command("dockerd", {
    args: [
      "--data-root",
      join(root, "data"),
      "--exec-root",
      join(root, "exec"),
      "--pidfile",
      join(root, "dockerd.pid"),
      "-H",
      `unix://${socket}`,
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    for (const signal of ["SIGCONT", "SIGKILL"] as const) {
      try {
        daemon.kill(signal);
      } catch {
        // Gone.
      }
    }
    await daemon.status;
    // The containers of a killed daemon live on under containerd's shims: stop them.
    await run(["sh", "-c", `pkill -f ${root} || true`]);
    await sh([
      "sh",
      "-c",
      `umount -R ${root}/exec 2>/dev/null; umount -R ${root}/data 2>/dev/null; true`,
    ]);
  };
  try {
    await waitFor(
      "the second dockerd",
      async () =>
        (await new Deno.Command("docker", {
          args: ["version"],
          env,
          stdout: "null",
          stderr: "null",
        }).output()).success,
      30000,
    );
    const { tar } = await rootfs();
    const imported = await new Deno.Command("docker", {
      args: ["import", tar, TEST_IMAGE],
      env,
      stdout: "null",
    }).output();
    if (!imported.success) throw new Error("docker import into the second daemon failed");
  } catch (e) {
    await stop();
    throw e;
  }
  return { env, process: daemon, stop };
}
