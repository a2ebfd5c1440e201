#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: small valid files and near misses.

The corpora are committed; this script says where they came from. The checkpoint written by
a run (toy-mlp.pt) needs a built vgrow CLI, the JPEG seeds a C compiler and libjpeg-dev:
    python3 fuzz/make_corpus.py --vgrow build-sanitize/vgrow
Classifier and statistics files are written here in LibTorch's format, without LibTorch.
Files named crash-* are regression inputs saved from fuzzer findings and are left alone;
their near misses with valid CRCs are derived from them.
"""
import argparse
import collections
import copyreg
import gzip
import io
import itertools
import pathlib
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import types
import zipfile
import zlib

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def put(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def idx_images(n, rows, cols, claimed_n=None):
    header = struct.pack(">IIII", 0x803, n if claimed_n is None else claimed_n, rows, cols)
    return header + bytes((i * 37) % 256 for i in range(n * rows * cols))


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


def idx():
    put("fuzz_idx", "images-3x4x5", idx_images(3, 4, 5))
    put("fuzz_idx", "labels-7", idx_labels(7))
    put("fuzz_idx", "images-3x4x5.gz", gzip.compress(idx_images(3, 4, 5), mtime=0))
    put("fuzz_idx", "labels-7.gz", gzip.compress(idx_labels(7), mtime=0))
    put("fuzz_idx", "images-truncated", idx_images(3, 4, 5)[:50])
    put("fuzz_idx", "images-claims-more", idx_images(2, 2, 2, claimed_n=1000))
    put("fuzz_idx", "images-trailing-bytes", idx_images(1, 2, 2) + b"xyz")
    put("fuzz_idx", "images-zero", idx_images(0, 28, 28))
    put("fuzz_idx", "header-only", struct.pack(">I", 0x803))


def cifar10():
    record = lambda label, seed: bytes([label]) + bytes((i * seed) % 256 for i in range(3072))
    put("fuzz_cifar10", "one-record", record(3, 7))
    put("fuzz_cifar10", "two-records", record(0, 5) + record(9, 11))
    put("fuzz_cifar10", "bad-label", record(10, 3))
    put("fuzz_cifar10", "short-record", record(1, 2)[:3000])


def csv_points():
    seeds = {
        "header": "x,y\n1.5,-2\n0,0\n",
        "no-header": "1,2\n3,4\n",
        "blank-and-spaces": "\n  1e3 , +2.5 \r\n\n-0.25,7\n",
        "three-columns": "1,2,3\n",
        "not-a-number": "x,y\n1,two\n",
        "not-finite": "1,inf\nnan,2\n",
        "header-only": "a,b\n",
        "hex-and-long": "0x1p3,1" + "0" * 40 + "\n",
    }
    for name, text in seeds.items():
        put("fuzz_csv_points", name, text)


def config():
    for preset in (HERE.parent / "configs").glob("*.toml"):
        shutil.copy(preset, CORPUS / "fuzz_config" / preset.name)
    seeds = {
        "overrides.toml": "[flow]\ndivergence = \"js\"\neta = 0.25\n[optim]\nmilestones = [10, 20]\n",
        "eval.toml": "[eval]\nmetrics = [\"fid\", \"kid\"]\nbest = \"kid\"\nevery = 5\n",
        "unknown-key.toml": "[flow]\netta = 1\n",
        "wrong-type.toml": "[run]\nloops = \"many\"\n",
        "not-a-section.toml": "loops = 3\n",
        "nested.toml": "[run.inner]\nx = 1\n[data]\npath = 'a\\b'\n",
        "syntax-error.toml": "[flow\neta = = 1\n",
        "special-floats.toml": "[flow]\neta = inf\nmax_weight = nan\n[run]\nminutes = 1e309\n",
    }
    for name, text in seeds.items():
        put("fuzz_config", name, text)


def overrides():
    """Command lines' section.key=value arguments, one per line, as fuzz_override reads them."""
    seeds = {
        "divergence": "flow.divergence=js\n",
        "numbers": "flow.eta=0.25\nrun.loops=3\nrun.minutes=0.5\n",
        "lists": "eval.metrics=[fid,kid]\noptim.milestones=[10, 20]\n",
        "quoted-list": 'eval.metrics=["fid", "is"]\neval.best=fid\n',
        "string-with-spaces": "run.out_dir=runs/a b\ndata.path='c:\\data'\n",
        "toml-string": 'flow.divergence="kl"\n',
        "bool": "run.cuda_graphs=false\n",
        "unknown-key": "flow.etta=1\n",
        "no-equals": "flow.eta\n",
        "no-key": "=1\n",
        "wrong-type": "run.loops=many\n",
        "special-floats": "flow.eta=inf\nflow.max_weight=nan\nrun.minutes=1e309\n",
        "table": "flow.eta={a = 1}\n",
        "incompatible": "run.precision=fp16\nrun.device=cpu\n",
    }
    for name, text in seeds.items():
        put("fuzz_override", name, text)


