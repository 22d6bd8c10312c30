"""Run a command; print its wall time, its peak memory and its messages, and fail if it does
not exit with STATUS or takes more than its bounds.

usage: measure.py STATUS MAX_SECONDS MAX_MB COMMAND ARG...
"""
import resource
import subprocess
import sys
import time

status, seconds, megabytes = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
cmd = sys.argv[4:]
start = time.monotonic()
p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10 * seconds)
took = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
print("measure: %.2f s (bound %g), %.0f MB (bound %g), exit status %d"
      % (took, seconds, peak, megabytes, p.returncode))
sys.stdout.write(p.stderr.decode(errors="replace")[:2000])
sys.exit(p.returncode != status or took > seconds or peak > megabytes)
