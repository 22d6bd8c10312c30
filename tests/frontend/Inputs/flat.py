"""Write a model whose forward is one long flat list of statements.

usage: flat.py STATEMENTS PATH           `y = x`, then STATEMENTS lines of `y = y + x`
       flat.py --tree DEPTH PATH         one statement: a balanced sum of 2^DEPTH x's
"""
import sys

HEAD = "model flat\nforward(x: f32[n, 8]) -> (y) {\n"
TAIL = "  return y\n}\n"


def tree(depth):
    return "x" if depth == 0 else "(%s + %s)" % (tree(depth - 1), tree(depth - 1))


with open(sys.argv[-1], "w") as f:
    f.write(HEAD)
    if sys.argv[1] == "--tree":
        f.write("  y = %s\n" % tree(int(sys.argv[2])))
    else:
        f.write("  y = x\n" + "  y = y + x\n" * int(sys.argv[1]))
    f.write(TAIL)
