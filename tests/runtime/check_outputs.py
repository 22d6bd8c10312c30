"""check_outputs.py DIR Y.npy — rt_program's output y = 2 x + ids, from DIR/x.npy and DIR/ids.npy,
exactly; or, with --tokens, y = 1.5 tokens from DIR/tokens.npy."""
import os
import sys

import numpy as np

folder, output = sys.argv[1], sys.argv[2]
y = np.load(output)
if "--tokens" in sys.argv:
    want = np.float32(1.5) * np.load(os.path.join(folder, "tokens.npy")).astype(np.float32)
else:
    x = np.load(os.path.join(folder, "x.npy"))
    ids = np.load(os.path.join(folder, "ids.npy")).astype(np.float32)
    want = np.float32(2) * x + ids[..., None]
same = y.dtype == np.float32 and y.shape == want.shape and np.array_equal(y, want)
print("y: %s %s" % (y.shape, "equal" if same else "DIFFERENT: %s vs %s" % (y.ravel()[:4],
                                                                          want.ravel()[:4])))
sys.exit(0 if same else 1)
