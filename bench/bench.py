"""The CPU speed benchmark's driver (run it through bench/run.sh, which builds what it needs and
sets the environment). Not a test: it measures and reports, and exits 0 whatever it finds.

For each point (model, tokens) it times, interleaved in rounds so that the machine's drift hits
all alike:
  tpc_tp1, tpc_tp2  the tpc programs, mpirun -np 1 / -np 2, one thread a rank (--bench K)
  floor             bench/floor.c replaying the tpc -tp 1 program's own BLAS calls (recorded
                    once per point with gemmtrace.so) back to back, on one core
  floor_tp2         two floors at once, one per core, each replaying one rank's calls of the
                    tpc -tp 2 program: what two busy cores give these GEMMs with nothing else
                    (no collectives, no waiting); floor / floor_tp2 bounds tp1/tp2
  eager             PyTorch eager, one thread, the same model (torch_models.py)
  gloo_tp2          the seed's tensor-parallel MLP: PyTorch on gloo, 2 processes (MLPs only)
  prof_tp1          the decoder at 128 and 512 tokens with every op timed (a copy of the
                    generated C with a clock read at each op boundary): attention's share;
                    with --breakdown every point, at -tp 1 and 2 (prof_tp2)
Each launch reports the median of K forwards; a point's time is the median of its rounds, and a
ratio is the median over rounds of that round's ratio (the two measured seconds apart).

Then the kernel study: sgemm vs sgemv at one token and sgemm NT ([out, in] weights) vs NN
([in, out]) at M = 1, 8, 32, 128, 512, for every weight shape of the three models.

Writes bench/results/last.json and last.csv, and has bench/plot.py draw last.png from the JSON.
"""
import argparse
import csv
import datetime
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")          # build products and scratch (not kept)
RESULTS = os.path.join(HERE, "results")

LAYERS = 4  # the decoder stack's depth (decoder.tpl's default)
MODELS = {  # name -> (tpl, tpc -D overrides, (hidden, intermediate) for an MLP, else None)
    "mlp 1024x4096": ("swiglu.tpl", {"hidden": 1024, "intermediate": 4096}, (1024, 4096)),
    "mlp 2048x5632": ("swiglu.tpl", {"hidden": 2048, "intermediate": 5632}, (2048, 5632)),
    "decoder %dL" % LAYERS: ("decoder.tpl", {"layers": LAYERS}, None),
}
DECODER = "decoder %dL" % LAYERS
TOKENS = [1, 32, 128, 512]
REPS = {1: 30, 32: 10, 128: 5, 512: 2}   # forwards timed per launch, by tokens
PROFILED = {128, 512}                      # decoder token counts profiled for attention's share
MPIRUN = ["mpirun"]
ENV = dict(os.environ)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, env=None, timeout=900):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env or ENV, timeout=timeout)
    if p.returncode != 0:
        sys.stdout.write(p.stdout)
        raise SystemExit("bench: command failed (%d): %s" % (p.returncode, " ".join(cmd)))
    return p.stdout


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


# ---- the machine's other load ------------------------------------------------------------------
# The machine is shared: other work on its two cores slows a 2-rank run most (a rank waits in
# the all-reduce for its peer while that peer's core runs something else). Each round records
# how many cores processes other than the benchmark's used meanwhile: the CPU time /proc/stat
# counts as busy (or stolen by the hypervisor), less this process's and its children's.

def _system_busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds(extra_pids=()):
    t = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        t += r.ru_utime + r.ru_stime
    for pid in extra_pids:  # the gloo workers: children not yet waited for
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return t


class OtherLoad:
    """Cores used by other processes between start() and cores()."""

    def __init__(self, pids=()):
        self.pids = pids
        self.start()

    def start(self):
        self.t, self.busy, self.own = time.time(), _system_busy_seconds(), _own_seconds(self.pids)

    def cores(self):
        wall = time.time() - self.t
        other = (_system_busy_seconds() - self.busy) - (_own_seconds(self.pids) - self.own)
        return max(0.0, other / wall) if wall > 0 else 0.0


def wait_quiet(limit, pids=()):
    """Wait (up to `limit` seconds) for a second in which others use under 0.25 of a core."""
    deadline, load = time.time() + limit, None
    while True:
        probe = OtherLoad(pids)
        time.sleep(1.0)
        load = probe.cores()
        if load < 0.25 or time.time() >= deadline:
            return load


# ---- building ----------------------------------------------------------------------------------

def program_dir(model, tp, variant=""):
    return os.path.join(OUT, "%s-tp%d%s" % (model.replace(" ", "_"), tp, variant))


def compile_model(tpc, model, tp):
    tpl, defines, _ = MODELS[model]
    out = program_dir(model, tp)
    cmd = [tpc, os.path.join(HERE, tpl), "-tp", str(tp), "-o", out]
    for k, v in defines.items():
        cmd += ["-D", "%s=%s" % (k, v)]
    run(cmd)
    return out


