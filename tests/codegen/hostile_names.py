"""What a model file says reaches the built program as data, never as code.

Writes models whose names are C's, libc's or the generated program's own (int, main, read,
rank, w, Weights, ...), whose checkpoint names hold what would end a C string literal or a comment (a
quote, a backslash, the trigraph ??/, */, control bytes, UTF-8, printf conversions, "{i}" twice,
C code that creates a file named PWNED when run) and whose path runs through folders whose names
hold */ and C code too. Each model is built at -tp 1 and 2 and run on a checkpoint holding
exactly those names: the program must find every tensor by the name written (else it stops,
naming the one it did not find), compute what NumPy computes, and run nothing else (no PWNED).
Case 0 is written out; cases 1.. draw names from a seed.

usage: hostile_names.py --tpc TPC --work DIR [--cases N] [--seed S]
"""
import argparse
import os
import random
import shutil
import sys

import numpy as np

from jobs import MPIRUN, run
from tpcref import safetensors

# C that creates PWNED if it runs: a statement (a checkpoint name may hold no braces but
# "{i}"), and a function that runs at start-up (in a folder's name).
STATEMENT = '"); fclose(fopen("PWNED", "w")); ('
PAYLOAD = ('static void __attribute__((constructor)) pwn(void) '
           '{ FILE *f = fopen("PWNED", "w"); fclose(f); }')

# Pieces that mean something to C, to printf or to tpc, and the bytes around them.
PIECES = ['"', '\\', '??/', '??=', '*/', '/*', '//', '%s', '%n', '%%', '{i}', '\t', '\r', '\x01',
          '\x1b[31m', '\x7f', 'é', '中', '\U0001f600', '";', STATEMENT, '?', '$(shell id)']


def random_name(rng, braces):
    """A name of random pieces and letters; with braces, it holds "{i}" (at least once)."""
    pieces = [p for p in PIECES if p != "{i}"] # "{i}" is for a group's names only
    parts = [rng.choice(pieces) if rng.random() < 0.5 else chr(rng.randrange(32, 127))
             for _ in range(rng.randrange(1, 12))]
    parts = [p for p in parts if p not in "{}"]
    if braces:
        parts.insert(rng.randrange(len(parts) + 1), "{i}")
    return "".join(parts)


