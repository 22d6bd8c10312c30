"""rtfiles: the files libtpcrt's tests read, and what a rank should read from them.

Safetensors is written here by hand (8-byte little-endian header length, JSON header, raw
bytes), so that tests can also write it wrong on purpose. Reading it back is done here too, with
NumPy alone, as the reference the runtime's reads are compared with. random_uniform() is the
runtime's random weights (runtime/random.c) computed with NumPy.
"""
import json
import os
import struct

import numpy as np

ELEMENT_TYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
                 "U8": "u1", "F64": "<f8"}


def bf16_bits(values):
    """float32 -> bfloat16 bit patterns, rounded to nearest even; NaNs stay NaN (quiet)."""
    u = np.asarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(values, dtype="<f4"))
    rounded[nan] = (u[nan] >> 16) | 0x40
    return rounded.astype("<u2")


def encode(values, dtype):
    """The bytes of `values` stored as safetensors dtype `dtype`."""
    if dtype == "BF16":
        return bf16_bits(values).tobytes()
    with np.errstate(over="ignore"):  # float32 beyond the range of F16 is meant to be inf
        return np.ascontiguousarray(values, dtype=ELEMENT_TYPES[dtype]).tobytes()


def decode(raw, dtype, shape):
    """Stored bytes -> float32 array, exactly as the runtime must convert them."""
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype("<u4") << 16
        return bits.view("<f4").reshape(shape)
    return np.frombuffer(raw, dtype=ELEMENT_TYPES[dtype]).astype("<f4").reshape(shape)


def header_bytes(header):
    """JSON padded with spaces to a multiple of 8 bytes, as Hugging Face writes it."""
    text = json.dumps(header, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8)


def write_raw(path, header, data=b"", length=None):
    """A file with the given header (dict, str or bytes), data, and header length field."""
    if isinstance(header, dict):
        header = header_bytes(header)
    elif isinstance(header, str):
        header = header.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header) if length is None else length))
        f.write(header)
        f.write(data)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, float array); written one after another."""
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, values in tensors:
        raw = encode(values, dtype)
        header[name] = {"dtype": dtype, "shape": list(np.shape(values)),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    write_raw(path, header, b"".join(chunks))


def read_safetensors(path):
    """{name: float32 array} of every tensor whose dtype the runtime reads."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in ("F32", "F16", "BF16"):
            continue
        begin, end = info["data_offsets"]
        tensors[name] = decode(data[begin:end], info["dtype"], info["shape"])
    return tensors


def read_checkpoint(path):
    """A .safetensors file, a folder with model.safetensors or an index and its shards, or the
    index itself."""
    index = path
    if os.path.isdir(path):
        index = os.path.join(path, "model.safetensors.index.json")
        if not os.path.exists(index):
            return read_safetensors(os.path.join(path, "model.safetensors"))
    elif not path.endswith(".json"):
        return read_safetensors(path)
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    folder = os.path.dirname(index)
    shards = {shard: read_safetensors(os.path.join(folder, shard))
              for shard in set(weight_map.values())}
    return {name: shards[shard][name] for name, shard in weight_map.items()
            if name in shards[shard]}


# ---- random weights, as runtime/random.c makes them ------------------------------------------

M64 = (1 << 64) - 1


def _mix64_int(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _mix64(z):
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def random_key(seed, name):
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & M64
    return _mix64_int(seed ^ _mix64_int(h))


def random_uniform(seed, name, count):
    """Elements 0..count-1 of the stream: multiples of 2^-23 in [-1, 1), as float32."""
    k = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        bits = _mix64(np.uint64(random_key(seed, name)) + k * np.uint64(0x9E3779B97F4A7C15))
    return (bits >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1)


def random_weight(seed, name, shape, offset=0.5, scale=2.0):
    """What --random-weights SEED makes of tensor `name` with TpcrtInit {offset, scale}."""
    u = random_uniform(seed, name, int(np.prod(shape, dtype=np.int64)))
    return (np.float32(offset) + np.float32(scale) * u).reshape(shape)


# ---- slices ----------------------------------------------------------------------------------

def slice_indices(dims, shape, rank):
    """rt_weights' DIMS (see rt_weights.c) -> per dimension, the indices rank `rank` holds."""
    entries = dims.split(",") if shape else []
    indices = []
    for entry, size in zip(entries, shape):
        groups = entry.split("/")
        group = groups[rank] if len(groups) > 1 else groups[0]
        if group == "*":
            indices.append(np.arange(size))
            continue
        parts = [np.arange(*map(int, r.split("-"))) for r in group.split("+")]
        indices.append(np.concatenate(parts).astype(np.int64))
    return indices


def expected_slice(full, dims, rank, layout="c"):
    indices = slice_indices(dims, full.shape, rank)
    part = full[np.ix_(*indices)] if indices else full
    return part.transpose() if layout == "t" else part
