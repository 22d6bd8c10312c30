"""Draw the CPU benchmark's results: bench/plot.py [last.json [last.png]].

Top row, one panel a model: ms per forward against tokens (log-log) for the floor, tpc at -tp 1
and 2, PyTorch eager and the gloo TP MLP. Bottom row: tpc -tp 1 over the floor (target line
1.05), the -tp 1 / -tp 2 speedup (target lines 1.6 and 1.8; black ticks: the floor's own
speedup on two cores, its bound), and the kernel study (sgemm NN
over NT by M for each weight shape; sgemm over sgemv at M = 1 as crosses).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERIES = [("floor", "floor (GEMMs only)", "k", "--"),
          ("floor_tp2", "floor -tp 2 (both cores, GEMMs only)", "0.55", "--"), ("tpc_tp1", "tpc -tp 1", "C0", "-"),
          ("tpc_tp2", "tpc -tp 2", "C1", "-"), ("eager", "PyTorch eager, 1 thread", "C2", ":"),
          ("gloo_tp2", "PyTorch TP on gloo, 2 proc", "C3", ":")]


def bars(ax, points, key, title, lines, bound=None):
    # short labels: "mlp 1024x4096" -> "1024", "decoder 4L" -> "dec"; the colour tells the model
    short = {m: m.split()[1].split("x")[0] if m.startswith("mlp") else m[:3]
             for m in dict.fromkeys(p["model"] for p in points)}
    labels = ["%s\n@%d" % (short[p["model"]], p["tokens"]) for p in points]
    values = [p["ratios"].get(key, 0) for p in points]
    colors = ["C%d" % (list(dict.fromkeys(p["model"] for p in points)).index(p["model"]))
              for p in points]
    ax.bar(range(len(values)), values, color=colors)
    for y, style in lines:
        ax.axhline(y, color="k", linestyle=style, linewidth=0.8)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, fontsize=6.5)
    ax.set_title(title, fontsize=9)
    for i, v in enumerate(values):
        ax.text(i, v, "%.2f" % v, ha="center", va="bottom", fontsize=5.5)
    if bound:  # a ratio that bounds this one, as a black tick over each bar
        ticks = [(i, p["ratios"][bound]) for i, p in enumerate(points) if bound in p["ratios"]]
        ax.plot([i for i, _ in ticks], [v for _, v in ticks], "_k", markersize=14,
                markeredgewidth=1.5, label="floor -tp 1 / floor -tp 2")
        if ticks:
            ax.legend(fontsize=6, loc="lower right")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "last.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + ".png"
    with open(src) as f:
        data = json.load(f)
    points = data["points"]
    models = list(dict.fromkeys(p["model"] for p in points))
    fig, axes = plt.subplots(2, max(3, len(models)), figsize=(15, 8.5))

    for ax, model in zip(axes[0], models):
        pts = [p for p in points if p["model"] == model]
        for key, label, color, style in SERIES:
            xs = [p["tokens"] for p in pts if p["ms"].get(key)]
            ys = [p["ms"][key] for p in pts if p["ms"].get(key)]
            if xs:
                ax.plot(xs, ys, style, color=color, marker="o", markersize=3, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tokens (batch 1)")
        ax.set_ylabel("ms per forward")
        ax.set_title(model, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)

    bars(axes[1][0], points, "tp1/floor", "tpc -tp 1 / floor (target <= 1.05)",
         [(1.0, "-"), (1.05, "--")])
    bars(axes[1][1], points, "tp1/tp2", "speedup -tp 1 / -tp 2 (targets 1.8 median, 1.6 min)",
         [(1.6, "--"), (1.8, ":")], bound="floor1/2")

    ax = axes[1][2]
    kernels = data.get("kernels") or []
    for i, name in enumerate(dict.fromkeys(r["weight"] for r in kernels)):
        rows = [r for r in kernels if r["weight"] == name]
        label = "%s [%d, %d]" % (name, rows[0]["N"], rows[0]["K"])
        ax.plot([r["M"] for r in rows], [r["nn_gemm"] / r["nt_gemm"] for r in rows], "-o",
                color="C%d" % i, markersize=3, label=label)
        one = [r for r in rows if r["M"] == 1 and r.get("nt_gemv")]
        if one:
            ax.plot([1], [one[0]["nt_gemm"] / one[0]["nt_gemv"]], "x", color="C%d" % i)
    ax.axhline(1.0, color="k", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("M (tokens)")
    ax.set_title("sgemm NN / NT by M (x: NT sgemm / sgemv at M=1)", fontsize=9)
    if kernels:
        ax.legend(fontsize=5.5)
    ax.grid(True, alpha=0.3)

    meta = data.get("meta", {})
    fig.suptitle("tpc CPU benchmark, %s (commit %s), %s rounds, decoder %s layers, one thread "
                 "a rank" % (meta.get("date", "?"), meta.get("commit", "?"),
                             meta.get("rounds", "?"), meta.get("decoder_layers", "?")),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=120)
    print("plot: wrote %s" % dst)


if __name__ == "__main__":
    main()
