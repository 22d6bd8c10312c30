"""Reading and writing safetensors files the way Hugging Face does, with NumPy only.

File layout (the safetensors format):
    8 bytes   little-endian u64 N = length of the JSON header
    N bytes   JSON: {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
              padded with spaces so that the data starts at a multiple of 8
    data      raw little-endian tensors, offsets relative to the start of this block

Like the reference writer (the Rust `safetensors` crate behind `save_file` and `save_pretrained`),
tensors are laid out sorted by dtype alignment (largest first) then by name, the header is compact
JSON in that same order with `__metadata__` first, and the metadata is {"format": "pt"}.

A checkpoint folder is what `PreTrainedModel.save_pretrained` writes: either a single
`model.safetensors`, or shards `model-00001-of-0000N.safetensors` ... plus
`model.safetensors.index.json` = {"metadata": {"total_size": bytes}, "weight_map": {name: file}}.
"""

import json
import os
import struct

import numpy as np

# safetensors dtype name -> NumPy storage dtype.  BF16 is stored as raw uint16 bit patterns.
_STORAGE = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_FROM_NUMPY = {np.dtype(v).str: k for k, v in _STORAGE.items() if k != "BF16"}

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def dtype_name(dtype):
    """'f32' / 'F32' / 'bf16' / 'float16' ... -> the safetensors name ('F32', 'BF16', 'F16')."""
    d = str(dtype).upper()
    return {"FLOAT32": "F32", "FLOAT16": "F16", "BFLOAT16": "BF16", "FLOAT64": "F64"}.get(d, d)


def f32_to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest, ties to even.

    This is what torch's `tensor.to(torch.bfloat16)` does (and so what a bf16 checkpoint holds).
    """
    bits = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    lsb = (bits >> 16) & 1
    out = ((bits + 0x7FFF + lsb) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    out[nan] = ((bits[nan] >> 16) | 0x0040).astype(np.uint16)  # keep NaNs NaN (quiet bit)
    return out


def bf16_bits_to_f32(bits):
    """bfloat16 bit patterns (uint16) -> float32, exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _encode(array, dtype):
    """Array -> (safetensors dtype name, little-endian bytes).

    Floating arrays are first made float32 (the weights are drawn as float32) and then stored as
    `dtype`; integer and bool arrays (e.g. BERT's `embeddings.position_ids` buffer) keep their type.
    """
    a = np.asarray(array)
    if a.dtype.kind == "f":
        name = dtype_name(dtype or "F32")
        a32 = a.astype(np.float32)
        if name == "BF16":
            data = f32_to_bf16_bits(a32)
        elif name in ("F32", "F16", "F64"):
            data = a32.astype(_STORAGE[name])
        else:
            raise ValueError("cannot store floats as %s" % name)
    else:
        le = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        name = _FROM_NUMPY.get(np.dtype(le).str)
        if name is None:
            raise ValueError("unsupported dtype %s" % a.dtype)
        data = a.astype(_STORAGE[name])
    return name, np.ascontiguousarray(data).tobytes()


def round_like(array, dtype):
    """The float64 values a float array has once written with `dtype` (f32, f16 or bf16).

    References are computed on these, so they see exactly the weights the C program reads.
    """
    name = dtype_name(dtype)
    a32 = np.asarray(array, dtype=np.float32)
    if name == "F32":
        return a32.astype(np.float64)
    if name == "F16":
        return a32.astype(np.float16).astype(np.float64)
    if name == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a32)).astype(np.float64)
    if name == "F64":
        return np.asarray(array, dtype=np.float64)
    raise ValueError("unknown dtype %s" % dtype)


