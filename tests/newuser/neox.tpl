# GPT-NeoX / Pythia (GPTNeoXForCausalLM), Hugging Face tensor names. Partial rotary
# (rotary_pct = 0.25 of each head, halves rotated: style=neox), parallel residual
# (use_parallel_residual: attention reads input_layernorm, MLP reads post_attention_layernorm,
# both of the same x), GELU (erf), untied embed_out.
#
# query_key_value: HF views its output as [batch, seq, heads, 3 * head_dim] and slices each head
# into (q, k, v), i.e. the rows of the fused weight are ordered (head, {q,k,v}, dim). `split`
# cuts only contiguous blocks of the last dimension, so it would give q = the first `hidden`
# rows = heads 0..heads/3 of mixed q/k/v. This file therefore expects the checkpoint with
# the fused rows permuted to ({q,k,v}, head, dim) order (a one-off re-save of the tensor);
# there is no way in the language to express the per-head interleave of the HF tensor.
# Defaults: EleutherAI/pythia-160m.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D layers=16 -D hidden=2048 -D heads=8 | FileCheck %s --check-prefix=P1B
# CHECK: for @layers_[12] iter(%[[X:[a-z0-9.]+]] =
# CHECK: layernorm %[[X]], @layers_.ln_attn_w
# CHECK: split {{.*}}, 768, 768, 768 :
# CHECK: rope {{.*}}heads=12, theta=10000, rotary_dim=16 :
# CHECK: layernorm %[[X]], @layers_.ln_mlp_w
# CHECK: %logits = linear {{.*}}@embed_out {{.*}}: f32[batch,seq,50304]
# P1B: for @layers_[16] iter(
# P1B: rope {{.*}}heads=8, theta=10000, rotary_dim=64 : f32[batch,seq,2048]
model neox

config {
  vocab        = 50304
  hidden       = 768
  layers       = 12
  heads        = 12
  head_dim     = hidden / heads
  rotary_dim   = head_dim / 4          # rotary_pct = 0.25
  intermediate = 4 * hidden
  eps          = 1e-5
  rope_theta   = 10000.0
}

weights {
  embed_in : [vocab, hidden] = "gpt_neox.embed_in.weight"
  layers_[layers] {
    ln_attn_w : [hidden]               = "gpt_neox.layers.{i}.input_layernorm.weight"
    ln_attn_b : [hidden]               = "gpt_neox.layers.{i}.input_layernorm.bias"
    ln_mlp_w  : [hidden]               = "gpt_neox.layers.{i}.post_attention_layernorm.weight"
    ln_mlp_b  : [hidden]               = "gpt_neox.layers.{i}.post_attention_layernorm.bias"
    qkv_w     : [3 * hidden, hidden]   = "gpt_neox.layers.{i}.attention.query_key_value.weight"
    qkv_b     : [3 * hidden]           = "gpt_neox.layers.{i}.attention.query_key_value.bias"
    dense_w   : [hidden, hidden]       = "gpt_neox.layers.{i}.attention.dense.weight"
    dense_b   : [hidden]               = "gpt_neox.layers.{i}.attention.dense.bias"
    fc_in_w   : [intermediate, hidden] = "gpt_neox.layers.{i}.mlp.dense_h_to_4h.weight"
    fc_in_b   : [intermediate]         = "gpt_neox.layers.{i}.mlp.dense_h_to_4h.bias"
    fc_out_w  : [hidden, intermediate] = "gpt_neox.layers.{i}.mlp.dense_4h_to_h.weight"
    fc_out_b  : [hidden]               = "gpt_neox.layers.{i}.mlp.dense_4h_to_h.bias"
  }
  final_ln_w : [hidden]        = "gpt_neox.final_layer_norm.weight"
  final_ln_b : [hidden]        = "gpt_neox.final_layer_norm.bias"
  embed_out  : [vocab, hidden] = "embed_out.weight"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, embed_in)
  for l in layers_ {
    a = layernorm(x, l.ln_attn_w, l.ln_attn_b, eps)
    q, k, v = split(linear(a, l.qkv_w, l.qkv_b), hidden, hidden, hidden)
    q = rope(q, heads=heads, theta=rope_theta, style=neox, rotary_dim=rotary_dim)
    k = rope(k, heads=heads, theta=rope_theta, style=neox, rotary_dim=rotary_dim)
    attn = linear(attention(q, k, v, heads=heads, causal=true), l.dense_w, l.dense_b)
    m = layernorm(x, l.ln_mlp_w, l.ln_mlp_b, eps)
    ff = linear(gelu(linear(m, l.fc_in_w, l.fc_in_b)), l.fc_out_w, l.fc_out_b)
    x = x + attn + ff
  }
  logits = linear(layernorm(x, final_ln_w, final_ln_b, eps), embed_out)
  return logits
}
