"""The PyTorch side of the CPU benchmark: the same models as bench/swiglu.tpl and
bench/decoder.tpl, written plainly in fp32 eager PyTorch, and the seed's tensor-parallel SwiGLU
MLP on gloo.

  (b) eager:  SwiGLU and Decoder below, one thread (torch.set_num_threads(1) and, because
              Debian's torch takes its BLAS threads from OpenBLAS, OPENBLAS_NUM_THREADS=1,
              which must be in the environment before torch is imported: run.sh sets it).
  (c) gloo:   the seed's approach: gate and up split by output rows (column-parallel), down by
              input columns (row-parallel), y = dist.all_reduce(partial y), 2 processes on the
              gloo backend, each pinned to its own core with one thread, as mpirun binds tpc's
              ranks. TPGroup starts the two workers once and sends them shapes to time.

Weight names follow the checkpoint names in the .tpl files, so check_against_tpc() can write one
safetensors file that both tpc and these modules read.
"""
import json
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F


def one_thread():
    """One compute thread in this process (OpenBLAS's own count comes from the environment)."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started: harmless here
        pass


def _weight(rows, cols, gen):
    """A weight [rows, cols] ([out, in], nn.Linear's layout) with variance 1/cols."""
    return torch.randn(rows, cols, generator=gen) / cols ** 0.5


class SwiGLU(torch.nn.Module):
    """Llama's MLP block: y = down(silu(gate x) * up x), as bench/swiglu.tpl."""

    def __init__(self, hidden, intermediate, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.gate = torch.nn.Parameter(_weight(intermediate, hidden, g), requires_grad=False)
        self.up = torch.nn.Parameter(_weight(intermediate, hidden, g), requires_grad=False)
        self.down = torch.nn.Parameter(_weight(hidden, intermediate, g), requires_grad=False)

    def forward(self, x):
        return F.linear(F.silu(F.linear(x, self.gate)) * F.linear(x, self.up), self.down)

    def checkpoint(self):
        return {"gate_proj.weight": self.gate, "up_proj.weight": self.up,
                "down_proj.weight": self.down}


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Decoder(torch.nn.Module):
    """bench/decoder.tpl: `layers` Llama blocks (RMSNorm, RoPE in the rotate-half form, causal
    GQA attention written with matmuls — Debian's torch 1.13 has no scaled_dot_product_attention
    — and the SwiGLU MLP), no embedding or head."""

    def __init__(self, hidden=1024, heads=16, kv_heads=4, intermediate=2816, layers=4,
                 eps=1e-5, theta=10000.0, seed=0):
        super().__init__()
        self.hidden, self.heads, self.kv_heads = hidden, heads, kv_heads
        self.head_dim = hidden // heads
        self.eps, self.theta = eps, theta
        g = torch.Generator().manual_seed(seed)
        kv = kv_heads * self.head_dim
        self.layers = []
        for _ in range(layers):
            self.layers.append({
                "attn_norm": 1 + 0.1 * torch.randn(hidden, generator=g),
                "wq": _weight(hidden, hidden, g), "wk": _weight(kv, hidden, g),
                "wv": _weight(kv, hidden, g), "wo": _weight(hidden, hidden, g),
                "mlp_norm": 1 + 0.1 * torch.randn(hidden, generator=g),
                "gate": _weight(intermediate, hidden, g), "up": _weight(intermediate, hidden, g),
                "down": _weight(hidden, intermediate, g),
            })
        self._rope = {}  # seq -> (cos, sin), as Hugging Face's rotary embedding caches them

    def rope_tables(self, seq):
        if seq not in self._rope:
            d = self.head_dim
            inv_freq = self.theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
            angles = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]
            angles = torch.cat((angles, angles), dim=-1)
            self._rope[seq] = (angles.cos().float(), angles.sin().float())
        return self._rope[seq]

    def forward(self, x):
        b, s, _ = x.shape
        hd, group = self.head_dim, self.heads // self.kv_heads
        cos, sin = self.rope_tables(s)
        mask = torch.full((s, s), float("-inf")).triu(1)
        for l in self.layers:
            h = rmsnorm(x, l["attn_norm"], self.eps)
            q = F.linear(h, l["wq"]).view(b, s, self.heads, hd).transpose(1, 2)
            k = F.linear(h, l["wk"]).view(b, s, self.kv_heads, hd).transpose(1, 2)
            v = F.linear(h, l["wv"]).view(b, s, self.kv_heads, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(group, dim=1)  # GQA: query head i reads kv head i // group
            v = v.repeat_interleave(group, dim=1)
            scores = torch.matmul(q, k.transpose(-1, -2)) * hd ** -0.5 + mask
            a = torch.matmul(torch.softmax(scores, dim=-1), v)
            x = x + F.linear(a.transpose(1, 2).reshape(b, s, self.hidden), l["wo"])
            h = rmsnorm(x, l["mlp_norm"], self.eps)
            x = x + F.linear(F.silu(F.linear(h, l["gate"])) * F.linear(h, l["up"]), l["down"])
        return x

    def checkpoint(self):
        names = {"attn_norm": "input_layernorm", "wq": "self_attn.q_proj",
                 "wk": "self_attn.k_proj", "wv": "self_attn.v_proj", "wo": "self_attn.o_proj",
                 "mlp_norm": "post_attention_layernorm", "gate": "mlp.gate_proj",
                 "up": "mlp.up_proj", "down": "mlp.down_proj"}
        return {"model.layers.%d.%s.weight" % (i, names[k]): t
                for i, l in enumerate(self.layers) for k, t in l.items()}


def time_forwards(fn, reps, warmup=2):
    """The times in ms of `reps` calls of fn after `warmup` untimed ones (2, as a tpc --bench
    run makes: its first forward and its warm-up)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def summary(times):
    """(median, min, max) of a list of times."""
    return statistics.median(times), min(times), max(times)


def write_safetensors(path, tensors):
    """A .safetensors file of fp32 tensors (8-byte header length, JSON header, raw data)."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---- (c) the seed's tensor-parallel SwiGLU on gloo ------------------------------------------

def _tp_worker(rank, world, port, conn):
    """One rank of the gloo TP MLP: pinned to core `rank`, one thread; answers ("time", hidden,
    intermediate, tokens, reps) with (median, min, max ms, all-reduce share %) until None."""
    os.sched_setaffinity(0, {rank % os.cpu_count()})
    one_thread()
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    shards = {}
    with torch.inference_mode():
        while True:
            msg = conn.recv()
            if msg is None:
                break
            _, hidden, intermediate, tokens, reps = msg
            if (hidden, intermediate) not in shards:
                shards.clear()  # keep one model's shards at a time
                full = SwiGLU(hidden, intermediate, seed=0)  # the same weights on both ranks
                part = intermediate // world
                rows = slice(rank * part, (rank + 1) * part)
                shards[hidden, intermediate] = (full.gate[rows].clone(), full.up[rows].clone(),
                                                full.down[:, rows].clone())
                del full
            gate, up, down = shards[hidden, intermediate]
            x = torch.randn(1, tokens, hidden, generator=torch.Generator().manual_seed(2))
            allreduce = []

            def forward():
                y = F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)
                start = time.perf_counter()
                dist.all_reduce(y)
                allreduce.append(time.perf_counter() - start)
                return y

            dist.barrier()
            times = time_forwards(forward, reps)
            timed = allreduce[2:]  # the all-reduces of the timed forwards (2 warm-ups first)
            share = 100.0 * sum(timed) * 1e3 / sum(times)  # as tpc's bench line counts it
            conn.send(summary(times) + (share,))
    dist.destroy_process_group()


class TPGroup:
    """The two gloo workers, started once (spawned, so they import torch afresh) and kept idle on
    a pipe between measurements, so the benchmark can interleave them with everything else."""

    def __init__(self, world=2):
        ctx = mp.get_context("spawn")
        with socket.socket() as s:  # a free port for the rendezvous on loopback
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.conns, self.procs = [], []
        for rank in range(world):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_tp_worker, args=(rank, world, port, child), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)

    def time(self, hidden, intermediate, tokens, reps):
        """(median, min, max ms, all-reduce % of the forward) on rank 0."""
        for c in self.conns:
            c.send(("time", hidden, intermediate, tokens, reps))
        answers = [c.recv() for c in self.conns]
        return answers[0]

    def close(self):
        for c in self.conns:
            c.send(None)
        for p in self.procs:
            p.join(timeout=30)
