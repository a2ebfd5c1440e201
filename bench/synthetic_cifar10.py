#!/usr/bin/python3
"""Writes random images in both CIFAR-10 layouts, for timing where the real set is absent.

A loop's time does not depend on what the pixels show, so `vgrow bench paper-cifar10` and
the authors' code can be timed on a machine without CIFAR-10 (the GPU machines reach no
network). Writes, under OUT:
  cifar-10-batches-bin/  data_batch_1..5.bin, test_batch.bin  (vgrow: data.path)
  cifar-10-batches-py/   data_batch_1..5, test_batch, batches.meta  (torchvision's layout)
Labels are random in 0..9. Not for scores: FID or IS on these images mean nothing.
"""
import argparse
import os
import pickle
import random


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--per-batch", type=int, default=1000,
                   help="images per file (CIFAR-10 has 10000)")
    a = p.parse_args()
    rng = random.Random(0)
    binary = os.path.join(a.out, "cifar-10-batches-bin")
    python = os.path.join(a.out, "cifar-10-batches-py")
    os.makedirs(binary, exist_ok=True)
    os.makedirs(python, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        labels = [rng.randrange(10) for _ in range(a.per_batch)]
        pixels = [rng.randbytes(3072) for _ in range(a.per_batch)]
        with open(os.path.join(binary, name + ".bin"), "wb") as f:
            for label, image in zip(labels, pixels):
                f.write(bytes([label]) + image)
        with open(os.path.join(python, name), "wb") as f:
            pickle.dump({"batch_label": name, "labels": labels, "data": _rows(pixels),
                         "filenames": [""] * len(labels)}, f)
    with open(os.path.join(python, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)],
                     "num_cases_per_batch": a.per_batch, "num_vis": 3072}, f)
    print(f"{len(names)} files of {a.per_batch} random images in {binary} and {python}")


def _rows(pixels):
    import numpy
    return numpy.frombuffer(b"".join(pixels), dtype=numpy.uint8).reshape(len(pixels), 3072)


if __name__ == "__main__":
    main()
