"""make_fifos.py DIR — FIFOs where the runtime opens files (fifos.test).

DIR/in.npy, DIR/out.npy, DIR/w.safetensors: FIFOs. DIR/single/model.safetensors and
DIR/index/model.safetensors.index.json: FIFOs in a checkpoint folder. DIR/shard/ holds a good
index whose one shard is a FIFO.
"""
import json
import os
import sys

top = sys.argv[1]
for folder in ("single", "index", "shard"):
    os.makedirs(os.path.join(top, folder), exist_ok=True)
for path in ("in.npy", "out.npy", "w.safetensors", "single/model.safetensors",
             "index/model.safetensors.index.json", "shard/model-00001-of-00001.safetensors"):
    os.mkfifo(os.path.join(top, path))
with open(os.path.join(top, "shard", "model.safetensors.index.json"), "w") as f:
    json.dump({"weight_map": {"w": "model-00001-of-00001.safetensors"}}, f)
