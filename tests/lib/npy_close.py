"""Compare two .npy files: prints "rel L2 X <= TOL" and exits 0, or "rel L2 X > TOL" (or what
differs in shape) and exits 1. NaN anywhere counts as infinitely far.

usage: npy_close.py GOT.npy EXPECTED.npy TOL
"""
import sys

import numpy as np

got, want, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
if got.shape != want.shape:
    print("shape %s, expected %s" % (list(got.shape), list(want.shape)))
    sys.exit(1)
diff = np.linalg.norm((got.astype(np.float64) - want).ravel())
rel = diff / max(np.linalg.norm(want.ravel().astype(np.float64)), 1e-30)
rel = float("inf") if not np.isfinite(rel) else rel
print("rel L2 %.2e %s %g" % (rel, "<=" if rel <= tol else ">", tol))
sys.exit(0 if rel <= tol else 1)
