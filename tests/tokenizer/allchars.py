#!/usr/bin/python3
"""Every code point in the contexts where a split regex tells classes apart:

    allchars.py > FILE

A line per 32 code points, each as "a<c>b <c>": between letters (is it \\w, \\p{L}?), after a
space (\\s? part of " ?\\p{L}+"?). Planes 4 to 13 (unassigned) are left out; surrogates and
'\\n' cannot be in a line.
"""
import sys

points = [c for c in range(0x110000)
          if not (0xD800 <= c <= 0xDFFF or c == 0x0A or 0x40000 <= c < 0xE0000)]
out = []
for i in range(0, len(points), 32):
    out.append("".join(f"a{chr(c)}b {chr(c)}" for c in points[i:i + 32]))
sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