def png(width, height, colour_type, bit_depth=8, palette=None, interlace=0):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    bytes_per_row = (width * channels * bit_depth + 7) // 8
    rows = b"".join(b"\0" + bytes((x * 29 + y * 53) % 256 for x in range(bytes_per_row))
                    for y in range(height))
    if interlace:  # one Adam7 pass holds everything for a 1x1 image
        assert width == height == 1
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data +
                                struct.pack(">I", zlib.crc32(kind + data)))
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0,
                                      interlace))
    if palette:
        out += chunk(b"PLTE", palette)
    out += chunk(b"IDAT", zlib.compress(rows))
    return out + chunk(b"IEND", b"")


def images():
    put("fuzz_image_folder", "grey-5x3.png", png(5, 3, 0))
    put("fuzz_image_folder", "rgb-4x4.png", png(4, 4, 2))
    put("fuzz_image_folder", "rgba-3x6.png", png(3, 6, 6))
    put("fuzz_image_folder", "grey-alpha-2x2.png", png(2, 2, 4))
    put("fuzz_image_folder", "palette-4x2.png", png(4, 2, 3, palette=bytes(range(12))))
    put("fuzz_image_folder", "rgb16-2x2.png", png(2, 2, 2, bit_depth=16))
    put("fuzz_image_folder", "grey1bit-9x2.png", png(9, 2, 0, bit_depth=1))
    put("fuzz_image_folder", "interlaced-1x1.png", png(1, 1, 2, interlace=1))
    put("fuzz_image_folder", "truncated.png", png(4, 4, 2)[:40])
    jpegs = [  # name, width, height, components, progressive, quality
        ("rgb-8x6.jpg", 8, 6, 3, 0, 60),
        ("grey-5x7.jpg", 5, 7, 1, 0, 75),
        ("progressive-9x9.jpg", 9, 9, 3, 1, 50),
        ("rgb-17x3-q95.jpg", 17, 3, 3, 0, 95),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tool = pathlib.Path(tmp) / "write_jpeg"
        built = subprocess.run(["cc", "-x", "c", "-", "-o", str(tool), "-ljpeg"],
                               input=JPEG_WRITER.encode(), capture_output=True)
        if built.returncode != 0:
            print("cannot build a JPEG writer (cc and libjpeg-dev needed): JPEG seeds skipped")
            return
        for name, w, h, c, progressive, quality in jpegs:
            out = pathlib.Path(tmp) / name
            subprocess.run([str(tool), str(out), str(w), str(h), str(c), str(progressive),
                            str(quality)], check=True)
            put("fuzz_image_folder", name, out.read_bytes())


# A few JPEG flavours stb_image decodes differently (grey, RGB, progressive), via libjpeg.
JPEG_WRITER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
int main(int argc, char** argv) {
  int w = atoi(argv[2]), h = atoi(argv[3]), c = atoi(argv[4]);
  FILE* f = fopen(argv[1], "wb");
  if (!f) return 1;
  struct jpeg_compress_struct j;
  struct jpeg_error_mgr e;
  j.err = jpeg_std_error(&e);
  jpeg_create_compress(&j);
  jpeg_stdio_dest(&j, f);
  j.image_width = w;
  j.image_height = h;
  j.input_components = c;
  j.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&j);
  jpeg_set_quality(&j, atoi(argv[6]), TRUE);
  if (atoi(argv[5])) jpeg_simple_progression(&j);
  jpeg_start_compress(&j, TRUE);
  unsigned char row[256 * 3];
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w * c; ++x) row[x] = (unsigned char)(x * 23 + y * 41);
    JSAMPROW rows[1] = {row};
    jpeg_write_scanlines(&j, rows, 1);
  }
  jpeg_finish_compress(&j);
  jpeg_destroy_compress(&j);
  return fclose(f) != 0;
}
"""


def zip_records(archive):
    """(name, method, directory record offset, local header offset, data offset, stored
    size) of each entry of the zip `archive`."""
    end = archive.rindex(b"PK\x05\x06")
    count, _, at = struct.unpack_from("<HII", archive, end + 10)
    for _ in range(count):
        method, = struct.unpack_from("<H", archive, at + 10)
        stored, = struct.unpack_from("<I", archive, at + 20)
        name_size, extra_size, comment_size = struct.unpack_from("<HHH", archive, at + 28)
        local, = struct.unpack_from("<I", archive, at + 42)
        local_name, local_extra = struct.unpack_from("<HH", archive, local + 26)
        yield (archive[at + 46:at + 46 + name_size], method, at, local,
               local + 30 + local_name + local_extra, stored)
        at += 46 + name_size + extra_size + comment_size


def with_valid_crcs(archive):
    """The zip `archive` with every entry's CRC-32 and size recomputed from its content, so a
    damaged checkpoint gets past vgrow's CRC check and further."""
    out = bytearray(archive)
    for _, method, record, local, start, stored in zip_records(archive):
        data = archive[start:start + stored]
        content = zlib.decompressobj(-15).decompress(data) if method == 8 else data
        fields = struct.pack("<IxxxxI", zlib.crc32(content), len(content))
        for offset in (record + 16, local + 14):
            out[offset:offset + 4] = fields[:4]
            out[offset + 8:offset + 12] = fields[8:]
    return bytes(out)


