"""Every -tp a model allows, and the shape of its plan at each: plans.py TPC MODEL.tpl...

For each model, compiles `--emit plan` at -tp 2, 3, ... until tpc refuses (or 64), and prints
one line a run of -tp values whose plans have the same collectives per layer block and outside
the blocks:

  llama.tpl: tp 2-32: 2 per block, 2 outside
  llama.tpl: refused at tp 33: ... the largest -tp that works is 32

The refusal must name the largest -tp that works, and that must be the last -tp that compiled:
a model may not skip a -tp its dimensions allow.
"""
import json
import os
import re
import subprocess
import sys

LIMIT = 64


def plan(tpc, model, tp):
    p = subprocess.run([tpc, model, "-tp", str(tp), "--emit", "plan"], capture_output=True,
                       text=True, timeout=120)
    if p.returncode:
        return None, p.stderr
    s = json.loads(p.stdout)["summary"]
    return (s["collectives_per_block"], s["collectives_outside_blocks"]), None


def main():
    tpc, models = sys.argv[1], sys.argv[2:]
    bad = 0
    for model in models:
        name = os.path.basename(model)
        runs, tp, refusal = [], 2, None
        while tp <= LIMIT:
            shape, err = plan(tpc, model, tp)
            if shape is None:
                refusal = err
                break
            if runs and runs[-1][2] == shape:
                runs[-1][1] = tp
            else:
                runs.append([tp, tp, shape])
            tp += 1
        for first, last, (block, outside) in runs:
            print("%s: tp %d-%d: %d per block, %d outside" % (name, first, last, block, outside))
        if refusal is not None:
            m = re.search(r"largest -tp that works is (\d+)", refusal)
            largest = int(m.group(1)) if m else None
            ok = largest == tp - 1
            bad += not ok
            print("%s: refused at tp %d: largest -tp that works is %s%s" % (
                name, tp, largest, "" if ok else "  WRONG (the last that compiled is %d):\n%s"
                % (tp - 1, refusal)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