def program_path(out):
    return os.path.join(out, [f for f in os.listdir(out) if f.endswith(".c")][0][:-2])


PROF_PRELUDE = r"""
/* Added by bench/bench.py: prof_mark(k) charges the time since the previous mark to the op
 * that mark started and starts op k (-1: none), so each op's time is summed over the forward. */
enum { PROF_OPS = %(n)d };
static const char *const prof_labels[PROF_OPS] = {%(labels)s};
static double prof_seconds[PROF_OPS], prof_last;
static int prof_current = -1;

static void prof_mark(int k)
{
    double t = tpcrt_now();
    if (prof_current >= 0)
        prof_seconds[prof_current] += t - prof_last;
    prof_current = k;
    prof_last = t;
}

static void prof_report(int forwards)
{
    for (int k = 0; tpcrt_rank() == 0 && k < PROF_OPS; k++)
        printf("prof: %%.6f ms | %%s\n", prof_seconds[k] * 1e3 / forwards, prof_labels[k]);
}

"""


def instrument(src):
    """The generated C with a clock read at every op boundary of forward(): each '// NAME =
    OP(...)' comment the code generator writes above an op's code starts that op's section
    (other comments, such as '// (views: ...)', are left alone). Time before the first op (the
    input copy) goes to '(prologue)'; an op inside the layer loop sums over the layers."""
    start = src.index("static void forward(")
    body = src.index("\n{\n", start) + 3
    end = src.index("\n}\n", body)
    labels = ["(prologue)"]

    def mark(m):
        label = re.split(r"\s{2,}", m.group(2))[0].strip()
        if label not in labels:
            labels.append(label)
        return "%sprof_mark(%d);\n%s" % (m.group(1), labels.index(label), m.group(0))

    code = re.sub(r"^([ \t]*)// ([\w|., ]+ = \w+\(.*)$", mark, src[body:end], flags=re.M)
    code = "    prof_mark(0);\n" + code + "\n    prof_mark(-1);"
    prelude = PROF_PRELUDE % {"n": len(labels),
                              "labels": ", ".join(json.dumps(l) for l in labels)}
    src = src[:start] + prelude + src[start:body] + code + src[end:]
    loop = "for (int k = 0; k < args.bench; k++)"
    if loop not in src or "tpcrt_bench_report(" not in src:
        raise SystemExit("bench: the generated main() changed; update instrument() in bench.py")
    src = src.replace(loop, "memset(prof_seconds, 0, sizeof prof_seconds);\n        " + loop, 1)
    src = src.replace("tpcrt_bench_report(", "prof_report(args.bench);\n        "
                      "tpcrt_bench_report(", 1)
    return src


def build_profiled(model, tp):
    """A copy of the tpc program with every op timed, built with the generated Makefile."""
    src_dir, out = program_dir(model, tp), program_dir(model, tp, "-prof")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(src_dir, out)
    prog = program_path(out)
    with open(prog + ".c") as f:
        code = instrument(f.read())
    with open(prog + ".c", "w") as f:
        f.write(code)
    os.remove(prog)
    run(["make", "-s", "-C", out])
    return out


# ---- the recorded calls and the floor's input -------------------------------------------------

def operand_extents(f):
    """(address, bytes) of each operand of one traced call (row-major), as A, B, C."""
    if f[0] == "sgemm":
        ta, tb, m, n, k = f[2], f[3], int(f[4]), int(f[5]), int(f[6])
        a, lda, b, ldb, c, ldc = (int(f[8], 16), int(f[9]), int(f[10], 16), int(f[11]),
                                  int(f[13], 16), int(f[14]))
        ext = lambda rows, cols, ld: ((rows - 1) * ld + cols) * 4
        return [(a, ext(m, k, lda) if ta == "N" else ext(k, m, lda)),
                (b, ext(k, n, ldb) if tb == "N" else ext(n, k, ldb)),
                (c, ext(m, n, ldc))]
    ta, m, n = f[2], int(f[3]), int(f[4])
    a, lda, x, incx, y, incy = (int(f[6], 16), int(f[7]), int(f[8], 16), int(f[9]),
                                int(f[11], 16), int(f[12]))
    xlen, ylen = (n, m) if ta == "N" else (m, n)
    return [(a, ((m - 1) * lda + n) * 4), (x, ((xlen - 1) * incx + 1) * 4),
            (y, ((ylen - 1) * incy + 1) * 4)]


