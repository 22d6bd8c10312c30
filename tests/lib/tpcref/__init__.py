"""tpcref: test references for tpc.

Writes checkpoints in Hugging Face's layout and names (safetensors.py) and computes float64
NumPy reference outputs from each model family's published definition (models.py).  NumPy only.
Command line: python3 -m tpcref {make,compare,reference,families} (see __main__.py).
"""

from .models import FAMILIES, make_config, random_inputs, random_weights, reference  # noqa: F401
from .safetensors import load, round_like, save_file, save_pretrained  # noqa: F401

__all__ = ["FAMILIES", "make_config", "random_inputs", "random_weights", "reference",
           "load", "round_like", "save_file", "save_pretrained"]
