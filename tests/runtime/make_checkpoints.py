"""make_checkpoints.py DIR — the checkpoints libtpcrt's tests read, good and broken.

DIR/good.safetensors   F32, F16 and BF16 tensors of 0 to 4 dimensions, special values in the
                       half-precision ones, a zero-size tensor, an I64 tensor and __metadata__
DIR/single/            a folder with model.safetensors (the same tensors)
DIR/sharded/           model.safetensors.index.json and two shards (the same tensors)
DIR/many-dims.safetensors  a tensor of 9 dimensions, more than the runtime reads
DIR/bad/*.safetensors  one defect each, named after it
DIR/bad-*/             folders whose index or layout is wrong
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtfiles  # noqa: E402

SPECIALS = np.array([np.inf, -np.inf, np.nan, -0.0, 0.0, 6e-8, -3e-6, 1e-5, 6.1e-5, 65504.0,
                     -65504.0, 1e-40, 3.0e38], dtype=np.float32)


def values(rng, shape, specials=False):
    v = (rng.standard_normal(shape) * 3).astype(np.float32)
    if specials and v.size >= len(SPECIALS):
        v.reshape(-1)[:len(SPECIALS)] = SPECIALS
    return v


def good_tensors():
    rng = np.random.default_rng(1234)
    return [
        ("a1", "F32", values(rng, (10,))),
        ("b2", "F32", values(rng, (8, 6))),
        ("c3", "F32", values(rng, (4, 5, 6))),
        ("d4", "F32", values(rng, (3, 4, 5, 2))),
        ("h2", "F16", values(rng, (8, 6), specials=True)),
        ("h3", "F16", values(rng, (4, 5, 6), specials=True)),
        ("g2", "BF16", values(rng, (8, 6), specials=True)),
        ("g4", "BF16", values(rng, (3, 4, 5, 2), specials=True)),
        ("s0", "F32", np.array(2.5, dtype=np.float32)),
        ("z2", "F32", np.zeros((0, 4), dtype=np.float32)),
        ("ids", "I64", np.arange(4)),
    ]


def write_good(out):
    tensors = good_tensors()
    rtfiles.write_safetensors(os.path.join(out, "good.safetensors"), tensors, {"format": "pt"})
    os.makedirs(os.path.join(out, "single"))
    shutil.copy(os.path.join(out, "good.safetensors"),
                os.path.join(out, "single", "model.safetensors"))

    sharded = os.path.join(out, "sharded")
    os.makedirs(sharded)
    first, second = tensors[:5], tensors[5:]
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    rtfiles.write_safetensors(os.path.join(sharded, names[0]), first, {"format": "pt"})
    stale = ("stale", "F32", np.ones(3, dtype=np.float32))  # in a shard, not in the map
    rtfiles.write_safetensors(os.path.join(sharded, names[1]), second + [stale])
    weight_map = {t[0]: names[0] for t in first}
    weight_map.update({t[0]: names[1] for t in second})
    with open(os.path.join(sharded, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    rtfiles.write_safetensors(os.path.join(out, "many-dims.safetensors"),
                              [("w", "F32", np.ones((1,) * 8 + (2,), np.float32))])


def entry(dtype="F32", shape=(2, 2), offsets=(0, 16)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def write_bad(out):
    bad = os.path.join(out, "bad")
    os.makedirs(bad)
    data = bytes(64)

    def raw(name, header, payload=data, length=None):
        rtfiles.write_raw(os.path.join(bad, name + ".safetensors"), header, payload, length)

    with open(os.path.join(bad, "short.safetensors"), "wb") as f:
        f.write(b"\x05\x00\x00")
    raw("huge-length", "{}", length=1 << 40)
    raw("length-past-end", "{}", length=1000)
    raw("not-json", "{not json")
    raw("not-object", "[1, 2]")
    raw("entry-not-object", {"w": 3})
    raw("unknown-dtype", {"w": entry(dtype="F99")})
    raw("dtype-not-string", {"w": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}})
    raw("shape-missing", {"w": {"dtype": "F32", "data_offsets": [0, 16]}})
    raw("shape-negative", {"w": entry(shape=(-1, 2))})
    raw("shape-real", {"w": {"dtype": "F32", "shape": [2.0, 2], "data_offsets": [0, 16]}})
    raw("shape-overflow", {"w": entry(shape=(1 << 40, 1 << 40))})
    raw("offsets-outside", {"w": entry(offsets=(60, 76))})
    raw("offsets-reversed", {"w": entry(offsets=(16, 0))})
    raw("offsets-size", {"w": entry(offsets=(0, 12))})
    raw("offsets-size-9d", {"w": entry(shape=(1,) * 8 + (2,), offsets=(0, 4))})
    raw("offsets-one", {"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}})
    raw("offsets-negative", {"w": entry(offsets=(-16, 0))})
    raw("offsets-huge", '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}')
    raw("overlap", {"v": entry(offsets=(0, 16)), "w": entry(offsets=(8, 24))})
    raw("duplicate", '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                     '"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')
    raw("metadata-not-object", {"__metadata__": 5, "w": entry()})
    raw("metadata-not-string", {"__metadata__": {"format": 1}, "w": entry()})
    raw("nul-in-header", b'{"w":\x00}')

    # A good file cut short: its last tensor's data runs past the end.
    good = os.path.join(out, "good.safetensors")
    with open(good, "rb") as f:
        blob = f.read()
    with open(os.path.join(bad, "truncated.safetensors"), "wb") as f:
        f.write(blob[:-40])


def write_bad_folders(out):
    shard = "model-00001-of-00001.safetensors"

    def folder(name, index=None, files=()):
        path = os.path.join(out, name)
        os.makedirs(path)
        for file in files:
            rtfiles.write_safetensors(os.path.join(path, file),
                                      [("w", "F32", np.ones((2, 2), np.float32))])
        if index is not None:
            with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
                f.write(index if isinstance(index, str) else json.dumps(index))
        return path

    folder("bad-empty")
    folder("bad-missing-shard", {"weight_map": {"w": shard}})
    folder("bad-missing-tensor", {"weight_map": {"w": shard, "v": shard}}, [shard])
    folder("bad-index-json", '{"weight_map": {', [shard])
    folder("bad-no-weight-map", {"metadata": {}}, [shard])
    folder("bad-shard-path", {"weight_map": {"w": "../" + shard}}, [shard])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write_good(out)
    write_bad(out)
    write_bad_folders(out)


main()
