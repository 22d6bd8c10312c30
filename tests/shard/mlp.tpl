# The seed MLP is Megatron's: column-parallel up, gelu on the split, row-parallel down, one
# all_reduce, no all_gather. The naive plan gathers after `up` and slices again before `down`;
# at -tp 1 there are no collectives at all.
# RUN: %tpc %s -tp 2 --emit ir --stop-after elide | FileCheck %s --implicit-check-not=all_gather --implicit-check-not=slice
# RUN: %tpc %s -tp 2 --emit ir --stop-after elide --no-elide | FileCheck %s --check-prefix=NAIVE
# RUN: %tpc %s -tp 1 --emit ir --stop-after elide | FileCheck %s --check-prefix=ONE --implicit-check-not=all_reduce --implicit-check-not=all_gather
# RUN: %tpc %s -tp 2 --emit plan | FileCheck %s --check-prefix=PLAN
model mlp
config { hidden = 128  intermediate = 512 }
weights {
  up   : [intermediate, hidden] = "up_proj.weight"
  down : [hidden, intermediate] = "down_proj.weight"
}
forward(x: f32[batch, seq, hidden]) -> (y) {
  y = linear(gelu(linear(x, up)), down)
  return y
}
# CHECK:      @up {{.*}}: f32[512,128] S(0) {{.*}}= "up_proj.weight" ; rank 0 holds [0:256, 0:128]
# CHECK:      @down {{.*}}: f32[128,512] S(1) {{.*}}= "down_proj.weight" ; rank 0 holds [0:128, 0:256]
# CHECK:      %[[U:.*]] = linear %x, @up {{ *}}: f32[batch,seq,512] S(2) ; rank 0 holds 0:256
# CHECK-NEXT: %[[G:.*]] = gelu %[[U]] {{ *}}: f32[batch,seq,512] S(2)
# CHECK-NEXT: %y = linear %[[G]], @down {{ *}}: f32[batch,seq,128] P
# CHECK-NEXT: %[[Y:.*]] = all_reduce %y, root=0 {{ *}}: f32[batch,seq,128] R
# CHECK-NEXT: return %[[Y]]

# NAIVE:      %[[U:.*]] = linear %x, @up {{ *}}: f32[batch,seq,512] S(2)
# NAIVE-NEXT: %[[W:.*]] = all_gather %[[U]] {{ *}}: f32[batch,seq,512] R
# NAIVE-NEXT: %[[G:.*]] = gelu %[[W]] {{ *}}: f32[batch,seq,512] R
# NAIVE-NEXT: %[[S:.*]] = slice %[[G]] {{ *}}: f32[batch,seq,512] S(2)
# NAIVE-NEXT: %y = linear %[[S]], @down {{ *}}: f32[batch,seq,128] P
# NAIVE-NEXT: all_reduce %y, root=0

# ONE: %y = linear {{.*}}, @down {{ *}}: f32[batch,seq,128]{{$}}

# Bytes per token: the all_reduce of y [.., 128] f32 at tp 2 sends 2 (p-1)/p * 128 * 4 = 512 on
# each rank (ring). Weights: each rank reads half of up (256 x 128 x 4 = 131072) and half of
# down (128 x 256 x 4 = 131072).
# PLAN: "summary": {"collectives_per_block": 0, "collectives_outside_blocks": 1, "bytes_per_token": [512, 512]}
# PLAN: {"op": "all_reduce", "value": "y", "shape": ["batch", "seq", 128], "from": "P", "to_root": true, "per_forward": 1, "line": 15, "bytes_per_token": [512, 512]}
# PLAN: {"rank": 1, "weights": [
# PLAN-NEXT: {"checkpoint": "up_proj.weight", "shape": [512, 128], "slice": {{\[\[\[}}256, 512]], {{\[\[}}0, 128]]], "bytes": 131072},
# PLAN-NEXT: {"checkpoint": "down_proj.weight", "shape": [128, 512], "slice": {{\[\[\[}}0, 128]], {{\[\[}}256, 512]]], "bytes": 131072}
# PLAN-NEXT: ], "weight_bytes": 262144, "activation_bytes": {{[0-9]+}}}
