// The help texts of `xqc` and its commands.

import { VERSION } from "../core/version.ts";

/** The help of `xqc` and of each command. */
export const HELP: Readonly<
  Record<"main" | "run" | "status" | "logs" | "kill" | "report", string>
> = {
  main: `xqc ${VERSION}: run batches of shell jobs in containers (docker, podman, apptainer)

Usage:
  xqc run [options] [-- COMMAND...]   run one command, a jobs file or a YAML spec
  xqc status [-w DIR] [--json] [--watch] [--all]
  xqc logs INDEX [-w DIR] [--stderr] [--follow]
  xqc kill [-w DIR]
  xqc report [-w DIR] [-o report.html]

  xqc COMMAND --help    the options of a command
  xqc --version

Exit codes: 0 all jobs succeeded, 1 a job failed or was killed, 2 bad usage or spec,
3 engine, daemon or image unavailable, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.`,
  run: `Usage: xqc run [options] [-- COMMAND...]

Jobs (one of):
  -- COMMAND...            one job: the command and its arguments, passed literally
  -j, --jobs FILE          one job per line, a bash command line (pipes, redirections, as GNU
                           parallel runs a line); blank and # lines skipped; "-" reads stdin
  -f, --file SPEC.yaml     a YAML spec: these options in camelCase, and "jobs"; flags override it

Options:
  -i, --image IMAGE        the image (docker/podman name; apptainer .sif, folder or URI)
  -b, --bin BIN            the engine: docker, podman, apptainer/singularity, or a path (default docker)
  -n, --forks N            jobs at once (default 1)
  -w, --workdir DIR        metadirs and state (default ./.xqute)
  -v, --volume VOL         host:container[:ro] or NAME=/host/path; repeat
  -e, --env K=V            an environment variable for every job (K alone: from here); repeat
      --user UID[:GID]     the container user (docker/podman; default yours)
      --no-remove          keep the containers (no --rm)
      --entrypoint CMD     what runs the job script in the container, split as a shell
                           splits words (default /bin/bash)
      --bin-arg ARG        an extra engine argument, before the image; repeat
      --cpus N             CPUs a job may use (1.5 allowed; Slurm: --cpus-per-task;
                           Grid Engine: -pe smp N)
      --memory SIZE        memory a job may use: 512m, 4g (Slurm: --mem; Grid Engine:
                           -l h_vmem per slot)
      --gpus N|all         GPUs a job gets (docker --gpus, podman CDI, apptainer --nv,
                           Slurm --gres=gpu:N, Grid Engine -l <--sge-gpu-resource>=N)
      --memory-retry-factor F  a job that ran out of memory is retried with F times as much
                           (default 2)
      --pull POLICY        missing (default: pull an image once when it is not here),
                           always, or never
      --pull-arg ARG       an extra argument for the pull (--tls-verify=false, --no-https);
                           repeat
      --sif-cache DIR      where apptainer keeps pulled images (default
                           $XDG_CACHE_HOME/xqc/sif)
      --env-pass NAME      a variable of this environment that jobs get too; repeat
      --pool               run jobs in long-lived containers, one per fork, instead of a
                           container a job (jobs share each container's /tmp)
      --pool-recycle N     with --pool, a fresh container every N jobs (default: never)
      --cwd DIR            where jobs start, inside the container
      --volume-as-cwd DIR  mount DIR at /mnt/disks/.cwd and start jobs there
      --error-strategy S   ignore, retry or halt (default ignore)
      --num-retries N      retries per job with retry (default 3)
      --timeout SECONDS    stop a job's command after this long (rc 124)
      --prescript BASH     run before each job's command
      --postscript BASH    run after each job's command
      --recheck-interval S check every S seconds that running jobs still exist (default 60)
      --scheduler NAME     container (default), local (bash on this host), slurm or sge
      --slurm-opt K=V      an sbatch option for every job (K alone: a bare flag); repeat
      --slurm-array        submit the jobs as job arrays (--no-slurm-array: never; default:
                           when 50 or more are submitted at once)
      --sbatch, --squeue, --scancel PATH   Slurm's programs (default: on PATH)
      --sge-opt K=V        a qsub option for every job, a '#$ -K V' line (K alone: a bare
                           flag); repeat
      --sge-array          submit the jobs as job arrays, -t 1-N -tc forks
                           (--no-sge-array: never; default: when 50 or more at once)
      --sge-pe NAME        the parallel environment --cpus asks slots of (default smp)
      --sge-memory-resource NAME  the resource --memory asks, per slot (default h_vmem)
      --sge-gpu-resource NAME     the resource --gpus asks (default: none; --gpus fails)
      --qsub, --qstat, --qdel, --qacct PATH   Grid Engine's programs (default: on PATH)
      --poll-interval S    seconds between two looks at the Slurm or Grid Engine queue
                           (default 1)
      --exit-read-timeout S   seconds to wait for a job's rc file after the cluster says
                           it ended (a shared filesystem shows it late; default 270)
      --resume             skip jobs that finished in this workdir with the same command,
                           envs, image content and options
      --dry-run            print each job's engine command; start nothing
      --json               print the run summary as JSON on stdout
      --quiet              print only errors`,
  status: `Usage: xqc status [-w DIR] [--json] [--watch] [--all]

Show the run of a workdir and its jobs, from its state (works while it runs). A run of over
1000 jobs shows its counts, its running jobs and its first failed ones; --all shows them all,
printed as they are read.
  -w, --workdir DIR   the workdir (default ./.xqute)
      --json          print {run, jobs} as JSON
      --watch         refresh every second until the run ends
      --all           every job, however many`,
  logs: `Usage: xqc logs INDEX [-w DIR] [--stderr] [--follow]

Print a job's stdout (or stderr).
  -w, --workdir DIR   the workdir (default ./.xqute)
      --stderr        print job.stderr instead
      --follow        keep printing while the job runs`,
  kill: `Usage: xqc kill [-w DIR] [--force]

Stop the run that owns the workdir (its containers are killed), and remove any container
a crashed run of it left. A run of another host is not signalled: exit 2 naming its host.
  -w, --workdir DIR   the workdir (default ./.xqute)
      --force         a Slurm or Grid Engine run of another host: cancel its jobs from here`,
  report: `Usage: xqc report [-w DIR] [-o FILE]

Write one self-contained HTML file of a run: the summary, a timeline of every job and trial,
peak memory and CPU per job and per kind of command, the failed jobs with their stderr.
  -w, --workdir DIR   the workdir (default ./.xqute)
  -o, --output FILE   where (default ./report.html)`,
};
