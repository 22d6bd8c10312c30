"""Run a command; pass its output through and fail unless it exits with the given status
within the time limit (a signal or a hang is never an expected status).

usage: expect_exit.py STATUS SECONDS COMMAND ARG...
"""
import subprocess
import sys

status, seconds, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
try:
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds)
except subprocess.TimeoutExpired:
    print("expect_exit: %s did not finish in %g s" % (cmd[0], seconds))
    sys.exit(1)
sys.stdout.buffer.write(p.stdout)
if p.returncode != status:
    print("expect_exit: exit status %d, expected %d" % (p.returncode, status))
    sys.exit(1)
print("expect_exit: status %d" % p.returncode)