def save_file(tensors, path, dtype="F32", metadata=None):
    """Write {name: array} as one .safetensors file; float arrays are stored as `dtype`.

    Returns the number of data bytes written.
    """
    encoded = {name: (_encode(a, dtype), np.shape(a)) for name, a in tensors.items()}
    # Data order = header order: larger alignment first, then by name (as the Rust crate does).
    order = sorted(encoded, key=lambda n: (-_STORAGE[encoded[n][0][0]].itemsize, n))
    header = {"__metadata__": dict(metadata if metadata is not None else {"format": "pt"})}
    offset = 0
    for name in order:
        (dname, data), shape = encoded[name]
        header[name] = {"dtype": dname, "shape": [int(s) for s in shape],
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # spaces so the data block is 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in order:
            f.write(encoded[name][0][1])
    return offset


def _split(sizes, shards):
    """Shard number for each tensor (in state-dict order): contiguous, non-empty, ~equal bytes.

    save_pretrained fills shards greedily up to max_shard_size in state-dict order; here the
    number of shards is what the test asks for, so a shard is closed once it holds its share.
    """
    n, total = len(sizes), sum(sizes)
    if not 1 <= shards <= n:
        raise ValueError("%d shards for %d tensors" % (shards, n))
    cuts, k, acc = [], 0, 0
    for i, s in enumerate(sizes):
        if i and k < shards - 1 and (acc >= total * (k + 1) / shards or n - i == shards - 1 - k):
            k += 1
        cuts.append(k)
        acc += s
    return cuts


def save_pretrained(tensors, folder, dtype="F32", shards=1, config=None):
    """Write a checkpoint folder as `save_pretrained` does (single file, or N shards + index).

    `config` (a dict), if given, is written as config.json next to the weights.
    """
    os.makedirs(folder, exist_ok=True)
    if config is not None:
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    if shards <= 1:
        save_file(tensors, os.path.join(folder, SINGLE_FILE), dtype)
        return [SINGLE_FILE]
    names = list(tensors)
    sizes = [len(_encode(tensors[n], dtype)[1]) for n in names]
    cuts = _split(sizes, shards)
    files = ["model-%05d-of-%05d.safetensors" % (k + 1, shards) for k in range(shards)]
    total, weight_map = 0, {}
    for k, fname in enumerate(files):
        part = {n: tensors[n] for n, c in zip(names, cuts) if c == k}
        total += save_file(part, os.path.join(folder, fname), dtype)
        weight_map.update({n: fname for n in part})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(folder, INDEX_FILE), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)  # save_pretrained's formatting
        f.write("\n")
    return files


def read_header(path):
    """(header dict without __metadata__, metadata, byte offset of the data block)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    meta = header.pop("__metadata__", None)
    return header, meta, 8 + n


def load_file(path):
    """{name: array} from one .safetensors file.  BF16 comes back as float32 (exact)."""
    header, _, start = read_header(path)
    out = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            b, e = info["data_offsets"]
            f.seek(start + b)
            raw = f.read(e - b)
            a = np.frombuffer(raw, dtype=_STORAGE[info["dtype"]]).reshape(info["shape"])
            out[name] = bf16_bits_to_f32(a).reshape(info["shape"]) if info["dtype"] == "BF16" else a.copy()
    return out


def checkpoint_files(path):
    """The .safetensors files of a checkpoint: a lone file, a folder with model.safetensors, or a
    folder with model.safetensors.index.json (then the files its weight_map names)."""
    if os.path.isfile(path):
        return [path]
    index = os.path.join(path, INDEX_FILE)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        return [os.path.join(path, f) for f in sorted(set(weight_map.values()))]
    single = os.path.join(path, SINGLE_FILE)
    if os.path.exists(single):
        return [single]
    raise FileNotFoundError("no safetensors checkpoint at %s" % path)


def load(path):
    """{name: array} from any of the three layouts (see checkpoint_files)."""
    out = {}
    for f in checkpoint_files(path):
        part = load_file(f)
        dup = set(part) & set(out)
        if dup:
            raise ValueError("tensor %s stored twice" % sorted(dup)[0])
        out.update(part)
    return out


def stored_dtypes(path):
    """{name: safetensors dtype name} for a checkpoint (any layout)."""
    return {n: info["dtype"] for f in checkpoint_files(path) for n, info in read_header(f)[0].items()}
