"""run_within.py SECONDS STATUS -- COMMAND...

Runs COMMAND, passing its output through, and succeeds only if it ends within SECONDS with exit
status STATUS ("nonzero": any but 0). Tests use it where `not` is not enough: a job that fails
must also end every rank, not hang.
"""
import subprocess
import sys


def main():
    seconds, status, dashes, command = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    assert dashes == "--" and command, __doc__
    try:
        result = subprocess.run(command, timeout=seconds)
    except subprocess.TimeoutExpired:
        print("run_within: still running after %g s: %s" % (seconds, " ".join(command)))
        sys.exit(1)
    ok = result.returncode != 0 if status == "nonzero" else result.returncode == int(status)
    if not ok:
        print("run_within: expected exit status %s, saw %d" % (status, result.returncode))
    sys.exit(0 if ok else 1)


main()
