# BERT encoder with mean pooling, as sentence-transformers' all-MiniLM-L6-v2 (BertModel, then
# Pooling(mean) and Normalize), with the Hugging Face tensor names of its model.safetensors.
# Post-norm blocks, bidirectional attention that hides padded keys, GELU (erf form).
model bert

config {
  vocab         = 30522
  max_positions = 512
  type_vocab    = 2
  hidden        = 384
  layers        = 6
  heads         = 12
  intermediate  = 1536
  eps           = 1e-12
}

weights {
  word_embed     : [vocab, hidden]         = "embeddings.word_embeddings.weight"
  position_embed : [max_positions, hidden] = "embeddings.position_embeddings.weight"
  type_embed     : [type_vocab, hidden]    = "embeddings.token_type_embeddings.weight"
  embed_norm_w   : [hidden]                = "embeddings.LayerNorm.weight"
  embed_norm_b   : [hidden]                = "embeddings.LayerNorm.bias"
  layer[layers] {
    wq         : [hidden, hidden]       = "encoder.layer.{i}.attention.self.query.weight"
    bq         : [hidden]               = "encoder.layer.{i}.attention.self.query.bias"
    wk         : [hidden, hidden]       = "encoder.layer.{i}.attention.self.key.weight"
    bk         : [hidden]               = "encoder.layer.{i}.attention.self.key.bias"
    wv         : [hidden, hidden]       = "encoder.layer.{i}.attention.self.value.weight"
    bv         : [hidden]               = "encoder.layer.{i}.attention.self.value.bias"
    wo         : [hidden, hidden]       = "encoder.layer.{i}.attention.output.dense.weight"
    bo         : [hidden]               = "encoder.layer.{i}.attention.output.dense.bias"
    attn_norm_w: [hidden]               = "encoder.layer.{i}.attention.output.LayerNorm.weight"
    attn_norm_b: [hidden]               = "encoder.layer.{i}.attention.output.LayerNorm.bias"
    w_in       : [intermediate, hidden] = "encoder.layer.{i}.intermediate.dense.weight"
    b_in       : [intermediate]         = "encoder.layer.{i}.intermediate.dense.bias"
    w_out      : [hidden, intermediate] = "encoder.layer.{i}.output.dense.weight"
    b_out      : [hidden]               = "encoder.layer.{i}.output.dense.bias"
    out_norm_w : [hidden]               = "encoder.layer.{i}.output.LayerNorm.weight"
    out_norm_b : [hidden]               = "encoder.layer.{i}.output.LayerNorm.bias"
  }
}

forward(tokens: i32[batch, seq], token_types: i32[batch, seq], mask: f32[batch, seq])
    -> (embeddings) {
  x = embedding(tokens, word_embed) + embedding(positions(tokens), position_embed)
  x = layernorm(x + embedding(token_types, type_embed), embed_norm_w, embed_norm_b, eps)
  for l in layer {
    q = linear(x, l.wq, l.bq)
    k = linear(x, l.wk, l.bk)
    v = linear(x, l.wv, l.bv)
    a = attention(q, k, v, heads=heads, causal=false, mask=mask)
    x = layernorm(x + linear(a, l.wo, l.bo), l.attn_norm_w, l.attn_norm_b, eps)
    h = gelu(linear(x, l.w_in, l.b_in))
    x = layernorm(x + linear(h, l.w_out, l.b_out), l.out_norm_w, l.out_norm_b, eps)
  }
  embeddings = normalize(mean(x, 1, mask=mask))    # mean over the kept tokens, then L2
  return embeddings
}
