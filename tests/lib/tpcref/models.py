"""Random Hugging Face-named weights and float64 reference forwards for tpc's model families.

Each family is written from the published architecture (the Hugging Face modeling files'
behaviour), in plain NumPy float64.  Shapes follow PyTorch's nn.Linear convention, weight
[out_features, in_features], y = x @ W.T + b, except GPT-2's Conv1D which stores [in, out] and
computes y = x @ W + b.

Families: mlp, llama, qwen2, gpt2, bert.  For each: DEFAULTS (config), weights(cfg, rng),
inputs(cfg, rng, batch, seq, pad), forward(w, inputs, cfg) -> output, hf_config(cfg) (a config.json
that transformers' from_pretrained accepts) and from_hf_config(dict).
"""

import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is exact to double precision


def gelu_erf(x):
    """GELU, exact erf form: nn.GELU() / ACT2FN["gelu"] (BERT, tpc's mlp example)."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def gelu_tanh(x):
    """GPT-2's "gelu_new": the tanh approximation 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    """SiLU / swish, x * sigmoid(x): Llama's and Qwen2's hidden_act "silu"."""
    return x / (1.0 + np.exp(-x))


def rms_norm(x, w, eps):
    """LlamaRMSNorm: x * rsqrt(mean(x^2 over the last axis) + eps) * w (no mean, no bias)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    """nn.LayerNorm over the last axis: biased variance, eps inside the sqrt."""
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def rope_angles(seq, rotary_dim, theta):
    """cos, sin of shape [seq, rotary_dim/2]: angle(p, j) = p * theta^(-2j/rotary_dim), p = 0..seq-1.

    This is HF's default rope (`inv_freq = 1 / theta^(arange(0, dim, 2) / dim)`, dim = the rotated
    width).  HF computes these angles in float32 even for a float64 model; here they are exact.
    """
    inv_freq = theta ** (-np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim)
    ang = np.arange(seq, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(ang), np.sin(ang)


def apply_rope(x, cos, sin, style="neox", rotary_dim=None):
    """Rotary embedding on x [batch, seq, heads, head_dim]; only the first rotary_dim dims turn.

    style "neox": HF's rotate_half (Llama, Qwen2, GPT-NeoX): dim j pairs with dim j + R/2.
    style "gptj": interleaved pairs (GPT-J's rotate_every_two): dim 2j pairs with dim 2j+1.
    Both use frequency j for pair j; the untouched dims R.. pass through (partial rotary).
    """
    r = x.shape[-1] if rotary_dim is None else rotary_dim
    rot, rest = x[..., :r], x[..., r:]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    if style == "neox":
        x1, x2 = rot[..., : r // 2], rot[..., r // 2:]
        out = np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)
    elif style == "gptj":
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        out = np.stack([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1).reshape(rot.shape)
    else:
        raise ValueError("rope style %r (neox or gptj)" % style)
    return np.concatenate([out, rest], axis=-1)


def attention(q, k, v, scale, causal, key_mask=None):
    """Scaled dot-product attention.  q [B, T, Hq, D], k/v [B, S, Hkv, D] -> [B, T, Hq*D].

    GQA as HF's repeat_kv: query head h reads kv head h // (Hq / Hkv).
    causal: query t sees keys 0..t (HF fills the rest with dtype-min; the diagonal is always
    visible, so -inf gives the same softmax).
    key_mask [B, S] (1 keep, 0 pad): HF's extended attention mask, (1 - mask) * finfo.min added to
    the scores, so padded keys get weight 0 (and a row with every key padded stays finite).
    """
    b, t, hq, d = q.shape
    rep = hq // k.shape[2]
    assert rep * k.shape[2] == hq, "heads must be a multiple of kv_heads"
    k = np.repeat(k, rep, axis=2)  # [k0, k0, k1, k1, ...]: head h -> kv head h // rep
    v = np.repeat(v, rep, axis=2)
    scores = np.einsum("bthd,bshd->bhts", q, k) * scale
    if causal:
        s = k.shape[1]
        visible = np.tril(np.ones((t, s), dtype=bool), k=s - t)
        scores = np.where(visible, scores, -np.inf)
    if key_mask is not None:
        scores = scores + (1.0 - key_mask)[:, None, None, :] * np.finfo(np.float64).min
    p = softmax(scores, axis=-1)
    return np.einsum("bhts,bshd->bthd", p, v).reshape(b, t, hq * d)


# ---------------------------------------------------------------------------------------------
# Random weights: float32 draws (the checkpoint is then written as f32/f16/bf16)
# ---------------------------------------------------------------------------------------------

def _linear(rng, out_f, in_f):
    """[out, in] ~ N(0, 1/in): keeps activations O(1) through the stack."""
    return (rng.standard_normal((out_f, in_f)) / math.sqrt(in_f)).astype(np.float32)


def _norm_weight(rng, n):
    return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)


def _bias(rng, n):
    return (0.1 * rng.standard_normal(n)).astype(np.float32)


def _embedding(rng, rows, cols):
    return rng.standard_normal((rows, cols)).astype(np.float32)


def _tokens(rng, vocab, batch, seq):
    return rng.integers(0, vocab, size=(batch, seq)).astype("<i4")


# ---------------------------------------------------------------------------------------------
# mlp: tpc's seed example, y = gelu_erf(x @ up.T) @ down.T
# ---------------------------------------------------------------------------------------------

class Mlp:
    name = "mlp"
    DEFAULTS = {"hidden": 64, "intermediate": 256}
    INPUTS = ["x"]
    OUTPUT = "y"

    @staticmethod
    def complete(cfg):
        return cfg

    @staticmethod
    def weights(cfg, rng):
        h, i = cfg["hidden"], cfg["intermediate"]
        return {"up_proj.weight": _linear(rng, i, h), "down_proj.weight": _linear(rng, h, i)}

    @staticmethod
    def inputs(cfg, rng, batch, seq, pad=0):
        return {"x": rng.standard_normal((batch, seq, cfg["hidden"])).astype("<f4")}

    @staticmethod
    def forward(w, inp, cfg):
        x = np.asarray(inp["x"], dtype=np.float64)
        return gelu_erf(x @ w["up_proj.weight"].T) @ w["down_proj.weight"].T

    @staticmethod
    def infer(w):
        i, h = w["up_proj.weight"].shape
        return {"hidden": h, "intermediate": i}

    hf_config = None
    from_hf_config = None


# ---------------------------------------------------------------------------------------------
# llama / qwen2: LlamaForCausalLM, Qwen2ForCausalLM
# ---------------------------------------------------------------------------------------------

class Llama:
    """Pre-norm decoder: RMSNorm -> attention (RoPE, causal, GQA) -> residual,
    RMSNorm -> SwiGLU MLP down(silu(gate(x)) * up(x)) -> residual; final RMSNorm; lm_head.

    Knobs beyond HF's Llama: style ("neox" = HF, "gptj" = interleaved), rotary_dim (rotate only
    the first R dims of each head; the frequencies then use R, as HF's partial rotary does) and
    scale (attention scale; default 1/sqrt(head_dim)).
    """
    name = "llama"
    qkv_bias = False  # Qwen2 adds q/k/v biases
    DEFAULTS = {"vocab": 128, "hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2,
                "head_dim": None, "intermediate": 160, "eps": 1e-5, "rope_theta": 10000.0,
                "tie": False, "style": "neox", "rotary_dim": None, "scale": None,
                "positions": 2048}
    INPUTS = ["tokens"]
    OUTPUT = "logits"

    @staticmethod
    def complete(cfg):
        if cfg.get("head_dim") is None:
            cfg["head_dim"] = cfg["hidden"] // cfg["heads"]
        if cfg.get("rotary_dim") is None:
            cfg["rotary_dim"] = cfg["head_dim"]
        if cfg.get("scale") is None:
            cfg["scale"] = 1.0 / math.sqrt(cfg["head_dim"])
        assert cfg["rotary_dim"] % 2 == 0 and cfg["rotary_dim"] <= cfg["head_dim"]
        return cfg

    @classmethod
    def weights(cls, cfg, rng):
        h, d, it = cfg["hidden"], cfg["head_dim"], cfg["intermediate"]
        nq, nkv = cfg["heads"] * d, cfg["kv_heads"] * d
        w = {"model.embed_tokens.weight": _embedding(rng, cfg["vocab"], h)}
        for i in range(cfg["layers"]):
            p = "model.layers.%d." % i
            w[p + "input_layernorm.weight"] = _norm_weight(rng, h)
            for name, rows in (("q", nq), ("k", nkv), ("v", nkv)):
                w[p + "self_attn.%s_proj.weight" % name] = _linear(rng, rows, h)
                if cls.qkv_bias:
                    w[p + "self_attn.%s_proj.bias" % name] = _bias(rng, rows)
            w[p + "self_attn.o_proj.weight"] = _linear(rng, h, nq)
            w[p + "post_attention_layernorm.weight"] = _norm_weight(rng, h)
            w[p + "mlp.gate_proj.weight"] = _linear(rng, it, h)
            w[p + "mlp.up_proj.weight"] = _linear(rng, it, h)
            w[p + "mlp.down_proj.weight"] = _linear(rng, h, it)
        w["model.norm.weight"] = _norm_weight(rng, h)
        if not cfg["tie"]:  # save_pretrained drops lm_head.weight when it is tied
            w["lm_head.weight"] = _linear(rng, cfg["vocab"], h)
        return w

    @staticmethod
    def inputs(cfg, rng, batch, seq, pad=0):
        return {"tokens": _tokens(rng, cfg["vocab"], batch, seq)}

    @classmethod
    def forward(cls, w, inp, cfg):
        tok = np.asarray(inp["tokens"])
        b, t = tok.shape
        d, nh, nkv = cfg["head_dim"], cfg["heads"], cfg["kv_heads"]
        cos, sin = rope_angles(t, cfg["rotary_dim"], cfg["rope_theta"])
        x = w["model.embed_tokens.weight"][tok]
        for i in range(cfg["layers"]):
            p = "model.layers.%d." % i

            def proj(name, a):
                y = a @ w[p + "self_attn.%s_proj.weight" % name].T
                return y + w[p + "self_attn.%s_proj.bias" % name] if cls.qkv_bias else y

            a = rms_norm(x, w[p + "input_layernorm.weight"], cfg["eps"])
            q = proj("q", a).reshape(b, t, nh, d)
            k = proj("k", a).reshape(b, t, nkv, d)
            v = proj("v", a).reshape(b, t, nkv, d)
            q = apply_rope(q, cos, sin, cfg["style"], cfg["rotary_dim"])
            k = apply_rope(k, cos, sin, cfg["style"], cfg["rotary_dim"])
            x = x + attention(q, k, v, cfg["scale"], causal=True) @ w[p + "self_attn.o_proj.weight"].T
            m = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg["eps"])
            g = silu(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)
            x = x + g @ w[p + "mlp.down_proj.weight"].T
        x = rms_norm(x, w["model.norm.weight"], cfg["eps"])
        head = w["model.embed_tokens.weight"] if cfg["tie"] else w["lm_head.weight"]
        return x @ head.T

    @staticmethod
    def infer(w):
        vocab, hidden = w["model.embed_tokens.weight"].shape
        layers = 1 + max(int(n.split(".")[2]) for n in w if n.startswith("model.layers."))
        return {"vocab": vocab, "hidden": hidden, "layers": layers,
                "intermediate": w["model.layers.0.mlp.gate_proj.weight"].shape[0],
                "tie": "lm_head.weight" not in w}

    arch, model_type = "LlamaForCausalLM", "llama"

    @classmethod
    def hf_config(cls, cfg):
        c = {"architectures": [cls.arch], "model_type": cls.model_type,
             "vocab_size": cfg["vocab"], "hidden_size": cfg["hidden"],
             "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
             "num_key_value_heads": cfg["kv_heads"], "head_dim": cfg["head_dim"],
             "intermediate_size": cfg["intermediate"], "rms_norm_eps": cfg["eps"],
             "rope_theta": cfg["rope_theta"], "tie_word_embeddings": cfg["tie"],
             "hidden_act": "silu", "max_position_embeddings": cfg["positions"],
             "torch_dtype": "float32"}
        if cls.model_type == "llama":
            c.update(attention_bias=False, mlp_bias=False)
        return c

    @staticmethod
    def from_hf_config(c):
        out = {"vocab": c.get("vocab_size"), "hidden": c.get("hidden_size"),
               "layers": c.get("num_hidden_layers"), "heads": c.get("num_attention_heads"),
               "kv_heads": c.get("num_key_value_heads", c.get("num_attention_heads")),
               "head_dim": c.get("head_dim"), "intermediate": c.get("intermediate_size"),
               "eps": c.get("rms_norm_eps"), "rope_theta": c.get("rope_theta"),
               "tie": c.get("tie_word_embeddings"),
               "positions": c.get("max_position_embeddings")}
        if c.get("partial_rotary_factor") and c.get("head_dim"):
            out["rotary_dim"] = int(c["head_dim"] * c["partial_rotary_factor"])
        return out


class Qwen2(Llama):
    """Qwen2ForCausalLM: Llama plus biases on q/k/v (not o_proj).  Qwen2-0.5B ties its head."""
    name = "qwen2"
    qkv_bias = True
    DEFAULTS = dict(Llama.DEFAULTS, tie=True, eps=1e-6, rope_theta=1000000.0, positions=32768)
    arch, model_type = "Qwen2ForCausalLM", "qwen2"


# ---------------------------------------------------------------------------------------------
# gpt2: GPT2LMHeadModel, names as in the hub's model.safetensors (no "transformer." prefix)
# ---------------------------------------------------------------------------------------------

class Gpt2:
    """Learned positions; pre-norm LayerNorm blocks; fused c_attn (Conv1D, [in, out]) whose output
    columns are [q | k | v], each split into heads in order; causal MHA scaled by 1/sqrt(head_dim);
    MLP c_proj(gelu_new(c_fc(x))); final ln_f; logits against wte (tied, no lm_head tensor).
    Knob: buffers=True also writes the h.{i}.attn.bias causal-mask buffers ([1, 1, P, P] float
    lower triangle) that older GPT-2 checkpoints carry; scale overrides the attention scale.
    """
    name = "gpt2"
    DEFAULTS = {"vocab": 128, "hidden": 64, "layers": 2, "heads": 4, "positions": 64,
                "intermediate": None, "eps": 1e-5, "scale": None, "buffers": False}
    INPUTS = ["tokens"]
    OUTPUT = "logits"

    @staticmethod
    def complete(cfg):
        if cfg.get("intermediate") is None:
            cfg["intermediate"] = 4 * cfg["hidden"]
        if cfg.get("scale") is None:
            cfg["scale"] = 1.0 / math.sqrt(cfg["hidden"] // cfg["heads"])
        return cfg

    @staticmethod
    def weights(cfg, rng):
        h, it, pos = cfg["hidden"], cfg["intermediate"], cfg["positions"]
        conv = lambda i, o: _linear(rng, o, i).T.copy()  # Conv1D weight is [in, out]
        w = {"wte.weight": _embedding(rng, cfg["vocab"], h),
             "wpe.weight": _embedding(rng, pos, h)}
        for i in range(cfg["layers"]):
            p = "h.%d." % i
            w[p + "ln_1.weight"], w[p + "ln_1.bias"] = _norm_weight(rng, h), _bias(rng, h)
            if cfg["buffers"]:
                w[p + "attn.bias"] = np.tril(np.ones((pos, pos), np.float32))[None, None]
            w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = conv(h, 3 * h), _bias(rng, 3 * h)
            w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = conv(h, h), _bias(rng, h)
            w[p + "ln_2.weight"], w[p + "ln_2.bias"] = _norm_weight(rng, h), _bias(rng, h)
            w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = conv(h, it), _bias(rng, it)
            w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = conv(it, h), _bias(rng, h)
        w["ln_f.weight"], w["ln_f.bias"] = _norm_weight(rng, h), _bias(rng, h)
        return w

    @staticmethod
    def inputs(cfg, rng, batch, seq, pad=0):
        assert seq <= cfg["positions"], "seq longer than positions"
        return {"tokens": _tokens(rng, cfg["vocab"], batch, seq)}

    @staticmethod
    def forward(w, inp, cfg):
        tok = np.asarray(inp["tokens"])
        b, t = tok.shape
        h, nh, eps = cfg["hidden"], cfg["heads"], cfg["eps"]
        x = w["wte.weight"][tok] + w["wpe.weight"][np.arange(t)]
        for i in range(cfg["layers"]):
            p = "h.%d." % i
            a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
            q, k, v = (qkv[..., j * h:(j + 1) * h].reshape(b, t, nh, h // nh) for j in range(3))
            o = attention(q, k, v, cfg["scale"], causal=True)
            x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
            f = gelu_tanh(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
            x = x + f @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
        return x @ w["wte.weight"].T  # lm_head is tied to wte

    @staticmethod
    def infer(w):
        vocab, hidden = w["wte.weight"].shape
        return {"vocab": vocab, "hidden": hidden, "positions": w["wpe.weight"].shape[0],
                "layers": 1 + max(int(n.split(".")[1]) for n in w if n.startswith("h.")),
                "intermediate": w["h.0.mlp.c_fc.weight"].shape[1]}

    @staticmethod
    def hf_config(cfg):
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                "vocab_size": cfg["vocab"], "n_embd": cfg["hidden"], "n_layer": cfg["layers"],
                "n_head": cfg["heads"], "n_positions": cfg["positions"], "n_ctx": cfg["positions"],
                "n_inner": cfg["intermediate"], "layer_norm_epsilon": cfg["eps"],
                "activation_function": "gelu_new", "tie_word_embeddings": True,
                "torch_dtype": "float32"}

    @staticmethod
    def from_hf_config(c):
        return {"vocab": c.get("vocab_size"), "hidden": c.get("n_embd"), "layers": c.get("n_layer"),
                "heads": c.get("n_head"), "positions": c.get("n_positions"),
                "intermediate": c.get("n_inner"), "eps": c.get("layer_norm_epsilon")}


# ---------------------------------------------------------------------------------------------
# bert: sentence-transformers all-MiniLM-L6-v2 = BertModel + mean pooling + L2 normalize
# ---------------------------------------------------------------------------------------------

class Bert:
    """Embeddings word + position + token_type, then LayerNorm; post-norm encoder layers:
    a = LN(h + dense(attn(h))), h = LN(a + output(gelu_erf(intermediate(a)))); bidirectional
    attention, padded keys hidden by the extended attention mask.  Then sentence-transformers'
    mean pooling over unpadded tokens and F.normalize (p=2).  The pooler is written, unused.
    Knob: buffers=True (default, as in the real file) writes embeddings.position_ids (I64).
    """
    name = "bert"
    DEFAULTS = {"vocab": 128, "hidden": 64, "layers": 2, "heads": 4, "intermediate": 256,
                "positions": 64, "type_vocab": 2, "eps": 1e-12, "scale": None, "buffers": True}
    INPUTS = ["tokens", "token_types", "mask"]
    OUTPUT = "embeddings"

    @staticmethod
    def complete(cfg):
        if cfg.get("scale") is None:
            cfg["scale"] = 1.0 / math.sqrt(cfg["hidden"] // cfg["heads"])
        return cfg

    @staticmethod
    def weights(cfg, rng):
        h, it = cfg["hidden"], cfg["intermediate"]
        w = {}
        if cfg["buffers"]:
            w["embeddings.position_ids"] = np.arange(cfg["positions"], dtype="<i8")[None]
        w["embeddings.word_embeddings.weight"] = _embedding(rng, cfg["vocab"], h)
        w["embeddings.position_embeddings.weight"] = _embedding(rng, cfg["positions"], h)
        w["embeddings.token_type_embeddings.weight"] = _embedding(rng, cfg["type_vocab"], h)
        w["embeddings.LayerNorm.weight"] = _norm_weight(rng, h)
        w["embeddings.LayerNorm.bias"] = _bias(rng, h)

        def dense(name, out_f, in_f):
            w[name + ".weight"], w[name + ".bias"] = _linear(rng, out_f, in_f), _bias(rng, out_f)

        def norm(name):
            w[name + ".weight"], w[name + ".bias"] = _norm_weight(rng, h), _bias(rng, h)

        for i in range(cfg["layers"]):
            p = "encoder.layer.%d." % i
            for name in ("query", "key", "value"):
                dense(p + "attention.self." + name, h, h)
            dense(p + "attention.output.dense", h, h)
            norm(p + "attention.output.LayerNorm")
            dense(p + "intermediate.dense", it, h)
            dense(p + "output.dense", h, it)
            norm(p + "output.LayerNorm")
        dense("pooler.dense", h, h)
        return w

    @staticmethod
    def inputs(cfg, rng, batch, seq, pad=0):
        assert seq <= cfg["positions"], "seq longer than positions"
        assert 0 <= pad < seq, "--pad must leave at least one real token"
        tokens = _tokens(rng, cfg["vocab"], batch, seq)
        types = rng.integers(0, cfg["type_vocab"], size=(batch, seq)).astype("<i4")
        mask = np.ones((batch, seq), dtype="<f4")
        if pad:
            mask[0, seq - pad:] = 0.0  # row 0 ends in padding, as a tokenizer pads a short text
            tokens[0, seq - pad:] = 0  # [PAD] is id 0 and type 0 in BERT's vocabulary
            types[0, seq - pad:] = 0
        return {"tokens": tokens, "token_types": types, "mask": mask}

    @staticmethod
    def forward(w, inp, cfg):
        tok, types = np.asarray(inp["tokens"]), np.asarray(inp["token_types"])
        mask = np.asarray(inp["mask"], dtype=np.float64)
        b, t = tok.shape
        h, nh, eps = cfg["hidden"], cfg["heads"], cfg["eps"]
        x = (w["embeddings.word_embeddings.weight"][tok]
             + w["embeddings.token_type_embeddings.weight"][types]
             + w["embeddings.position_embeddings.weight"][np.arange(t)])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        lin = lambda name, a: a @ w[name + ".weight"].T + w[name + ".bias"]
        ln = lambda name, a: layer_norm(a, w[name + ".weight"], w[name + ".bias"], eps)
        for i in range(cfg["layers"]):
            p = "encoder.layer.%d." % i
            q, k, v = (lin(p + "attention.self." + n, x).reshape(b, t, nh, h // nh)
                       for n in ("query", "key", "value"))
            o = attention(q, k, v, cfg["scale"], causal=False, key_mask=mask)
            a = ln(p + "attention.output.LayerNorm", lin(p + "attention.output.dense", o) + x)
            f = gelu_erf(lin(p + "intermediate.dense", a))
            x = ln(p + "output.LayerNorm", lin(p + "output.dense", f) + a)
        # sentence-transformers Pooling(mean): sum(h * mask) / clamp(sum(mask), min=1e-9)
        pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        # Normalize: F.normalize(p=2, dim=1), x / max(||x||, 1e-12)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    @staticmethod
    def infer(w):
        vocab, hidden = w["embeddings.word_embeddings.weight"].shape
        return {"vocab": vocab, "hidden": hidden,
                "positions": w["embeddings.position_embeddings.weight"].shape[0],
                "type_vocab": w["embeddings.token_type_embeddings.weight"].shape[0],
                "layers": 1 + max(int(n.split(".")[2]) for n in w if n.startswith("encoder.layer.")),
                "intermediate": w["encoder.layer.0.intermediate.dense.weight"].shape[0]}

    @staticmethod
    def hf_config(cfg):
        return {"architectures": ["BertModel"], "model_type": "bert",
                "vocab_size": cfg["vocab"], "hidden_size": cfg["hidden"],
                "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
                "intermediate_size": cfg["intermediate"], "max_position_embeddings": cfg["positions"],
                "type_vocab_size": cfg["type_vocab"], "layer_norm_eps": cfg["eps"],
                "hidden_act": "gelu", "position_embedding_type": "absolute", "pad_token_id": 0,
                "torch_dtype": "float32"}

    @staticmethod
    def from_hf_config(c):
        return {"vocab": c.get("vocab_size"), "hidden": c.get("hidden_size"),
                "layers": c.get("num_hidden_layers"), "heads": c.get("num_attention_heads"),
                "intermediate": c.get("intermediate_size"),
                "positions": c.get("max_position_embeddings"),
                "type_vocab": c.get("type_vocab_size"), "eps": c.get("layer_norm_eps")}


FAMILIES = {f.name: f for f in (Mlp, Llama, Qwen2, Gpt2, Bert)}


def family(name):
    try:
        return FAMILIES[name]
    except KeyError:
        raise SystemExit("unknown family %r (one of %s)" % (name, ", ".join(FAMILIES)))


def make_config(name, *overrides, derive=True):
    """Family defaults updated with each dict of `overrides` in turn (None values skipped), then
    (derive=True) the derived fields filled in: head_dim, rotary_dim, scale, gpt2's intermediate."""
    fam = family(name)
    cfg = dict(fam.DEFAULTS)
    for layer in overrides:
        for k, v in (layer or {}).items():
            if k not in cfg:
                raise SystemExit("%s has no config key %r (keys: %s)" % (name, k, ", ".join(cfg)))
            if v is not None:
                cfg[k] = v
    return fam.complete(cfg) if derive else cfg


def random_weights(name, cfg, seed=0):
    """Seeded float32 weights with HF's names, in HF's state-dict order."""
    return family(name).weights(cfg, np.random.default_rng([seed, 0]))


def random_inputs(name, cfg, seed=0, batch=2, seq=8, pad=0):
    """Seeded inputs (a separate stream from the weights: changing batch/seq keeps the weights)."""
    return family(name).inputs(cfg, np.random.default_rng([seed, 1]), batch, seq, pad)


def reference(name, weights, inputs, cfg, dtype=None):
    """float64 forward.  With `dtype` (f32/f16/bf16) the float weights are first rounded as
    save_file stores them (safetensors.round_like); without, they are taken as they are (e.g.
    read back from a checkpoint)."""
    from .safetensors import round_like

    def prep(a):
        a = np.asarray(a)
        if a.dtype.kind != "f":
            return a
        return round_like(a, dtype) if dtype else a.astype(np.float64)

    return family(name).forward({n: prep(a) for n, a in weights.items()}, inputs, cfg)
