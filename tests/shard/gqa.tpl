# GQA with 6 query heads and 2 kv heads (group of 3): each rank holds exactly the kv heads its
# query heads read. At -tp 3 every rank has 2 query heads; rank 1's (2, 3) read kv heads 0 and
# 1. At -tp 4 the query heads go 2/2/1/1 and kv heads are shared where ranks need the same one.
# head_dim is 128: kv head 0 is rows 0:128 of k, kv head 1 is rows 128:256.
# RUN: %tpc %s -tp 3 --emit ir --stop-after elide --rank 0 | FileCheck %s --check-prefix=TP3R0
# RUN: %tpc %s -tp 3 --emit ir --stop-after elide --rank 1 | FileCheck %s --check-prefix=TP3R1
# RUN: %tpc %s -tp 3 --emit ir --stop-after elide --rank 2 | FileCheck %s --check-prefix=TP3R2
# RUN: %tpc %s -tp 4 --emit plan | FileCheck %s --check-prefix=TP4
model gqa
config { hidden = 768  heads = 6  kv_heads = 2  head_dim = hidden / heads }
weights {
  wq : [heads * head_dim, hidden]    = "q.weight"
  wk : [kv_heads * head_dim, hidden] = "k.weight"
  wv : [kv_heads * head_dim, hidden] = "v.weight"
  wo : [hidden, heads * head_dim]    = "o.weight"
}
forward(x: f32[batch, seq, hidden]) -> (y) {
  q = rope(linear(x, wq), heads=heads)
  k = rope(linear(x, wk), heads=kv_heads)
  v = linear(x, wv)
  y = linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), wo)
  return y
}
# TP3R0: @wq|wk|wv {{.*}} ; rank 0 holds [0:256 | 0:128 | 0:128, 0:768]
# TP3R1: @wq|wk|wv {{.*}} ; rank 1 holds [256:512 | 0:256 | 0:256, 0:768]
# TP3R2: @wq|wk|wv {{.*}} ; rank 2 holds [512:768 | 128:256 | 128:256, 0:768]
# TP3R1: attention {{.*}}: f32[batch,seq,768] S(2) ; rank 1 holds 256:512

# Query heads 0-1, 2-3, 4, 5 read kv heads 0, 0-1, 1, 1.
# TP4: {"rank": 0, "weights": [
# TP4-NEXT: {"checkpoint": "q.weight", "shape": [768, 768], "slice": {{\[\[\[}}0, 256]], {{\[\[}}0, 768]]], "bytes": 786432},
# TP4-NEXT: {"checkpoint": "k.weight", "shape": [256, 768], "slice": {{\[\[\[}}0, 128]], {{\[\[}}0, 768]]], "bytes": 393216},
# TP4: {"rank": 1, "weights": [
# TP4-NEXT: {"checkpoint": "q.weight", "shape": [768, 768], "slice": {{\[\[\[}}256, 512]], {{\[\[}}0, 768]]], "bytes": 786432},
# TP4-NEXT: {"checkpoint": "k.weight", "shape": [256, 768], "slice": {{\[\[\[}}0, 256]], {{\[\[}}0, 768]]], "bytes": 786432},
# TP4: {"rank": 2, "weights": [
# TP4-NEXT: {"checkpoint": "q.weight", "shape": [768, 768], "slice": {{\[\[\[}}512, 640]], {{\[\[}}0, 768]]], "bytes": 393216},
# TP4-NEXT: {"checkpoint": "k.weight", "shape": [256, 768], "slice": {{\[\[\[}}128, 256]], {{\[\[}}0, 768]]], "bytes": 393216},
# TP4: {"rank": 3, "weights": [
# TP4-NEXT: {"checkpoint": "q.weight", "shape": [768, 768], "slice": {{\[\[\[}}640, 768]], {{\[\[}}0, 768]]], "bytes": 393216},
# TP4-NEXT: {"checkpoint": "k.weight", "shape": [256, 768], "slice": {{\[\[\[}}128, 256]], {{\[\[}}0, 768]]], "bytes": 393216},