def calls_from_trace(lines):
    """gemmtrace.so's lines -> floor.c's --calls text: the memory the calls touch, merged into
    regions (so buffers the program reuses are reused, and weights keep their layout), and the
    calls with operands as REGION:OFFSET."""
    fields = [l.split() for l in lines if l.strip()]
    for f in fields:
        if f[1] != "R":
            raise SystemExit("bench: a column-major call in the trace: %s" % " ".join(f))
    spans = sorted((p, p + size) for f in fields for p, size in operand_extents(f))
    regions = []
    for lo, hi in spans:
        if regions and lo <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], hi)
        else:
            regions.append([lo, hi])
    starts = [r[0] for r in regions]

    def where(p):
        i = max(j for j, s in enumerate(starts) if s <= p)  # few regions: a scan is fine
        return "%d:%d" % (i, (p - starts[i]) // 4)

    text = ["region %d %d %d" % (i, (hi - lo + 3) // 4, (lo % 64) // 4)
            for i, (lo, hi) in enumerate(regions)]
    for f in fields:
        (a, _), (b, _), (c, _) = operand_extents(f)
        if f[0] == "sgemm":
            text.append("sgemm %s %s %s %s %s %s %s %s %s %s %s %s %s" % (
                f[2], f[3], f[4], f[5], f[6], f[7], where(a), f[9], where(b), f[11], f[12],
                where(c), f[14]))
        else:
            text.append("sgemv %s %s %s %s %s %s %s %s %s %s %s" % (
                f[2], f[3], f[4], f[5], where(a), f[7], where(b), f[9], f[10],
                where(c), f[12]))
    return "\n".join(text) + "\n"


def signature(calls_text):
    """The calls without their addresses: what two call lists must share to be the same."""
    out = []
    for l in calls_text.splitlines():
        f = l.split()
        if f and f[0] in ("sgemm", "sgemv"):
            out.append(tuple(x for x in f if ":" not in x))
    return out


def shapes(calls_text):
    """The calls' kernels, transposes and sizes alone (leading dimensions and betas, which
    follow the code generator's buffer plan, left out)."""
    return [s[:4] if s[0] == "sgemv" else s[:6] for s in signature(calls_text)]


def describe(calls_text):
    """'3x sgemm NT 128x1536x1024, ...': the distinct calls of a list, counted."""
    counts = {}
    for s in signature(calls_text):
        key = ("%s %s%s %sx%sx%s" % (s[0], s[1], s[2], s[3], s[4], s[5]) if s[0] == "sgemm"
               else "sgemv %s %sx%s" % (s[1], s[2], s[3]))
        counts[key] = counts.get(key, 0) + 1
    return ", ".join("%dx %s" % (n, k) for k, n in counts.items())


def model_flags(model, tokens):
    """floor --model arguments for a model, without the layout and kernel choices."""
    _, d, mlp = MODELS[model]
    if mlp:
        return ["--model", "mlp", "--hidden", str(mlp[0]), "--intermediate", str(mlp[1]),
                "--tokens", str(tokens)]
    return ["--model", "decoder", "--hidden", "1024", "--heads", "16", "--kv-heads", "4",
            "--intermediate", "2816", "--layers", str(d["layers"]), "--tokens", str(tokens)]


def record_calls(tools, model, tp, tokens):
    """Run the -tp TP program once under gemmtrace.so; write one floor --calls file a rank and
    return their paths and texts."""
    prog = program_path(program_dir(model, tp))
    prefix = os.path.join(OUT, "trace-")
    for old in os.listdir(OUT):
        if old.startswith("trace-"):
            os.remove(os.path.join(OUT, old))
    env = dict(ENV, GEMMTRACE=prefix + "%d.txt")  # one log a process
    run(MPIRUN + ["-np", str(tp), "-x", "LD_PRELOAD=" + tools["gemmtrace"], "-x", "GEMMTRACE",
                  prog, "--random-weights", "1", "--random-input", "2", "--dim", "batch=1",
                  "--dim", "seq=%d" % tokens], env=env)
    logs = sorted(f for f in os.listdir(OUT) if f.startswith("trace-"))
    if len(logs) != tp:
        raise SystemExit("bench: %d BLAS call logs from %s at -np %d" % (len(logs), prog, tp))
    paths, texts = [], []
    for i, name in enumerate(logs):
        with open(os.path.join(OUT, name)) as f:
            texts.append(calls_from_trace(f.read().splitlines()))
        paths.append(os.path.join(OUT, "calls-%s-%d-tp%d-%d.txt" % (
            model.replace(" ", "_"), tokens, tp, i)))
        with open(paths[-1], "w") as f:
            f.write(texts[-1])
    return paths, texts


def trace_point(tools, model, tokens):
    """Record the -tp 1 and -tp 2 programs' calls at this many tokens (the floors' --calls
    files). Also find which floor --model flags give the -tp 1 calls (so the flags mode mirrors
    tpc)."""
    (path,), (text,) = record_calls(tools, model, 1, tokens)
    ranks, _ = record_calls(tools, model, 2, tokens)
    mirrored = None
    for layout in ("nt", "nn"):
        for m1 in ("gemm", "gemv"):
            flags = model_flags(model, tokens) + ["--layout", layout, "--m1", m1]
            mine = run([tools["floor"]] + flags + ["--print-calls"])
            if shapes(mine) == shapes(text):
                mirrored = mirrored or "--layout %s --m1 %s" % (layout, m1)
    return {"tp1": path, "tp2": ranks}, {"calls": describe(text), "floor_flags": mirrored}


# ---- measuring ---------------------------------------------------------------------------------

BENCH_LINE = re.compile(r"median ([\d.]+) ms, min ([\d.]+) ms, max ([\d.]+) ms"
                        r"(?:.*collectives ([\d.]+)%)?")


def parse_bench(text, what):
    m = BENCH_LINE.search(text)
    if not m:
        raise SystemExit("bench: no timing line from %s:\n%s" % (what, text))
    return {"ms": float(m.group(1)), "min": float(m.group(2)), "max": float(m.group(3)),
            "collectives": float(m.group(4)) if m.group(4) else None}


def tpc_args(tokens, reps):
    return ["--random-weights", "1", "--random-input", "2", "--dim", "batch=1",
            "--dim", "seq=%d" % tokens, "--bench", str(reps), "--threads", "1"]


def measure_tpc(model, tp, tokens, reps, variant=""):
    prog = program_path(program_dir(model, tp, variant))
    text = run(MPIRUN + ["-np", str(tp), prog] + tpc_args(tokens, reps))
    r = parse_bench(text, prog)
    if variant:  # the profiled copy: every op's ms per forward, and attention's share
        ops = [(float(ms), label) for ms, label in re.findall(r"prof: ([\d.]+) ms \| (.*)", text)]
        total = sum(ms for ms, _ in ops)
        r["ops"] = {label: ms for ms, label in ops}
        r["categories"] = categorize(ops)
        if "attention" in r["categories"]:
            r["attention_share"] = 100.0 * r["categories"]["attention"] / total
    return r


def categorize(ops):
    """ms per forward by kind of op: gemm (any op with a linear in it, as 'x = add(x,
    linear(...))' whose add rides on the GEMM's beta), attention (its per-head GEMMs and
    softmax), collective, or the op's own name (rmsnorm, rope, mul, ...)."""
    cat = {}
    for ms, label in ops:
        m = re.search(r"=\s*(\w+)\(", label)
        op = m.group(1) if m else label
        kind = ("gemm" if "linear(" in label else "attention" if op == "attention" else
                "collective" if op in ("all_reduce", "all_gather", "reduce_scatter",
                                       "broadcast", "gather") else
                "silu*mul" if "silu(" in label and op == "mul" else op)
        cat[kind] = cat.get(kind, 0.0) + ms
    return cat


def measure_floor(tools, calls, reps):
    # one core, as mpirun binds tpc's rank 0 to core 0
    text = run(["taskset", "-c", "0", tools["floor"], "--calls", calls, "--reps", str(reps)])
    return parse_bench(text, "floor")


def measure_floor_tp2(tools, ranks, reps):
    """The -tp 2 ranks' calls replayed at once, rank r on core r as mpirun binds them: both
    floors warm up, say they are ready, and are let go together, so each times while the other
    runs. A forward of the pair takes as long as the slower one."""
    procs = [subprocess.Popen(["taskset", "-c", str(core), tools["floor"], "--calls", calls,
                               "--reps", str(reps), "--go-on-stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ENV) for core, calls in enumerate(ranks)]
    try:
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "floor: ready":
                raise SystemExit("bench: floor (-tp 2) did not start: %s%s" % (
                    line, p.stdout.read()))
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        r = [parse_bench(p.communicate(timeout=900)[0], "floor (-tp 2)") for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return {k: max(x[k] for x in r) for k in ("ms", "min", "max")}


class Torch:
    """Eager models built once in this process (pinned to core 0 while timing), and the gloo
    group. Imported only when needed: torch takes seconds to load."""

    def __init__(self, with_gloo):
        import torch
        import torch_models as tm
        self.torch, self.tm = torch, tm
        tm.one_thread()
        self.models = {}
        self.gloo = tm.TPGroup() if with_gloo else None

    def model(self, name):
        if name not in self.models:
            self.models.clear()  # one model's weights at a time
            _, d, mlp = MODELS[name]
            self.models[name] = (self.tm.SwiGLU(*mlp) if mlp else
                                 self.tm.Decoder(layers=d["layers"]))
        return self.models[name]

    def eager(self, name, tokens, reps):
        m = self.model(name)
        hidden = MODELS[name][2][0] if MODELS[name][2] else 1024
        x = self.torch.randn(1, tokens, hidden, generator=self.torch.Generator().manual_seed(2))
        cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        try:
            with self.torch.inference_mode():
                med, lo, hi = self.tm.summary(self.tm.time_forwards(lambda: m(x), reps))
        finally:
            os.sched_setaffinity(0, cpus)  # children (mpirun) must not inherit core 0 only
        return {"ms": med, "min": lo, "max": hi}

    def tp(self, name, tokens, reps):
        med, lo, hi, share = self.gloo.time(*MODELS[name][2], tokens, reps)
        return {"ms": med, "min": lo, "max": hi, "collectives": share}


# ---- the rounds --------------------------------------------------------------------------------

def contenders(model, tokens, breakdown=False):
    c = ["tpc_tp1", "tpc_tp2", "floor", "floor_tp2", "eager"]
    if MODELS[model][2]:
        c.append("gloo_tp2")
    if breakdown:
        c += ["prof_tp1", "prof_tp2"]
    elif model == DECODER and tokens in PROFILED:
        c.append("prof_tp1")
    return c


def measure_guarded(what, model, tokens, reps, tools, torch, calls, guard):
    """measure(), noting the cores other processes used meanwhile ('other'); when that was
    over a quarter core, wait for a quieter moment and measure again, up to guard["retries"]
    times while the run is within its time budget, and keep the quietest try."""
    best = None
    for attempt in range(1 + guard["retries"]):
        if attempt:
            if time.time() > guard["deadline"]:
                break
            wait_quiet(guard["wait"], guard["pids"])
            guard["retried"] += 1
        load = OtherLoad(guard["pids"])
        r = measure(what, model, tokens, reps, tools, torch, calls)
        r["other"] = round(load.cores(), 2)
        if best is None or r["other"] < best["other"]:
            best = r
        if best["other"] <= 0.25:
            break
    return best


def measure(what, model, tokens, reps, tools, torch, calls):
    if what in ("tpc_tp1", "tpc_tp2"):
        return measure_tpc(model, int(what[-1]), tokens, reps)
    if what in ("prof_tp1", "prof_tp2"):
        return measure_tpc(model, int(what[-1]), tokens, reps, "-prof")
    if what == "floor":
        return measure_floor(tools, calls[model, tokens]["tp1"], reps)
    if what == "floor_tp2":
        return measure_floor_tp2(tools, calls[model, tokens]["tp2"], reps)
    if what == "eager":
        return torch.eager(model, tokens, reps)
    return torch.tp(model, tokens, reps)


RATIOS = {  # name -> (numerator, denominator): all "how many times faster / slower"
    "tp1/floor": ("tpc_tp1", "floor"),
    "tp1/tp2": ("tpc_tp1", "tpc_tp2"),
    "floor1/2": ("floor", "floor_tp2"),
    "eager/tp1": ("eager", "tpc_tp1"),
    "eager/tp2": ("eager", "tpc_tp2"),
    "gloo/tp2": ("gloo_tp2", "tpc_tp2"),
}


def summarize_point(model, tokens, rounds):
    """A point's rounds -> medians of times, of per-round ratios, and the shares."""
    names = rounds[0].keys()
    p = {"model": model, "tokens": tokens,
         "ms": {n: median([r[n]["ms"] for r in rounds]) for n in names},
         "ms_min": {n: min(r[n]["min"] for r in rounds) for n in names},
         "rounds": [{n: r[n]["ms"] for n in names} for r in rounds],
         "other_cores": [{n: r[n]["other"] for n in names} for r in rounds]}
    p["ratios"] = {k: median([r[a]["ms"] / r[b]["ms"] for r in rounds])
                   for k, (a, b) in RATIOS.items() if a in names and b in names}
    p["collectives_tp2"] = median([r["tpc_tp2"]["collectives"] for r in rounds])
    if "gloo_tp2" in names:
        p["collectives_gloo"] = median([r["gloo_tp2"]["collectives"] for r in rounds])
    for tp in (1, 2):
        key = "prof_tp%d" % tp
        if key in names:
            if "attention_share" in rounds[0][key]:
                p["attention_share_tp%d" % tp] = median([r[key]["attention_share"]
                                                         for r in rounds])
            p["breakdown_tp%d" % tp] = {
                c: median([r[key]["categories"][c] for r in rounds])
                for c in rounds[0][key]["categories"]}
            p["ops_tp%d" % tp] = {o: median([r[key]["ops"][o] for r in rounds])
                                  for o in rounds[0][key]["ops"]}
    return p


# ---- the kernel study --------------------------------------------------------------------------

WEIGHTS = [  # (out, in) of every weight product, as tpc -tp 1 makes them (gate|up fused)
    ("mlp 1024x4096 gate|up", 8192, 1024), ("mlp 1024x4096 down", 1024, 4096),
    ("mlp 2048x5632 gate|up", 11264, 2048), ("mlp 2048x5632 down", 2048, 5632),
    ("decoder q|k|v", 1536, 1024), ("decoder o", 1024, 1024),
    ("decoder gate|up", 5632, 1024), ("decoder down", 1024, 2816),
]
KERNEL_M = [1, 8, 32, 128, 512]
KERNEL_REPS = {1: 20, 8: 20, 32: 10, 128: 4, 512: 2}


def kernel_variants(m):
    v = [("nt", "gemm"), ("nn", "gemm")]
    return v + [("nt", "gemv"), ("nn", "gemv")] if m == 1 else v


def kernel_study(tools, rounds, quick):
    """Median ms of one product for each weight shape, M, layout and kernel. Weights are
    cycled through copies (>= 64 MB in all) at M <= 32, where the time is the weight's trip
    from memory, so they come from DRAM as in a model; at M >= 128 one copy. Timed in CPU time
    (one thread: the time it ran), which other load on the shared machine disturbs less than
    wall time; a comparison of kernels on one core needs no more."""
    ms = {}
    shapes = WEIGHTS[:2] if quick else WEIGHTS
    ms_list = [1, 32, 512] if quick else KERNEL_M
    for _ in range(rounds):
        tasks = [(w, m, v) for w in shapes for m in ms_list for v in kernel_variants(m)]
        random.shuffle(tasks)
        for (name, n, k), m, (layout, kern) in tasks:
            copies = max(1, math.ceil(64e6 / (4 * n * k))) if m <= 32 else 1
            text = run(["taskset", "-c", "0", tools["floor"], "--model", "linear", "--out",
                        str(n), "--in", str(k), "--tokens", str(m), "--layout", layout,
                        "--m1", kern, "--copies", str(copies), "--reps", str(KERNEL_REPS[m]),
                        "--warmup", "1", "--clock", "cpu"])
            key = (name, n, k, m, layout, kern)
            ms.setdefault(key, []).append(parse_bench(text, "floor")["ms"])
    rows = []
    for (name, n, k) in shapes:
        for m in ms_list:
            row = {"weight": name, "N": n, "K": k, "M": m}
            for layout, kern in kernel_variants(m):
                row["%s_%s" % (layout, kern)] = median(ms[name, n, k, m, layout, kern])
            rows.append(row)
    return rows


# ---- reporting ---------------------------------------------------------------------------------

def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def print_table(points):
    cols = ["floor", "floor_tp2", "tpc_tp1", "tpc_tp2", "eager", "gloo_tp2"]
    head = ("%-14s %5s " % ("model", "tok") + " ".join("%9s" % c for c in cols) +
            " | " + " ".join("%9s" % r for r in RATIOS) + " | %6s %6s %7s %7s" %
            ("coll%", "gloo%", "attn%1", "attn%2"))
    print("milliseconds per forward (median over rounds) | ratios (median of per-round "
          "ratios; >1 = the second is faster) | shares")
    print(head)
    print("-" * len(head))
    for p in points:
        print("%-14s %5d " % (p["model"], p["tokens"]) +
              " ".join("%9s" % fmt(p["ms"].get(c)) for c in cols) + " | " +
              " ".join("%9s" % fmt(p["ratios"].get(r), "%.2fx") for r in RATIOS) +
              " | %6s %6s %7s %7s" % (fmt(p["collectives_tp2"], "%.1f"),
                                     fmt(p.get("collectives_gloo"), "%.1f"),
                                     fmt(p.get("attention_share_tp1"), "%.1f"),
                                     fmt(p.get("attention_share_tp2"), "%.1f")))


def evaluate_targets(points):
    """Each target: its value(s), the bound, met or not, and the points that miss it."""
    t = []

    def target(name, value, ok, detail=""):
        t.append({"target": name, "value": value, "met": bool(ok), "detail": detail})

    r = [(p, p["ratios"]["tp1/floor"]) for p in points]
    misses = ["%s@%d: %.2f" % (p["model"], p["tokens"], v) for p, v in r if v > 1.05]
    target("tpc tp1 / floor <= 1.05 at every point", max(v for _, v in r), not misses,
           "; ".join(misses))
    s = [(p, p["ratios"]["tp1/tp2"]) for p in points]
    target("tp1/tp2 speedup: median >= 1.8x", median([v for _, v in s]),
           median([v for _, v in s]) >= 1.8)
    low = ["%s@%d: %.2fx (floor %s)" % (p["model"], p["tokens"], v,
                                         fmt(p["ratios"].get("floor1/2"), "%.2fx"))
           for p, v in s if v < 1.6]
    target("tp1/tp2 speedup: none below 1.6x", min(v for _, v in s), not low, "; ".join(low))
    for tokens, bound, gloo_bound in ((1, 3.0, 3.5), (512, 1.0, 1.0)):
        at = [p for p in points if p["tokens"] == tokens]
        for key, b, name in (("eager/tp2", bound, "eager (b)"), ("gloo/tp2", gloo_bound,
                                                                "gloo TP (c)")):
            vals = [(p, p["ratios"][key]) for p in at if key in p["ratios"]]
            bad = ["%s: %.2fx" % (p["model"], v) for p, v in vals if v < b]
            target("tpc tp2 vs %s at %d token%s: >= %.1fx faster" % (
                name, tokens, "s" if tokens > 1 else "", b), min(v for _, v in vals),
                not bad, "; ".join(bad))
    return t


def print_targets(targets):
    print("\ntargets")
    for t in targets:
        print("  %-6s %-52s worst/median %.2f%s" % ("MET" if t["met"] else "MISSED", t["target"],
                                                  t["value"], ("   misses: " + t["detail"])
                                                  if t["detail"] else ""))


def print_breakdown(points):
    print("\nwhere tpc's time goes (profiled copy, ms per forward, median over rounds; ops "
          "under 0.1% left out)")
    for p in points:
        for tp in (1, 2):
            b = p.get("breakdown_tp%d" % tp)
            if b:
                total = sum(b.values())
                print("  %s @%d tp%d: total %.1f ms: " % (p["model"], p["tokens"], tp, total) +
                      ", ".join("%s %.2f (%.1f%%)" % (k, v, 100 * v / total)
                                for k, v in sorted(b.items(), key=lambda kv: -kv[1])
                                if v >= 0.001 * total))


def print_kernels(rows):
    print("\nkernel study: ms (CPU time) per product x[M, K] W, one thread; W [out N, in K] "
          "as tpc now (NT: sgemm N,T) or [in, out] (NN)")
    print("  %-22s %6s %5s %5s %9s %9s %9s %9s %8s %8s" % (
        "weight", "N", "K", "M", "NT gemm", "NN gemm", "NT gemv", "NN gemv", "NN/NT",
        "gemm/gemv"))
    for r in rows:
        gemv = min(v for v in (r.get("nt_gemv"), r.get("nn_gemv")) if v) if r["M"] == 1 else None
        print("  %-22s %6d %5d %5d %9s %9s %9s %9s %8s %8s" % (
            r["weight"], r["N"], r["K"], r["M"], fmt(r["nt_gemm"], "%.3f"),
            fmt(r["nn_gemm"], "%.3f"), fmt(r.get("nt_gemv"), "%.3f"),
            fmt(r.get("nn_gemv"), "%.3f"), fmt(r["nn_gemm"] / r["nt_gemm"], "%.2f"),
            fmt(r["nt_gemm"] / gemv if gemv else None, "%.2f")))


def write_csv(points, path):
    cols = ["floor", "floor_tp2", "tpc_tp1", "tpc_tp2", "eager", "gloo_tp2"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "tokens"] + ["%s_ms" % c for c in cols] + list(RATIOS) +
                   ["collectives_tp2_pct", "collectives_gloo_pct", "attention_share_tp1_pct",
                    "attention_share_tp2_pct"])
        for p in points:
            w.writerow([p["model"], p["tokens"]] +
                       [("%.4f" % p["ms"][c]) if c in p["ms"] else "" for c in cols] +
                       [("%.4f" % p["ratios"][r]) if r in p["ratios"] else "" for r in RATIOS] +
                       [("%.2f" % p[k]) if p.get(k) is not None else ""
                        for k in ("collectives_tp2", "collectives_gloo", "attention_share_tp1",
                                  "attention_share_tp2")])


# ---- checking that the models are the same ------------------------------------------------------

def check_models(torch):
    """tpc (tp 1 and 2) and the eager model on one checkpoint: the same outputs, so the eager
    baseline computes what tpc computes."""
    import torch as T
    out = []
    for name in (list(MODELS)[0], DECODER):
        m = torch.model(name)
        hidden = MODELS[name][2][0] if MODELS[name][2] else 1024
        ck, inp, res = (os.path.join(OUT, f) for f in ("check.safetensors", "check-in.npy",
                                                       "check-out.npy"))
        torch.tm.write_safetensors(ck, m.checkpoint())
        x = T.randn(1, 7, hidden, generator=T.Generator().manual_seed(3))
        np.save(inp, x.numpy())
        with T.inference_mode():
            want = m(x).numpy().astype(np.float64)
        for tp in (1, 2):
            run(MPIRUN + ["-np", str(tp), program_path(program_dir(name, tp)), "--weights", ck,
                          "--input", inp, "--output", res])
            got = np.load(res).astype(np.float64)
            err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
            out.append({"model": name, "tp": tp, "rel_l2": err})
            log("check: %s tp%d vs eager: rel L2 %.1e%s" % (name, tp, err,
                                                           "" if err < 1e-4 else "  MISMATCH"))
    return out


# ---- main --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tpc", default=os.path.join(ROOT, "build", "tpc"))
    ap.add_argument("--floor", default=os.path.join(OUT, "floor"))
    ap.add_argument("--gemmtrace", default=os.path.join(OUT, "gemmtrace.so"))
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--kernel-rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="~2 minutes: fewer rounds and reps")
    ap.add_argument("--no-kernels", action="store_true", help="skip the kernel study")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time every op of every tpc program (profiled copies), not only "
                         "the decoder's at 128 and 512 tokens")
    ap.add_argument("--only", help="comma-separated models (e.g. 'mlp 1024x4096')")
    ap.add_argument("--tokens", help="comma-separated token counts (default 1,32,128,512)")
    ap.add_argument("--wait-quiet", type=float, default=20, metavar="S",
                    help="before each round wait up to S s for the machine's other load to "
                         "drop under a quarter core (default 20; 0: do not wait)")
    ap.add_argument("--retries", type=int, default=2,
                    help="re-measure a launch during which other processes used over a quarter "
                         "core, up to N times (default 2), keeping the quietest")
    ap.add_argument("--budget", type=float, default=420, metavar="S",
                    help="no more retries once the run is S seconds old (default 420)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "last.json"))
    args = ap.parse_args()
    global REPS
    if args.quick:
        args.rounds, args.kernel_rounds = min(args.rounds, 2), 1
        args.wait_quiet = min(args.wait_quiet, 3)
        args.retries, args.budget = min(args.retries, 1), min(args.budget, 120)
        REPS = {1: 10, 32: 4, 128: 2, 512: 1}
    models = args.only.split(",") if args.only else list(MODELS)
    tokens = [int(t) for t in args.tokens.split(",")] if args.tokens else TOKENS
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    tools = {"floor": args.floor, "gemmtrace": args.gemmtrace}
    started = time.time()

    log("bench: compiling the models with %s" % args.tpc)
    for model in models:
        for tp in (1, 2):
            compile_model(args.tpc, model, tp)
            if model == DECODER or args.breakdown:
                build_profiled(model, tp)
    log("bench: recording the -tp 1 and -tp 2 programs' BLAS calls")
    calls, call_info = {}, {}
    for model in models:
        for t in tokens:
            calls[model, t], call_info["%s@%d" % (model, t)] = trace_point(tools, model, t)
    torch = Torch(with_gloo=any(MODELS[m][2] for m in models))
    checks = check_models(torch) if not args.only else []

    results = {(m, t): [] for m in models for t in tokens}
    pids = [p.pid for p in torch.gloo.procs] if torch.gloo else []
    guard = {"retries": args.retries, "wait": 8, "pids": pids, "retried": 0,
             "deadline": started + args.budget}
    other_load = []  # cores used by other processes, per round
    for rnd in range(args.rounds):
        before = wait_quiet(args.wait_quiet, pids) if args.wait_quiet > 0 else None
        log("bench: round %d of %d (%.0f s so far%s)" % (
            rnd + 1, args.rounds, time.time() - started,
            "" if before is None else ", others using %.2f cores" % before))
        load = OtherLoad(pids)
        points = list(results)
        random.shuffle(points)
        for model, t in points:
            r = {}
            mine = contenders(model, t, args.breakdown)
            for what in random.sample(mine, len(mine)):
                r[what] = measure_guarded(what, model, t, REPS[t], tools, torch, calls, guard)
            results[model, t].append(r)
        other_load.append(round(load.cores(), 2))
        log("bench: round %d: other processes used %.2f of %d cores meanwhile" % (
            rnd + 1, other_load[-1], os.cpu_count()))
    if torch.gloo:
        torch.gloo.close()
    points = [summarize_point(m, t, results[m, t]) for m in models for t in tokens]
    kernels = []
    if not args.no_kernels and args.kernel_rounds > 0:
        log("bench: kernel study (%.0f s so far)" % (time.time() - started))
        kernels = kernel_study(tools, args.kernel_rounds, args.quick)

    targets = evaluate_targets(points) if not args.only and not args.tokens else []
    print()
    print_table(points)
    if targets:
        print_targets(targets)
    print_breakdown(points)
    print("\nthe -tp 1 programs' BLAS calls per forward (the floor replays them):")
    for k, v in call_info.items():
        print("  %-20s %s%s" % (k, v["calls"], ("   = floor --model ... " + v["floor_flags"])
                                 if v["floor_flags"] else "   (no floor --model flags match)"))
    if kernels:
        print_kernels(kernels)
    elapsed = time.time() - started
    print("\n%d rounds, reps per launch %s, decoder %d layers, %.0f s" % (
        args.rounds, REPS, LAYERS, elapsed))
    launches = [p["other_cores"][i][n] for p in points for i in range(len(p["rounds"]))
                for n in p["rounds"][i]]
    quiet = sum(1 for c in launches if c <= 0.25)
    print("other processes used %s of %d cores during the rounds; %d of %d launches ran while "
          "they used under a quarter core (%d re-measured)%s" % (
              ", ".join("%.2f" % c for c in other_load), os.cpu_count(), quiet, len(launches),
              guard["retried"],
              "\n  -- BUSY MACHINE: the -tp 2 numbers (and the rest, less) are pessimistic"
              if quiet < 0.8 * len(launches) else ""))

    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit,
            "rounds": args.rounds, "reps": REPS, "quick": args.quick, "decoder_layers": LAYERS,
            "seconds": round(elapsed), "other_load_cores": other_load,
            "quiet_launches": quiet, "launches": len(launches), "remeasured": guard["retried"],
            "torch": torch.torch.__version__}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "points": points, "targets": targets, "calls": call_info,
                   "kernels": kernels, "checks": checks}, f, indent=1)
    base = os.path.splitext(args.out)[0]
    write_csv(points, base + ".csv")
    log("bench: wrote %s and .csv" % args.out)
    p = subprocess.run([sys.executable, os.path.join(HERE, "plot.py"), args.out, base + ".png"])
    if p.returncode != 0:
        log("bench: no plot (is python3-matplotlib installed? scripts/setup.sh installs it)")


if __name__ == "__main__":
    main()
