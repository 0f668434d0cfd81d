"""A real single-node SLURM on localhost for the tests: install (Debian's slurm-wlm and munge, as
root), configure, start munged, slurmctld and slurmd, and stop exactly the daemons started here.

Use as a context manager; it yields the environment (SLURM_CONF) that sbatch, squeue and the
Snakemake SLURM executor need:

    with local_slurm(tmp_dir) as env:
        subprocess.run([...snakemake --workflow-profile profiles/slurm...], env=env)

Raises ``SlurmUnavailable`` (the tests skip with its message) when not root or apt cannot install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ["slurm-wlm", "munge"]
DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be set up on this machine (not root, no apt, install failed)."""


def install_slurm() -> None:
    """apt-get install slurm-wlm and munge unless their binaries are present (root only)."""
    if all(Path(p).exists() for p in DAEMONS) and shutil.which("sbatch"):
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable("a local SLURM needs root to install slurm-wlm and munge (apt-get)")
    if not shutil.which("apt-get"):
        raise SlurmUnavailable("no apt-get to install slurm-wlm and munge")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SlurmUnavailable(f"apt-get install {' '.join(PACKAGES)} failed: {result.stderr[-500:]}")


def slurm_conf(state: Path, *, host: str, cpus: int, memory_mb: int) -> str:
    """A single-node slurm.conf: no accounting, linuxproc tracking, cons_tres selection. The node
    may declare more CPUs than the machine has (config_overrides): the test's jobs are short and
    mostly wait on the scheduler, so running more of them at once shortens the run."""
    return f"""ClusterName=acomtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _wait_for_node(env: dict, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed", "allocated"):
            return
        time.sleep(1)
    raise SlurmUnavailable(f"the local SLURM node did not come up within {timeout_s:.0f} s: {out.stdout} {out.stderr}")


@contextlib.contextmanager
def local_slurm(state: Path, *, cpus: int | None = None, memory_mb: int = 20000) -> Iterator[dict]:
    """Start munged, slurmctld and slurmd for a one-node cluster with its state under ``state``;
    yield the environment for SLURM clients; stop exactly those processes on exit."""
    install_slurm()
    state = Path(state)
    for sub in ("ctld", "d", "munge"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    # srun inside a batch job reads the default path, whatever SLURM_CONF the submitter had: the
    # config goes there, and only where no SLURM is configured already (never over a real one).
    conf = SYSTEM_CONF
    if conf.exists():
        raise SlurmUnavailable(f"{conf} exists: this machine has a SLURM configuration; not replacing it")
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(slurm_conf(state, host=host, cpus=cpus or max(4, os.cpu_count() or 1), memory_mb=memory_mb))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started: list[subprocess.Popen] = []
    try:
        run_munge = Path("/run/munge")
        run_munge.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_munge, "munge", "munge")
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True, check=False).returncode != 0:
            started.append(subprocess.Popen(["runuser", "-u", "munge", "--", "/usr/sbin/munged", "-F"],
                                            stdout=subprocess.DEVNULL, stderr=open(state / "munged.log", "w")))  # noqa: SIM115
            time.sleep(1)
        started.append(subprocess.Popen(["/usr/sbin/slurmctld", "-D", "-i", "-f", str(conf)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)
        started.append(subprocess.Popen(["/usr/sbin/slurmd", "-D", "-f", str(conf)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        (state / "pids").write_text("".join(f"{p.pid}\n" for p in started))
        _wait_for_node(env)
        yield env
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        conf.unlink(missing_ok=True)
