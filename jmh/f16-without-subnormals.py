#!/usr/bin/env python3
"""Copies a GGUF file with every F16 subnormal weight (exponent 0, mantissa not 0) replaced by the smallest normal
half of the same sign (0x0400), and prints how many there were. A measurement file only: its weights differ from
the source's. BENCHMARKS.md uses it to measure what F16 subnormals cost a decode on cores that take a slow assist for
a subnormal float operand (paired with the source through dev.panthera.bench.llama.PairedDecode).

Usage: python3 jmh/f16-without-subnormals.py SOURCE.gguf OUT.gguf
Needs the gguf package (pip install gguf numpy; benchmark tooling, not a dependency of the library)."""
import shutil
import sys

import gguf
import numpy as np


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: f16-without-subnormals.py SOURCE.gguf OUT.gguf")
    src, dst = sys.argv[1], sys.argv[2]
    shutil.copyfile(src, dst)
    reader = gguf.GGUFReader(dst, "r+")
    total = replaced = 0
    for t in reader.tensors:
        if t.tensor_type != gguf.GGMLQuantizationType.F16:
            continue
        halves = t.data.view(np.uint16)
        sub = ((halves & 0x7C00) == 0) & ((halves & 0x03FF) != 0)
        total += halves.size
        replaced += int(sub.sum())
        halves[sub] = (halves[sub] & 0x8000) | 0x0400
    reader.data.flush()
    print(f"F16 values {total}, subnormal {replaced} ({replaced / max(total, 1):.4%}) replaced in {dst}")


if __name__ == "__main__":
    main()
