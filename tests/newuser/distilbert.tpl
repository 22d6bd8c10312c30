# DistilBERT encoder (DistilBertModel, as inside DistilBertForMaskedLM: tensor names carry the
# "distilbert." prefix of distilbert-base-uncased's checkpoint). Learned absolute positions, no
# token types, post-norm blocks, bidirectional attention hiding padded keys, GELU (erf).
# Output: last_hidden_state. Defaults: distilbert-base-uncased.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# CHECK: forward(%tokens: i32[batch,seq]{{.*}}, %mask: f32[batch,seq]{{.*}}) -> (hidden_states)
# CHECK: positions %tokens
# CHECK: for @layer[6] iter(
# CHECK: attention {{.*}}, %mask, heads=12, kv_heads=12, causal=false : f32[batch,seq,768]
# CHECK: gelu
# CHECK: yield
# CHECK: return
model distilbert

config {
  vocab         = 30522
  max_positions = 512
  hidden        = 768
  layers        = 6
  heads         = 12
  intermediate  = 3072
  eps           = 1e-12
}

weights {
  word_embed     : [vocab, hidden]         = "distilbert.embeddings.word_embeddings.weight"
  position_embed : [max_positions, hidden] = "distilbert.embeddings.position_embeddings.weight"
  embed_norm_w   : [hidden]                = "distilbert.embeddings.LayerNorm.weight"
  embed_norm_b   : [hidden]                = "distilbert.embeddings.LayerNorm.bias"
  layer[layers] {
    wq        : [hidden, hidden]       = "distilbert.transformer.layer.{i}.attention.q_lin.weight"
    bq        : [hidden]               = "distilbert.transformer.layer.{i}.attention.q_lin.bias"
    wk        : [hidden, hidden]       = "distilbert.transformer.layer.{i}.attention.k_lin.weight"
    bk        : [hidden]               = "distilbert.transformer.layer.{i}.attention.k_lin.bias"
    wv        : [hidden, hidden]       = "distilbert.transformer.layer.{i}.attention.v_lin.weight"
    bv        : [hidden]               = "distilbert.transformer.layer.{i}.attention.v_lin.bias"
    wo        : [hidden, hidden]       = "distilbert.transformer.layer.{i}.attention.out_lin.weight"
    bo        : [hidden]               = "distilbert.transformer.layer.{i}.attention.out_lin.bias"
    sa_norm_w : [hidden]               = "distilbert.transformer.layer.{i}.sa_layer_norm.weight"
    sa_norm_b : [hidden]               = "distilbert.transformer.layer.{i}.sa_layer_norm.bias"
    lin1_w    : [intermediate, hidden] = "distilbert.transformer.layer.{i}.ffn.lin1.weight"
    lin1_b    : [intermediate]         = "distilbert.transformer.layer.{i}.ffn.lin1.bias"
    lin2_w    : [hidden, intermediate] = "distilbert.transformer.layer.{i}.ffn.lin2.weight"
    lin2_b    : [hidden]               = "distilbert.transformer.layer.{i}.ffn.lin2.bias"
    out_norm_w: [hidden]               = "distilbert.transformer.layer.{i}.output_layer_norm.weight"
    out_norm_b: [hidden]               = "distilbert.transformer.layer.{i}.output_layer_norm.bias"
  }
}

forward(tokens: i32[batch, seq], mask: f32[batch, seq]) -> (hidden_states) {
  x = embedding(tokens, word_embed) + embedding(positions(tokens), position_embed)
  x = layernorm(x, embed_norm_w, embed_norm_b, eps)
  for l in layer {
    q = linear(x, l.wq, l.bq)
    k = linear(x, l.wk, l.bk)
    v = linear(x, l.wv, l.bv)
    a = attention(q, k, v, heads=heads, causal=false, mask=mask)
    x = layernorm(linear(a, l.wo, l.bo) + x, l.sa_norm_w, l.sa_norm_b, eps)
    h = linear(gelu(linear(x, l.lin1_w, l.lin1_b)), l.lin2_w, l.lin2_b)
    x = layernorm(h + x, l.out_norm_w, l.out_norm_b, eps)
  }
  hidden_states = x
  return hidden_states
}
