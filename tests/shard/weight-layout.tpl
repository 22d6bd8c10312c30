# weight-layout keeps a weight [in, out] when only linears read it (the GEMM then needs no
# transposed operand); a table an embedding reads too (a tied head), a matmul's weight (stored
# [in, out] already) and a vector keep the checkpoint's layout. Before the pass, none is marked.
# RUN: %tpc %s -tp 2 --emit ir | FileCheck %s --implicit-check-not=stored
# RUN: %tpc %s -tp 2 --emit ir --stop-after plan-memory | FileCheck %s --check-prefix=BEFORE
# CHECK:      @embed {{.*}}= "embed.weight"{{$}}
# CHECK-NEXT: @up {{.*}}= "up.weight", stored [in, out] ;
# CHECK-NEXT: @down {{.*}}= "down.weight", stored [in, out] ;
# CHECK-NEXT: @proj {{.*}}= "proj.weight"{{$}}
# CHECK-NEXT: @norm {{.*}}= "norm.weight"{{$}}
# BEFORE-NOT: stored
model weight_layout
config { vocab = 64  hidden = 16  intermediate = 32 }
weights {
  embed : [vocab, hidden]        = "embed.weight"
  up    : [intermediate, hidden] = "up.weight"
  down  : [hidden, intermediate] = "down.weight"
  proj  : [hidden, hidden]       = "proj.weight"
  norm  : [hidden]               = "norm.weight"
}
forward(ids: i32[batch, seq]) -> (logits) {
  x = embedding(ids, embed)
  x = x + linear(gelu(linear(x, up)), down)
  x = matmul(rmsnorm(x, norm, 1e-5), proj)
  logits = linear(x, embed)
  return logits
}
