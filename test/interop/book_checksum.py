"""The book checksum of PROTOCOL.md section 8, written from its text alone (python3 stdlib only).

Reads JSON lines, each an object with "bids" and "asks" ([price, size] levels, best first; a book
record will do), and prints for each the unsigned CRC-32 of its checksum string, one per line.
"""
import json
import sys
import zlib

DEPTH = 10


def number(x):
    # 9 decimals, then trailing zeros and a trailing point removed. tickfan writes a number that is
    # 0 at 9 decimals as "0", never "-0" (docs/protocol.md).
    text = format(float(x), ".9f").rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def side(levels):
    return ",".join(f"{number(price)}:{number(size)}" for price, size in levels[:DEPTH])


def checksum(book):
    text = side(book["bids"]) + "|" + side(book["asks"])
    return zlib.crc32(text.encode("ascii")) & 0xFFFFFFFF


for line in sys.stdin:
    if line.strip():
        print(checksum(json.loads(line)))
