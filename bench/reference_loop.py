#!/usr/bin/python3
"""Times the authors' VGrow code per outer loop, for bench/compare-reference.sh.

Runs their unmodified main.py (github.com/xjtuygao/VGrow, which you fetch yourself: this
project never ships it) offline, on the GPU when PyTorch sees one (their choice), else the
CPU, with these preparations:
  * Fashion-MNIST: Debian's IDX files are unpacked where torchvision looks for them;
    CIFAR-10: torchvision reads --cifar-dir (its cifar-10-batches-py layout, for instance
    the random images of bench/synthetic_cifar10.py), its checksum and download are skipped;
  * the Inception-score classifier they load is a randomly initialised PreActResNet-18 saved
    in their format, and their inceptionScore is replaced by a stub: it runs once per 50
    loops and is not part of an outer loop's work;
  * the thread count is set with torch.set_num_threads (their script leaves the default);
  * their 3-channel Normalize is cut to the image's channels, as the torchvision of their day
    did (zip over channels); today's raises on 1-channel Fashion-MNIST.
Each outer loop ends with their "Epoch(...)" line; the seconds between consecutive lines,
after the warm-up loops, are the loop times. Prints one JSON line.
"""
import argparse
import builtins
import gzip
import json
import os
import runpy
import shutil
import statistics
import sys
import tempfile
import time

FASHION = "/usr/share/datasets/fashion-mnist"
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="checkout of github.com/xjtuygao/VGrow")
    p.add_argument("--width", type=int, default=32, help="ngf = ndf")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--loops", type=int, default=3, help="timed outer loops")
    p.add_argument("--warmup", type=int, default=1, help="untimed outer loops first")
    p.add_argument("--pool-batches", type=int, default=20, help="nPool")
    p.add_argument("--particle-steps", type=int, default=20, help="nPiter")
    p.add_argument("--dataset-dir", default=FASHION)
    p.add_argument("--dataset", default="fashionmnist", choices=["fashionmnist", "cifar10"])
    p.add_argument("--cifar-dir", help="folder holding cifar-10-batches-py (--dataset cifar10)")
    a = p.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    repo = os.path.abspath(a.repo)
    if not os.path.exists(os.path.join(repo, "main.py")):
        sys.exit(f"reference_loop: no main.py in {repo}: fetch github.com/xjtuygao/VGrow there")
    work = tempfile.mkdtemp(prefix="vgrow-reference-")
    dataroot = os.path.join(work, "data")
    if a.dataset == "cifar10":
        if not a.cifar_dir or not os.path.isdir(os.path.join(a.cifar_dir, "cifar-10-batches-py")):
            sys.exit("reference_loop: --cifar-dir must hold cifar-10-batches-py "
                     "(bench/synthetic_cifar10.py writes one)")
        dataroot = os.path.abspath(a.cifar_dir)
        import torchvision.datasets
        import torchvision.datasets.cifar
        torchvision.datasets.cifar.check_integrity = lambda *args, **kwargs: True
        torchvision.datasets.CIFAR10.download = lambda self: None
    else:
        raw = os.path.join(dataroot, "FashionMNIST", "raw")
        os.makedirs(raw)
        for name in FILES:
            src = os.path.join(a.dataset_dir, name + ".gz")
            if not os.path.exists(src):
                sys.exit(f"reference_loop: {src} is missing (apt-get install dataset-fashion-mnist)")
            with gzip.open(src) as f, open(os.path.join(raw, name), "wb") as out:
                shutil.copyfileobj(f, out)
    sys.path.insert(0, repo)
    os.chdir(work)
    os.makedirs("checkpoint")
    import resnet
    import utils
    channels = 3 if a.dataset == "cifar10" else 1
    net = torch.nn.DataParallel(resnet.PreActResNet18(channels))
    torch.save({"net": net.state_dict()}, f"checkpoint/resnet18-{a.dataset}-ckpt.t7")
    utils.inceptionScore = lambda *args, **kwargs: 0.0
    import torchvision.transforms as transforms
    normalize = transforms.Normalize.forward

    def normalize_own_channels(self, tensor):
        c = tensor.shape[-3]
        if len(self.mean) > c:
            return transforms.functional.normalize(tensor, self.mean[:c], self.std[:c])
        return normalize(self, tensor)

    transforms.Normalize.forward = normalize_own_channels

    stamps = []
    real_print = builtins.print

    def timed_print(*args, **kwargs):
        if args and isinstance(args[0], str) and args[0].startswith("Epoch("):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())
        kwargs.setdefault("file", sys.stderr)
        real_print(*args, **kwargs)

    builtins.print = timed_print
    epochs = a.warmup + a.loops + 1  # the first line only starts the clock
    sys.argv = ["main.py", "--dataset", a.dataset, "--dataroot", dataroot,
                "--ngf", str(a.width), "--ndf", str(a.width), "--nEpoch", str(epochs),
                "--nPool", str(a.pool_batches), "--nPiter", str(a.particle_steps),
                "--manualSeed", "0"]
    runpy.run_path(os.path.join(repo, "main.py"), run_name="__main__")
    builtins.print = real_print
    times = [t1 - t0 for t0, t1 in zip(stamps, stamps[1:])][a.warmup:]
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"implementation": "reference", "dataset": a.dataset,
                      "device": "cuda" if torch.cuda.is_available() else "cpu",
                      "width": a.width, "threads": a.threads,
                      "pool": 64 * a.pool_batches, "particle_steps": a.particle_steps,
                      "loops": len(times), "seconds_per_loop": statistics.median(times),
                      "loop_seconds": times, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