def checkpoints(vgrow):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([vgrow, "train", str(HERE / "checkpoint.toml"), "--quiet",
                        f"run.out_dir={tmp}"], check=True)
        found = sorted(pathlib.Path(tmp).glob("*/checkpoint-*.pt"))
        data = found[-1].read_bytes()
    put("fuzz_checkpoint", "toy-mlp.pt", data)
    put("fuzz_checkpoint", "truncated.pt", data[: len(data) // 2])
    put("fuzz_checkpoint", "text.pt", "not a checkpoint\n")


def checkpoint_near_misses():
    """Checkpoints that get past vgrow's CRC check and reach further, from committed seeds.

    Each crash-* zip with its CRCs made right (the crashes were found before checkpoints were
    CRC-checked): what LibTorch's parser would meet if the damage came with valid CRCs.
    crash-torchscript-error-escapes made LibTorch throw an ErrorReport, no c10::Error;
    crash-torchscript-parser-segv crashes LibTorch 1.13's TorchScript compiler, which is why
    vgrow refuses code that does more than declare attributes (src/io/zip_check.cpp).
    And toy-mlp.pt with one attribute's type misspelt: code of the right shape that LibTorch
    refuses with an ErrorReport (tests/apps/test_bad_input.cpp)."""
    folder = CORPUS / "fuzz_checkpoint"
    for crash in sorted(folder.glob("crash-*")):
        data = crash.read_bytes()
        if data.startswith(b"PK\x03\x04"):
            put("fuzz_checkpoint", crash.name[len("crash-"):] + "-valid-crcs.pt",
                with_valid_crcs(data))
    good = (folder / "toy-mlp.pt").read_bytes()
    for name, method, _, _, start, stored in zip_records(good):
        code = good[start:start + stored]
        if method == 0 and name.endswith(b".py") and b" : Tensor\n" in code:
            at = start + code.index(b" : Tensor\n")
            misspelt = good[:at] + b" : Tensar\n" + good[at + 10:]
            put("fuzz_checkpoint", "unknown-type.pt", with_valid_crcs(misspelt))
            return


# Archives of torch::serialize::OutputArchive, written without LibTorch as LibTorch 1.13
# writes them: a zip of pickled TorchScript objects (data.pkl), the bytes of their tensors
# (data/<n>) and one class per module declaring its attributes (code/).
Tensor = collections.namedtuple("Tensor", "dtype shape values requires_grad buffer")
STORAGES = {"float32": ("FloatStorage", "f"), "float64": ("DoubleStorage", "d"),
            "int64": ("LongStorage", "q")}


def tensor(dtype, shape, pattern, buffer=False, requires_grad=None):
    """A tensor attribute filled with `pattern` repeated; a parameter unless `buffer`
    (Module::save writes both kinds); by default, a module's floating-point parameters
    require gradients."""
    count = 1
    for n in shape:
        count *= n
    values = [pattern[i % len(pattern)] for i in range(count)]
    if requires_grad is None:
        requires_grad = not buffer and dtype != "int64"
    return Tensor(dtype, tuple(shape), values, requires_grad, buffer)


def pickled_global(qualified, **members):
    """A class that pickles as GLOBAL '<module> <name>' (its module made up as needed)."""
    module, name = qualified.rsplit(".", 1)
    parts = module.split(".")
    for i in range(len(parts)):
        sys.modules.setdefault(".".join(parts[:i + 1]), types.ModuleType(".".join(parts[:i + 1])))
    cls = type(name, (), {"__module__": module, "__qualname__": name, **members})
    setattr(sys.modules[module], name, cls)
    return cls


class _Storage:
    def __init__(self, key, tensor):
        self.key, self.tensor = key, tensor


class _TensorRef:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)."""
    def __init__(self, storage):
        self.storage = storage

    def __reduce__(self):
        t = self.storage.tensor
        strides, step = [], 1
        for n in reversed(t.shape):
            strides.insert(0, step)
            step *= n
        return (pickled_global("torch._utils._rebuild_tensor_v2"),
                (self.storage, 0, t.shape, tuple(strides), t.requires_grad,
                 collections.OrderedDict()))


def _module_reduce(self, protocol):
    # GLOBAL class, EMPTY_TUPLE, NEWOBJ, the attributes' dict, BUILD: also for no attributes
    return copyreg.__newobj__, (type(self),), dict(self.__dict__)


def torchscript_archive(root, archive="archive"):
    """The bytes of an OutputArchive holding `root`: a dict of attribute name to str, bool,
    int, float, Tensor or dict (a submodule, as OutputArchive::write of another archive)."""
    storages, files = [], []

    def build(module, qualified):
        obj = pickled_global(qualified, __reduce_ex__=_module_reduce)()
        params, buffers, lines = [], [], []
        for name, value in module.items():
            if isinstance(value, dict):
                kind = f"__torch__.M{next(counter)}.Module"
                value = build(value, kind)
            elif isinstance(value, Tensor):
                (buffers if value.buffer else params).append(name)
                storages.append(_Storage(str(len(storages)), value))
                kind, value = "Tensor", _TensorRef(storages[-1])
            else:
                kind = {bool: "bool", int: "int", float: "float", str: "str"}[type(value)]
            obj.__dict__[name] = value
            if name.isidentifier():
                lines.append(f"  {name} : {kind}")
            else:
                if "  __annotations__ = []" not in lines:
                    lines.append("  __annotations__ = []")
                lines.append(f'  __annotations__["{name}"] = {kind}')
        listed = lambda names: "[" + "".join(f'"{n}", ' for n in names) + "]"
        code = ["class Module(Module):", f"  __parameters__ = {listed(params)}",
                f"  __buffers__ = {listed(buffers)}"] + lines
        path = qualified.rsplit(".", 1)[0].replace(".", "/")
        files.append((f"code/{path}.py", ("\n".join(code) + "\n").encode()))
        return obj

    class Pickler(pickle._Pickler):  # the Python one, whose dict writing can be changed
        def persistent_id(self, obj):
            if not isinstance(obj, _Storage):
                return None
            storage = pickled_global("torch." + STORAGES[obj.tensor.dtype][0])
            return ("storage", storage, obj.key, "cpu", len(obj.tensor.values))

        def _batch_setitems(self, items):
            # MARK ... SETITEMS even for one item: LibTorch's unpickler knows no SETITEM
            items = list(items)
            if items:
                self.write(pickle.MARK)
                for key, value in items:
                    self.save(key)
                    self.save(value)
                self.write(pickle.SETITEMS)

    counter = itertools.count(1)
    data = io.BytesIO()
    Pickler(data, protocol=2).dump(build(root, "__torch__.Module"))
    records = []
    for s in storages:
        fmt = f"<{len(s.tensor.values)}{STORAGES[s.tensor.dtype][1]}"
        records.append((f"data/{s.key}", struct.pack(fmt, *s.tensor.values)))
    records += [("data.pkl", data.getvalue())] + sorted(files)
    records += [("constants.pkl", b"\x80\x02)."), ("version", b"3\n")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, content in records:
            z.writestr(zipfile.ZipInfo(f"{archive}/{name}", date_time=(1980, 1, 1, 0, 0, 0)),
                       content)
    return out.getvalue()


def classifier_file(width=1, in_channels=1, classes=2, image_size=8, weights_width=None):
    """What save_classifier writes for ClassifierImpl (src/metrics/classifier.cpp); weights of
    another width than the one declared, when `weights_width` says so."""
    def conv(c_in, c_out):
        return {"weight": tensor("float32", (c_out, c_in, 3, 3), [0.1, -0.2, 0.3])}

    def batch_norm(c):
        return {"weight": tensor("float32", (c,), [1.0]), "bias": tensor("float32", (c,), [0.0]),
                "running_mean": tensor("float32", (c,), [0.0], buffer=True),
                "running_var": tensor("float32", (c,), [1.0], buffer=True),
                "num_batches_tracked": tensor("int64", (), [0], buffer=True)}

    w = weights_width or width
    body, c_in = [], in_channels
    # conv-BN-ReLU twice, MaxPool2d, twice again, MaxPool2d, once more, AdaptiveAvgPool2d and
    # Flatten: `after` modules without attributes after each ReLU ({})
    for c_out, after in ((w, 0), (w, 1), (2 * w, 0), (2 * w, 1), (4 * w, 2)):
        body += [conv(c_in, c_out), batch_norm(c_out)] + [{} for _ in range(1 + after)]
        c_in = c_out
    weights = {"body": {str(i): m for i, m in enumerate(body)},
               "head": {"weight": tensor("float32", (classes, 4 * w), [0.5, -0.5]),
                        "bias": tensor("float32", (classes,), [0.0])}}
    return torchscript_archive({"format": "vgrow-classifier-v1", "in_channels": in_channels,
                                "num_classes": classes, "width": width, "dataset": "fuzz",
                                "accuracy": 0.5, "image_size": image_size, "weights": weights})


def stats_file(mean_dim=2, cov_dim=2, dtype="float64"):
    """What GaussianStats::save writes (src/metrics/gaussian_stats.cpp)."""
    return torchscript_archive({
        "format": "vgrow-gaussian-stats-v1",
        "mean": tensor(dtype, (mean_dim,), [0.5, -1.0, 2.0], requires_grad=False),
        "cov": tensor(dtype, (cov_dim, cov_dim), [1.0] + [0.0] * cov_dim, requires_grad=False),
        "count": 3})


def metric_files():
    """Seeds for the classifier and statistics readers: valid files, files of the other
    format and of inconsistent shapes, and the checkpoint corpus's near misses (LibTorch
    parses all of these files alike)."""
    good = classifier_file()
    put("fuzz_classifier", "width1.pt", good)
    put("fuzz_classifier", "rgb-no-resize.pt",
        classifier_file(in_channels=3, classes=3, image_size=0))
    put("fuzz_classifier", "wrong-width.pt", classifier_file(width=1, weights_width=2))
    put("fuzz_classifier", "statistics.pt", stats_file())
    put("fuzz_classifier", "truncated.pt", good[: len(good) // 2])
    put("fuzz_classifier", "text.pt", "not a classifier\n")
    stats = stats_file()
    put("fuzz_stats_cache", "dim2.pt", stats)
    put("fuzz_stats_cache", "float32.pt", stats_file(dtype="float32"))
    put("fuzz_stats_cache", "dims-disagree.pt", stats_file(mean_dim=3))
    put("fuzz_stats_cache", "classifier.pt", good)
    put("fuzz_stats_cache", "truncated.pt", stats[: len(stats) // 2])
    put("fuzz_stats_cache", "text.pt", "not statistics\n")
    for near_miss in sorted((CORPUS / "fuzz_checkpoint").glob("*-valid-crcs.pt")):
        for target in ("fuzz_classifier", "fuzz_stats_cache"):
            shutil.copy(near_miss, CORPUS / target / near_miss.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgrow", help="vgrow CLI for the checkpoint seeds (skipped without)")
    args = parser.parse_args()
    for target in ("fuzz_idx", "fuzz_cifar10", "fuzz_csv_points", "fuzz_config",
                   "fuzz_override", "fuzz_image_folder", "fuzz_checkpoint", "fuzz_classifier",
                   "fuzz_stats_cache"):
        (CORPUS / target).mkdir(parents=True, exist_ok=True)
    idx()
    cifar10()
    csv_points()
    config()
    overrides()
    images()
    if args.vgrow:
        checkpoints(args.vgrow)
    else:
        print("--vgrow not given: checkpoint seeds from the CLI skipped")
    checkpoint_near_misses()
    metric_files()


if __name__ == "__main__":
    main()
