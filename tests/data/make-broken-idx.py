#!/usr/bin/env python3
"""Writes the tiny IDX files under tests/data/idx/ that tests/lib/test_idx.cpp reads.

The files are committed; rerun this script (from anywhere) only to regenerate them. The
output is byte-for-byte reproducible (gzip with mtime 0 and no file name).

IDX (LeCun et al., "The MNIST database", file-format section): a big-endian magic
0x0000080D (0x08 = unsigned byte, D = number of dimensions), D big-endian uint32 sizes,
then the bytes in row-major order.

  images.idx / images.idx.gz      valid: 3 images of 2x2, bytes 0, 1, ..., 11
  labels.idx / labels.idx.gz      valid: 3 labels 7, 0, 9
  wrong_magic.idx                 magic 0x00000D03 (float32 images), otherwise valid
  truncated.idx                   header promises 3x2x2 = 12 bytes, 7 follow
  trailing.idx                    header promises 12 bytes, 15 follow
  truncated.idx.gz                images.idx.gz cut in half (mid deflate stream)
  corrupt.idx.gz                  images.idx.gz with its CRC-32 trailer inverted
  garbage.bin                     plain text: neither gzip nor an IDX header
  empty.idx                       zero bytes
  short.idx                       2 bytes, less than a magic number
  header_only.idx                 magic and dims of images.idx, no data
  short_header.idx                magic 0x00000803 but only one of three dims
  overflow.idx                    dims 2^31 x 2^31 x 4, no data: the product wraps to 0 in 64 bits
"""
import gzip
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idx")


def idx(dims, data, magic=None):
    if magic is None:
        magic = 0x0800 + len(dims)
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def gz(raw):
    return gzip.compress(raw, compresslevel=9, mtime=0)


def write(name, content):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(content)


def main():
    os.makedirs(OUT, exist_ok=True)
    images = idx([3, 2, 2], range(12))
    labels = idx([3], [7, 0, 9])
    images_gz = gz(images)
    write("images.idx", images)
    write("images.idx.gz", images_gz)
    write("labels.idx", labels)
    write("labels.idx.gz", gz(labels))
    write("wrong_magic.idx", idx([3, 2, 2], range(12), magic=0x00000D03))
    write("truncated.idx", idx([3, 2, 2], range(7)))
    write("trailing.idx", idx([3, 2, 2], range(15)))
    write("truncated.idx.gz", images_gz[: len(images_gz) // 2])
    # The gzip trailer is CRC-32 then ISIZE (little-endian); invert the CRC.
    crc = bytes(b ^ 0xFF for b in images_gz[-8:-4])
    write("corrupt.idx.gz", images_gz[:-8] + crc + images_gz[-4:])
    write("garbage.bin", b"this is not an IDX file\n")
    write("empty.idx", b"")
    write("short.idx", b"\x00\x00")
    write("header_only.idx", idx([3, 2, 2], []))
    write("short_header.idx", struct.pack(">II", 0x00000803, 3))
    write("overflow.idx", idx([2**31, 2**31, 4], []))


if __name__ == "__main__":
    main()
