# ViT encoder (ViTModel's encoder + final layernorm), Hugging Face tensor names of
# google/vit-base-patch16-224-in21k (prefix "vit." as in ViTForImageClassification).
# Pre-norm blocks, bidirectional attention, GELU (erf).
# The patch embedding is not here: it is a Conv2d whose weight is stored [hidden, 3, 16, 16]
# and the language has no reshape to use it with `linear`, and the CLS token is joined along
# the sequence dimension, which `concat` (last dimension only) cannot do. The input is thus the
# embedded sequence (CLS + patches + position embeddings), [batch, seq, hidden].
# Defaults: vit-base-patch16-224.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D hidden=1024 -D layers=24 -D heads=16 -D intermediate=4096 | FileCheck %s --check-prefix=LARGE
# CHECK: for @layer[12] iter(
# CHECK: attention {{.*}}heads=12, kv_heads=12, causal=false : f32[batch,seq,768]
# CHECK: %y = layernorm {{.*}}@ln_f_w, @ln_f_b, eps=1e-12 : f32[batch,seq,768]
# CHECK-NEXT: return %y
# LARGE: for @layer[24] iter(
# LARGE: linear {{.*}}@layer.fc1_w, @layer.fc1_b {{.*}}: f32[batch,seq,4096]
model vit

config {
  hidden       = 768
  layers       = 12
  heads        = 12
  intermediate = 3072
  eps          = 1e-12
}

weights {
  layer[layers] {
    ln1_w : [hidden]               = "vit.encoder.layer.{i}.layernorm_before.weight"
    ln1_b : [hidden]               = "vit.encoder.layer.{i}.layernorm_before.bias"
    wq    : [hidden, hidden]       = "vit.encoder.layer.{i}.attention.attention.query.weight"
    bq    : [hidden]               = "vit.encoder.layer.{i}.attention.attention.query.bias"
    wk    : [hidden, hidden]       = "vit.encoder.layer.{i}.attention.attention.key.weight"
    bk    : [hidden]               = "vit.encoder.layer.{i}.attention.attention.key.bias"
    wv    : [hidden, hidden]       = "vit.encoder.layer.{i}.attention.attention.value.weight"
    bv    : [hidden]               = "vit.encoder.layer.{i}.attention.attention.value.bias"
    wo    : [hidden, hidden]       = "vit.encoder.layer.{i}.attention.output.dense.weight"
    bo    : [hidden]               = "vit.encoder.layer.{i}.attention.output.dense.bias"
    ln2_w : [hidden]               = "vit.encoder.layer.{i}.layernorm_after.weight"
    ln2_b : [hidden]               = "vit.encoder.layer.{i}.layernorm_after.bias"
    fc1_w : [intermediate, hidden] = "vit.encoder.layer.{i}.intermediate.dense.weight"
    fc1_b : [intermediate]         = "vit.encoder.layer.{i}.intermediate.dense.bias"
    fc2_w : [hidden, intermediate] = "vit.encoder.layer.{i}.output.dense.weight"
    fc2_b : [hidden]               = "vit.encoder.layer.{i}.output.dense.bias"
  }
  ln_f_w : [hidden] = "vit.layernorm.weight"
  ln_f_b : [hidden] = "vit.layernorm.bias"
}

forward(embeddings: f32[batch, seq, hidden]) -> (y) {
  x = embeddings
  for l in layer {
    h = layernorm(x, l.ln1_w, l.ln1_b, eps)
    a = attention(linear(h, l.wq, l.bq), linear(h, l.wk, l.bk), linear(h, l.wv, l.bv),
                  heads=heads, causal=false)
    x = x + linear(a, l.wo, l.bo)
    h = layernorm(x, l.ln2_w, l.ln2_b, eps)
    x = x + linear(gelu(linear(h, l.fc1_w, l.fc1_b)), l.fc2_w, l.fc2_b)
  }
  y = layernorm(x, ln_f_w, ln_f_b, eps)
  return y
}
