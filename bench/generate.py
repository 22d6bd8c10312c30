"""The generation benchmark (bench/generate.sh runs it): prefill and decode of the bench model
(Llama-shaped: hidden 2048, 8 layers, 16 heads over 4 kv heads, intermediate 5632, vocabulary
32000; 492M parameters, 2 GB in f32, 1 GB in bf16) at -tp 1 and -tp 2, f32 and bf16 weights,
against what bounds it and what else runs it. Not a test: it measures and reports.

  tpc           the built program with --generate and --bench K (random weights: the speed
                does not depend on the values): "bench: prefill median P ms, decode median D
                ms/token"; prefill at 1, 32, 128 and 512 prompt tokens, decode from a one-token
                prompt for 64 tokens (context up to 65)
  floor         the weight-streaming floor of a decode step: the bytes of the weights a rank
                reads in a step (tpc --emit plan; all but the embedding table, of which a step
                reads one row) over the read bandwidth bench/stream.c gets on that rank's core,
                measured in the same round (two at once, one per core, for -tp 2)
  eager         Hugging Face transformers' LlamaForCausalLM of the same shape, f32, one thread,
                with its KV cache (past_key_values): prefill at the same prompts, and the median
                decode step over 64
  llama.cpp     the issue's measured medians on this machine, for reference (not rerun here)

Rounds interleave every configuration so that the machine's drift hits all alike; a number is
the median over rounds. Prints the table and writes bench/results/generate.{json,csv}.
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "generate")
RESULTS = os.path.join(HERE, "results")

MODEL = {"vocab": 32000, "hidden": 2048, "layers": 8, "heads": 16, "kv_heads": 4,
         "intermediate": 5632}
PROMPTS = [1, 32, 128, 512]
DECODE = 64
LLAMA_CPP = {  # the medians, ms (t2: two cores, against -tp 2)
    ("bf16", 2): {"decode": 27.4, 32: 87, 128: 308, 512: 1294},
    ("bf16", 1): {"decode": 34.6, 32: 153, 128: 553, 512: 2323},
    ("f32", 1): {32: 310},
}
MPIRUN = ["mpirun", "--bind-to", "core"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit("generate.py: %s failed:\n%s" % (" ".join(cmd), p.stdout[-3000:]))
    return p.stdout


def build(tpc, tp, dtype):
    out = os.path.join(OUT, "tp%d-%s" % (tp, dtype))
    defines = sum((["-D", "%s=%d" % kv] for kv in MODEL.items()), [])
    run([tpc, os.path.join(ROOT, "models", "llama.tpl"), "-tp", str(tp), "--dtype", dtype,
         "-o", out] + defines)
    plan = json.loads(run([tpc, os.path.join(ROOT, "models", "llama.tpl"), "-tp", str(tp),
                           "--dtype", dtype, "--emit", "plan"] + defines))
    # what a decode step reads: every weight but the embedding table, of which it reads one
    # row a sequence (the bench model's head is its own lm_head, which it reads whole)
    streamed = [r["weight_bytes"] - sum(w["bytes"] for w in r["weights"]
                                        if w["checkpoint"] == "model.embed_tokens.weight")
                for r in plan["ranks"]]
    return os.path.join(out, "llama"), streamed


def measure_tpc(program, tp, prompt, new, reps):
    text = run(MPIRUN + ["-np", str(tp), program, "--random-weights", "1", "--random-input", "2",
                         "--dim", "batch=1", "--dim", "seq=%d" % prompt, "--generate", str(new),
                         "--bench", str(reps)])
    m = re.search(r"bench: prefill median ([\d.]+) ms, decode median ([\d.]+) ms/token", text)
    if not m:
        raise SystemExit("generate.py: no bench line from %s:\n%s" % (program, text[-2000:]))
    return float(m.group(1)), float(m.group(2))


def measure_stream(stream, weight_bytes):
    """GB/s each rank's core reads, all ranks at once (one per core)."""
    go = os.path.join(OUT, "go")
    if os.path.exists(go):
        os.remove(go)
    procs, ready = [], []
    for core, nbytes in enumerate(weight_bytes):
        r = os.path.join(OUT, "ready%d" % core)
        if os.path.exists(r):
            os.remove(r)
        ready.append(r)
        procs.append(subprocess.Popen(["taskset", "-c", str(core), stream, "--bytes",
                                       str(nbytes), "--ready", r, "--go", go],
                                      stdout=subprocess.PIPE, text=True))
    while not all(os.path.exists(r) for r in ready):
        time.sleep(0.01)
    open(go, "w").close()
    rates = []
    for p in procs:
        out = p.communicate()[0]
        rates.append(float(re.search(r"stream: ([\d.]+) GB/s", out).group(1)))
    return rates


