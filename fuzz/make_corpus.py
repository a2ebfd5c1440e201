#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: small valid files and near misses.

The corpora are committed; this script says where they came from. Checkpoint seeds need a
built vgrow CLI, the JPEG seeds a C compiler and libjpeg-dev:
    python3 fuzz/make_corpus.py --vgrow build-sanitize/vgrow
Files named crash-* are regression inputs saved from fuzzer findings and are left alone.
"""
import argparse
import gzip
import pathlib
import shutil
import struct
import subprocess
import tempfile
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


def with_valid_crcs(archive):
    """The zip `archive` with every entry's CRC-32 and size recomputed from its content, so a
    damaged checkpoint gets past vgrow's CRC check and into LibTorch's parser."""
    out = bytearray(archive)
    end = archive.rindex(b"PK\x05\x06")
    count, _, directory = struct.unpack_from("<HII", archive, end + 10)
    at = directory
    for _ in range(count):
        method, = struct.unpack_from("<H", archive, at + 10)
        stored, = struct.unpack_from("<I", archive, at + 20)
        name_size, extra_size, comment_size = struct.unpack_from("<HHH", archive, at + 28)
        local, = struct.unpack_from("<I", archive, at + 42)
        local_name, local_extra = struct.unpack_from("<HH", archive, local + 26)
        data = archive[local + 30 + local_name + local_extra:][:stored]
        content = zlib.decompressobj(-15).decompress(data) if method == 8 else data
        fields = struct.pack("<IxxxxI", zlib.crc32(content), len(content))
        for offset in (at + 16, local + 14):
            out[offset:offset + 4] = fields[:4]
            out[offset + 8:offset + 12] = fields[8:]
        at += 46 + name_size + extra_size + comment_size
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
    # Found by fuzz_checkpoint before checkpoints were CRC-checked: two flipped bytes in the
    # TorchScript code made LibTorch throw an ErrorReport, no c10::Error. With its CRCs fixed
    # it still reaches LibTorch, for tests/test_bad_input.cpp and as a seed.
    found = (CORPUS / "fuzz_checkpoint" / "crash-torchscript-error-escapes").read_bytes()
    put("fuzz_checkpoint", "torchscript-error-valid-crcs.pt", with_valid_crcs(found))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgrow", help="vgrow CLI for the checkpoint seeds (skipped without)")
    args = parser.parse_args()
    for target in ("fuzz_idx", "fuzz_cifar10", "fuzz_csv_points", "fuzz_config",
                   "fuzz_image_folder", "fuzz_checkpoint"):
        (CORPUS / target).mkdir(parents=True, exist_ok=True)
    idx()
    cifar10()
    csv_points()
    config()
    images()
    if args.vgrow:
        checkpoints(args.vgrow)
    else:
        print("--vgrow not given: checkpoint seeds skipped")


if __name__ == "__main__":
    main()
