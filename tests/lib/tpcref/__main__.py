"""tpcref command line, for the lit tests.

  python3 -m tpcref make FAMILY --out DIR [--set key=value ...] [--dtype f32|f16|bf16]
                    [--shards N | --single-file] [--seed S] [--batch B --seq T] [--pad K]
      DIR/ckpt/ (model.safetensors, or N shards + model.safetensors.index.json, + config.json)
      or, with --single-file, DIR/model.safetensors alone; DIR/<input>.npy for each input;
      DIR/expected_<output>.npy, the float64 reference on the weights as rounded to --dtype.

  python3 -m tpcref compare GOT.npy EXPECTED.npy [--tol 3e-6]
      relative L2 error ||got - expected|| / ||expected||; exit 0 if <= tol, else 1
      (also 1 on a shape mismatch or a NaN/Inf).

  python3 -m tpcref reference FAMILY --ckpt PATH --inputs DIR --out FILE [--set key=value ...]
      the reference for an existing checkpoint (a lone file, or a folder in either layout) and
      the inputs DIR/<input>.npy.  The config is: family defaults, then what the tensor shapes
      say (vocab, hidden, layers, ...), then PATH's config.json if any, then --set.

  python3 -m tpcref families
      each family's config keys and defaults.
"""

import argparse
import json
import os
import sys

import numpy as np

from . import models
from .compare import compare, shape
from .safetensors import dtype_name, load, save_file, save_pretrained


def parse_value(text):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_sets(items):
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit("--set wants key=value, got %r" % item)
        out[key.strip()] = parse_value(value.strip())
    return out


def cmd_make(args):
    fam = models.family(args.family)
    raw = models.make_config(args.family, parse_sets(args.set), derive=False)
    cfg = fam.complete(dict(raw))
    dt = dtype_name(args.dtype)
    if dt not in ("F32", "F16", "BF16"):
        raise SystemExit("--dtype is f32, f16 or bf16")
    if args.pad and "mask" not in fam.INPUTS:
        raise SystemExit("--pad is for families with a mask input (bert)")
    weights = models.random_weights(args.family, cfg, args.seed)
    inputs = models.random_inputs(args.family, cfg, args.seed, args.batch, args.seq, args.pad)
    os.makedirs(args.out, exist_ok=True)
    if args.single_file:
        where = os.path.join(args.out, "model.safetensors")
        save_file(weights, where, dt)
        layout = "one file"
    else:
        where = os.path.join(args.out, "ckpt")
        # config.json as HF writes it, plus our own config (before derived fields are filled in) under "tpcref".
        config = dict(fam.hf_config(cfg)) if fam.hf_config else {}
        if "torch_dtype" in config:
            config["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dt]
        config["tpcref"] = dict(raw, family=args.family)
        files = save_pretrained(weights, where, dt, args.shards, config)
        layout = "%d shards" % len(files) if len(files) > 1 else "model.safetensors"
    for name, a in inputs.items():
        np.save(os.path.join(args.out, name + ".npy"), a)
    expected = models.reference(args.family, weights, inputs, cfg, dt)
    out_name = "expected_%s.npy" % fam.OUTPUT
    np.save(os.path.join(args.out, out_name), expected)
    print("tpcref make %s: %s (%s, %s, %d tensors), %s -> %s %s" % (
        args.family, where, layout, dt.lower(), len(weights),
        ", ".join("%s.npy %s" % (n, shape(a)) for n, a in inputs.items()), out_name,
        shape(expected)))
    return 0


def cmd_compare(args):
    ok, lines = compare(np.load(args.got), np.load(args.expected), args.tol)
    print("\n".join(lines))
    return 0 if ok else 1


def checkpoint_config(family, path):
    """Our config from a checkpoint's config.json: its "tpcref" block, else HF's keys."""
    folder = path if os.path.isdir(path) else None
    if folder is None or not os.path.exists(os.path.join(folder, "config.json")):
        return {}
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    if "tpcref" in config:
        return {k: v for k, v in config["tpcref"].items() if k != "family"}
    fam = models.family(family)
    return fam.from_hf_config(config) if fam.from_hf_config else {}


def cmd_reference(args):
    fam = models.family(args.family)
    weights = load(args.ckpt)
    cfg = models.make_config(args.family, fam.infer(weights), checkpoint_config(args.family, args.ckpt),
                             parse_sets(args.set))
    inputs = {n: np.load(os.path.join(args.inputs, n + ".npy")) for n in fam.INPUTS}
    out = models.reference(args.family, weights, inputs, cfg)
    np.save(args.out, out)
    print("tpcref reference %s: %s -> %s %s" % (args.family, args.ckpt, args.out, shape(out)))
    return 0


def cmd_families(args):
    for name, fam in models.FAMILIES.items():
        print("%s: inputs %s, output %s" % (name, ", ".join(fam.INPUTS), fam.OUTPUT))
        print("  " + " ".join("%s=%s" % kv for kv in fam.DEFAULTS.items()))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tpcref", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    m = sub.add_parser("make", help="write a checkpoint, inputs and the expected output")
    m.add_argument("family", choices=list(models.FAMILIES))
    m.add_argument("--out", required=True)
    m.add_argument("--set", action="append", metavar="KEY=VALUE")
    m.add_argument("--dtype", default="f32")
    group = m.add_mutually_exclusive_group()
    group.add_argument("--shards", type=int, default=1)
    group.add_argument("--single-file", action="store_true")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--batch", type=int, default=2)
    m.add_argument("--seq", type=int, default=8)
    m.add_argument("--pad", type=int, default=0, help="bert: pad the last K positions of row 0")
    m.set_defaults(run=cmd_make)

    c = sub.add_parser("compare", help="relative L2 error of GOT against EXPECTED")
    c.add_argument("got")
    c.add_argument("expected")
    c.add_argument("--tol", type=float, default=3e-6)
    c.set_defaults(run=cmd_compare)

    r = sub.add_parser("reference", help="reference output for an existing checkpoint")
    r.add_argument("family", choices=list(models.FAMILIES))
    r.add_argument("--ckpt", required=True)
    r.add_argument("--inputs", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--set", action="append", metavar="KEY=VALUE")
    r.set_defaults(run=cmd_reference)

    f = sub.add_parser("families", help="list families and their config keys")
    f.set_defaults(run=cmd_families)

    args = p.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