def eager_worker(prompts, new):
    """Runs in a child (one thread, OPENBLAS_NUM_THREADS=1 set before torch is imported)."""
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers
    torch.set_num_threads(1)
    config = transformers.LlamaConfig(
        vocab_size=MODEL["vocab"], hidden_size=MODEL["hidden"],
        num_hidden_layers=MODEL["layers"], num_attention_heads=MODEL["heads"],
        num_key_value_heads=MODEL["kv_heads"], intermediate_size=MODEL["intermediate"],
        max_position_embeddings=4096)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    result = {}
    with torch.no_grad():
        for prompt in prompts:
            ids = torch.randint(0, MODEL["vocab"], (1, prompt))
            model(input_ids=ids, use_cache=True)  # warm-up
            start = time.perf_counter()
            out = model(input_ids=ids, use_cache=True)
            result[prompt] = 1e3 * (time.perf_counter() - start)
        ids = torch.randint(0, MODEL["vocab"], (1, 1))
        out = model(input_ids=ids, use_cache=True)
        past, steps = out.past_key_values, []
        token = out.logits[:, -1:].argmax(-1)
        for _ in range(new):
            start = time.perf_counter()
            out = model(input_ids=token, past_key_values=past, use_cache=True)
            steps.append(1e3 * (time.perf_counter() - start))
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        result["decode"] = statistics.median(steps)
    print(json.dumps(result))


