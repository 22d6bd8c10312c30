"""The expected output from Hugging Face's own modeling code: an independent reference.

    hfref.py FAMILY --ckpt DIR --inputs DIR --out FILE.npy

tpcref (NumPy) writes the test checkpoints and computes their expected outputs from each
family's definition as we read it; a misreading shared by tpcref and tpc (a transposed square
weight, a wrong RoPE pairing) would pass every test that compares the two. This script loads the
same checkpoint folder (its config.json and model.safetensors, as a user would download them)
with transformers' from_pretrained, runs it in float64 on CPU, and writes the output tpc's
program writes: `logits` for llama, qwen2 and gpt2; for bert, sentence-transformers'
all-MiniLM-L6-v2 pipeline (BertModel, mean pooling over the mask, L2 normalisation).

transformers (pinned by scripts/setup.sh into build/pypi) runs offline; lit offers it as the
feature `transformers`.
"""
import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

CLASSES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gpt2": "GPT2LMHeadModel",
           "bert": "BertModel"}


def load_input(folder, name):
    return torch.from_numpy(np.load(os.path.join(folder, name + ".npy")).astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("family", choices=sorted(CLASSES))
    ap.add_argument("--ckpt", required=True, help="a folder with config.json")
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--generate", type=int, default=0,
                    help="greedy generate(do_sample=False) of N new tokens: --out gets the ids "
                         "[batch, prompt + new], OUT_scores.npy the logits of each new id, and "
                         "the eos id generate used is printed")
    args = ap.parse_args()

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    # float64 throughout: also what transformers' mask helpers create with torch's default type
    # (on torch 1.13 a float32 mask cannot hold float64's minimum)
    torch.set_default_dtype(torch.float64)
    cls = getattr(transformers, CLASSES[args.family])
    model = cls.from_pretrained(args.ckpt, torch_dtype=torch.float64, attn_implementation="eager")
    model.eval()
    tokens = load_input(args.inputs, "tokens")
    if args.generate:
        return generate(model, tokens, args)
    with torch.no_grad():
        if args.family == "bert":
            mask = torch.from_numpy(np.load(os.path.join(args.inputs, "mask.npy"))).double()
            hidden = model(input_ids=tokens, token_type_ids=load_input(args.inputs, "token_types"),
                           attention_mask=mask).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
            out = torch.nn.functional.normalize(pooled, p=2, dim=1)
        else:
            out = model(input_ids=tokens).logits
    np.save(args.out, out.numpy())
    print("hfref: transformers %s %s (float64) -> %s %s" % (
        transformers.__version__, CLASSES[args.family], os.path.basename(args.out),
        list(out.shape)))
    return 0


def generate(model, tokens, args):
    """Greedy generation as a user of transformers runs it, with the cache (use_cache)."""
    eos = model.generation_config.eos_token_id
    if isinstance(eos, list):
        eos = eos[0]
    with torch.no_grad():
        out = model.generate(tokens, attention_mask=torch.ones_like(tokens),
                             max_new_tokens=args.generate, do_sample=False, num_beams=1,
                             output_scores=True, return_dict_in_generate=True,
                             pad_token_id=eos if eos is not None else 0)
    np.save(args.out, out.sequences.numpy().astype(np.int32))
    np.save(args.out[:-4] + "_scores.npy", torch.stack(out.scores, 1).numpy())
    print("hfref: transformers %s %s generate (float64): %d new tokens, eos %s" % (
        transformers.__version__, CLASSES[args.family], out.sequences.shape[1] - tokens.shape[1],
        eos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
