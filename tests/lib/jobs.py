"""Running the commands of a test script: tpc, mpirun, the references."""
import subprocess
import sys

# Ranks may outnumber the cores, and a rank may use more than one thread.
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]


def run(cmd, timeout=900, env=None, cwd=None):
    """cmd's output (stdout and stderr); on failure, print it and what failed, and exit 1."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       env=env, cwd=cwd)
    if p.returncode != 0:
        sys.stdout.write(p.stdout.decode(errors="replace"))
        print("command failed (%d): %s" % (p.returncode, " ".join(cmd)))
        sys.exit(1)
    return p.stdout.decode(errors="replace")