def measure_eager(pypi, prompts, new):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (pypi, os.environ.get("PYTHONPATH")) if p))
    text = run(["taskset", "-c", "0", sys.executable, __file__, "--eager-worker",
                ",".join(map(str, prompts)), str(new)], env=env)
    data = json.loads(text.strip().splitlines()[-1])
    return {(int(k) if k != "decode" else k): v for k, v in data.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpc", default=os.path.join(ROOT, "build", "tpc"))
    ap.add_argument("--stream", default=os.path.join(OUT, "stream"))
    ap.add_argument("--pypi", default=os.path.join(ROOT, "build", "pypi"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3, help="generations a launch times")
    ap.add_argument("--no-eager", action="store_true")
    ap.add_argument("--eager-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.eager_worker:
        eager_worker([int(p) for p in args.eager_worker[0].split(",")], int(args.eager_worker[1]))
        return

    configs = [(tp, dtype) for dtype in ("f32", "bf16") for tp in (1, 2)]
    programs = {}
    for tp, dtype in configs:
        programs[(tp, dtype)] = build(args.tpc, tp, dtype)
        log("built -tp %d %s: bytes a decode step reads per rank %s" % (
            tp, dtype, programs[(tp, dtype)][1]))
    samples = {}  # (tp, dtype, what) -> [ms]
    for rnd in range(args.rounds):
        for tp, dtype in configs:
            program, weight_bytes = programs[(tp, dtype)]
            rates = measure_stream(args.stream, weight_bytes)
            floor = max(b / (r * 1e9) for b, r in zip(weight_bytes, rates)) * 1e3
            samples.setdefault((tp, dtype, "floor"), []).append(floor)
            _, decode = measure_tpc(program, tp, 1, DECODE, args.reps)
            samples.setdefault((tp, dtype, "decode"), []).append(decode)
            for prompt in PROMPTS:
                prefill, _ = measure_tpc(program, tp, prompt, 2, args.reps)
                samples.setdefault((tp, dtype, prompt), []).append(prefill)
            log("round %d -tp %d %s: decode %.1f ms/token (floor %.1f), prefill %s" % (
                rnd + 1, tp, dtype, decode, floor,
                ", ".join("%d: %.0f" % (p, samples[(tp, dtype, p)][-1]) for p in PROMPTS)))
        if not args.no_eager:
            eager = measure_eager(args.pypi, PROMPTS, DECODE)
            for k, v in eager.items():
                samples.setdefault((1, "eager", k), []).append(v)
            log("round %d eager: decode %.1f ms/token" % (rnd + 1, eager["decode"]))

    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = []
    print("bench model: Llama-shaped, %s; batch 1; ms (medians of %d rounds)" % (
        ", ".join("%s %d" % kv for kv in MODEL.items()), args.rounds))
    print("%-12s %10s %10s %8s %8s %8s %8s" % ("", "decode", "floor", "pf 1", "pf 32",
                                                "pf 128", "pf 512"))
    for tp, dtype in configs + ([(1, "eager")] if not args.no_eager else []):
        cells = [med.get((tp, dtype, "decode")), med.get((tp, dtype, "floor"))] + \
                [med.get((tp, dtype, p)) for p in PROMPTS]
        label = "eager tp1 f32" if dtype == "eager" else "tpc tp%d %s" % (tp, dtype)
        print("%-12s %10s %10s %8s %8s %8s %8s" % tuple(
            [label] + ["%.1f" % c if c is not None else "-" for c in cells]))
        rows.append({"config": label, "decode_ms": cells[0], "floor_ms": cells[1],
                     **{"prefill_%d_ms" % p: c for p, c in zip(PROMPTS, cells[2:])}})
    print()
    def ratio(a, b):
        return med[a] / med[b] if a in med and b in med else float("nan")
    print("decode / floor at -tp 1: f32 %.2f, bf16 %.2f (target <= 1.15)" % (
        ratio((1, "f32", "decode"), (1, "f32", "floor")),
        ratio((1, "bf16", "decode"), (1, "bf16", "floor"))))
    for dtype in ("f32", "bf16"):
        speedup = ratio((1, dtype, "decode"), (2, dtype, "decode"))
        floor_speedup = ratio((1, dtype, "floor"), (2, dtype, "floor"))
        print("-tp 2 decode speedup %s: %.2f, the floor's %.2f: %.2f of it (target >= 0.9)" % (
            dtype, speedup, floor_speedup, speedup / floor_speedup))
    print("bf16 decode speedup over f32 at -tp 1: %.2f (target >= 1.7)" % ratio(
        (1, "f32", "decode"), (1, "bf16", "decode")))
    if not args.no_eager:
        print("eager / tpc decode at -tp 1 f32: %.2f (target >= 3)" % ratio(
            (1, "eager", "decode"), (1, "f32", "decode")))
    for (dtype, tp), ref in LLAMA_CPP.items():
        parts = []
        for k, v in ref.items():
            got = med.get((tp, dtype, k))
            if got is not None:
                parts.append("%s %.1f vs %.1f (%.2fx)" % ("decode" if k == "decode" else
                                                         "prefill %d" % k, got, v, got / v))
        print("llama.cpp %s t%d: %s" % (dtype, tp, "; ".join(parts)))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "generate.json"), "w") as f:
        json.dump({"model": MODEL, "rounds": args.rounds, "rows": rows,
                   "samples": {"%s|%s|%s" % k: v for k, v in samples.items()}}, f, indent=1)
    with open(os.path.join(RESULTS, "generate.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
