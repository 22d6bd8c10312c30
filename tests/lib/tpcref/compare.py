"""The one comparison of an output with its reference, for `tpcref compare` and e2e.py."""
import numpy as np


def shape(a):
    return "[%s]" % ", ".join(str(d) for d in a.shape)


def compare(got, expected, tol):
    """Relative L2 error ||got - expected|| / ||expected||, judged against tol.
    Returns (ok, lines): the verdict line "rel L2 = E <= TOL" (or ">"), and when it fails, why
    (a shape mismatch, NaN/Inf, an all-zero reference, or the worst element)."""
    got = np.asarray(got, np.float64)
    expected = np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        return False, ["shape mismatch: got %s, expected %s" % (shape(got), shape(expected))]
    for label, a in (("got", got), ("expected", expected)):
        bad = ~np.isfinite(a)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            return False, ["%s has %d NaN/Inf values (first at %s = %r), shape %s"
                           % (label, int(bad.sum()), list(first), a[first], shape(a))]
    scale = np.linalg.norm(expected)
    if scale == 0:  # zeros match zeros: that proves nothing about the model
        return False, ["the reference is all zeros, shape %s" % shape(expected)]
    diff = got - expected
    err = np.linalg.norm(diff) / scale
    ok = bool(err <= tol)
    lines = ["rel L2 = %.1e %s %.0e" % (err, "<=" if ok else ">", tol)]
    if not ok:
        worst = np.unravel_index(int(np.argmax(np.abs(diff))), diff.shape)
        lines.append("shape %s; worst element %s: got %.9g, expected %.9g (|diff| %.3g, "
                     "|expected| max %.3g)" % (shape(got), [int(i) for i in worst], got[worst],
                                               expected[worst], abs(diff[worst]),
                                               np.abs(expected).max()))
    return ok, lines
