"""Writes the safetensors reference files SafetensorsReferenceTest reads, with the reference implementation (the
`safetensors` package, Rust core, numpy front end).

    pip install safetensors numpy      # the local pip index has both
    python models/src/test/python/safetensors_fixtures.py models/src/test/resources/safetensors

reference.safetensors: every dtype numpy gives, a scalar, an empty tensor and non-ASCII metadata; the test reads
each value as the formulas below define it and rewrites the file byte for byte with our writer.
abc.safetensors: three tensors the test also builds itself; our writer must produce these exact bytes, so the
reference reads what we write.
"""
import os
import sys

import numpy as np
from safetensors.numpy import save_file


def main(out):
    i = np.arange
    d = {
        "w.f64": (i(6) * 0.25 - 1).reshape(2, 3).astype(np.float64),
        "w.f32": (i(12) * 0.5 - 3).reshape(3, 4).astype(np.float32),
        "w.f16": (i(5) * 0.125).astype(np.float16),
        "n.i64": (i(4) * 1000000007 - 5).astype(np.int64),
        "n.i32": (i(7) * 3 - 10).astype(np.int32),
        "n.i8": (i(9) * 29 - 128).astype(np.int8),
        "n.u8": (i(3) * 100).astype(np.uint8),
        "m.bool": (i(5) % 2 == 0),
        "s.scalar": np.array(2.5, dtype=np.float32),
        "e.empty": np.zeros((0, 3), dtype=np.float32),
    }
    save_file(d, os.path.join(out, "reference.safetensors"), metadata={"format": "np", "note": "ünï"})
    abc = {
        "a": (i(10) * 0.75 - 2).reshape(2, 5).astype(np.float32),
        "b": np.array([-9, 1 << 40, 7], dtype=np.int64),
        "c": np.array([3, 250], dtype=np.uint8).reshape(1, 1, 2),
    }
    save_file(abc, os.path.join(out, "abc.safetensors"), metadata={"k": "v"})


if __name__ == "__main__":
    main(sys.argv[1])