def tpl_string(name):
    """The name as a .tpl string: only the quote and the backslash are escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Identifiers that mean something to C, its library, OpenBLAS, MPI, libtpcrt or the generated
# program (its functions, parameters and locals): the model's own names are drawn from them.
IDENTIFIERS = ["int", "main", "system", "exit", "printf", "read", "write", "free", "malloc",
               "memcpy", "argc", "argv", "rank", "w", "l", "buf", "dims", "rs", "i", "k",
               "block", "elements", "src", "bound", "args", "program", "inputs", "outputs",
               "Weights", "TP", "BUFFERS", "largest", "tpcrt_init", "cblas_sgemm", "NULL",
               "errno", "stdin", "FILE", "float", "double", "_Bool", "__LINE__", "assert",
               "EOF", "INFINITY", "NAN", "signed", "times", "tokens", "collectives", "start",
               "weight_elements", "buffer_elements", "load_weights", "rank_sizes", "RankSizes",
               "MPI_Init", "tpc_expf", "sqrtf", "exp", "next", "attention", "linear_rows",
               "LayerWeights", "layer", "y", "x", "n", "h", "a", "b", "g"]
ROLES = ("model", "h", "a", "b", "layer", "g", "x", "n", "y", "l")


def write_model(path, names, idents):
    a, b, g = names
    text = ("model {model}\n"
            "config {{ {h} = 4 }}\n"
            "weights {{\n"
            "  {a} : [{h}, {h}] = %s\n"
            "  {b} : [{h}] = %s\n"
            "  {layer}[2] {{\n"
            "    {g} : [{h}, {h}] = %s\n"
            "  }}\n"
            "}}\n"
            "forward({x}: f32[{n}, {h}]) -> ({y}) {{\n"
            "  {y} = linear({x}, {a}) + {b}\n"
            "  for {l} in {layer} {{\n"
            "    {y} = {y} + linear({y}, {l}.{g})\n"
            "  }}\n"
            "  return {y}\n"
            "}}\n").format(**idents) % (tpl_string(a), tpl_string(b), tpl_string(g))
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


def one_case(tpc, work, index, names, folders, idents):
    """Builds and runs one model; returns the largest relative error over -tp 1 and 2."""
    a, b, g = names
    rng = np.random.default_rng(index)
    tensors = {a: rng.standard_normal((4, 4)).astype(np.float32),
               b: rng.standard_normal(4).astype(np.float32)}
    for i in range(2):
        tensors[g.replace("{i}", str(i))] = rng.standard_normal((4, 4)).astype(np.float32) / 4
    if len(tensors) != 4:
        return None  # two names came out the same: draw again
    case = os.path.join(work, "case%d" % index)
    source_dir = os.path.join(case, *folders)
    os.makedirs(source_dir)
    model = os.path.join(source_dir, "model.tpl")
    write_model(model, names, idents)
    ckpt = os.path.join(case, "ckpt.safetensors")
    safetensors.save_file(tensors, ckpt)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.save(os.path.join(case, "x.npy"), x)
    y = x.astype(np.float64) @ tensors[a].T + tensors[b]
    for i in range(2):
        y = y + y @ tensors[g.replace("{i}", str(i))].T.astype(np.float64)
    worst = 0.0
    for tp in (1, 2):
        out = os.path.join(case, "out%d" % tp)
        run([tpc, model, "-tp", str(tp), "-o", out])
        run(MPIRUN + ["-np", str(tp), os.path.join(out, idents["model"]), "--weights", ckpt,
                      "--input", "%s=x.npy" % idents["x"], "--output",
                      "%s=y%d.npy" % (idents["y"], tp)], cwd=case)
        got = np.load(os.path.join(case, "y%d.npy" % tp))
        worst = max(worst, float(np.linalg.norm(got - y) / np.linalg.norm(y)))
        if os.path.exists(os.path.join(case, "PWNED")) or os.path.exists(os.path.join(out, "PWNED")):
            print("case %d -tp %d: a name ran as code (PWNED exists)" % (index, tp))
            sys.exit(1)
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    tpc = os.path.abspath(args.tpc)

    # The two findings, written out: a trigraph that ended the literal early, and a path whose
    # folder ends in '*' so that "*/" closed the header comment, followed by a folder of code.
    cases = [(('x??/' + STATEMENT + '//', 'b%d%%s', 'model.layers.{i}.{i}.w*/' + STATEMENT),
              ["evil*", "x; " + PAYLOAD + " /*"])]
    cases[0] += ({"model": "hostile", **{role: role for role in ROLES[1:]}},)
    rng = random.Random(args.seed)
    while len(cases) < args.cases + 1:
        names = (random_name(rng, False), random_name(rng, False), random_name(rng, True))
        folders = ["".join(rng.choice(PIECES + [PAYLOAD, "*", " ", "{", "}"])
                           for _ in range(rng.randrange(1, 5))).replace("/", "|")
                   for _ in range(2)]
        idents = dict(zip(ROLES, rng.sample(IDENTIFIERS, len(ROLES))))
        cases.append((names, folders, idents))
    done = 0
    for index, (names, folders, idents) in enumerate(cases):
        worst = one_case(tpc, args.work, index, names, folders, idents)
        if worst is None:
            continue
        print("case %d: rel L2 = %.1e %s 1e-6" % (index, worst, "<=" if worst <= 1e-6 else ">"))
        done += 1
    print("%d models with hostile names built and ran; none ran a name as code" % done)


if __name__ == "__main__":
    main()
