"""Order books as PROTOCOL.md section 8 defines them, written from its text alone (python3 stdlib only).

As a module: `Book` (a book kept from book records, best levels first) and `checksum` (the unsigned
CRC-32 of a book's checksum string), for the interop clients (ws_resume.py, late_join.py).

As a script: reads JSON lines, each an object with "bids" and "asks" ([price, size] levels, best
first; a book record will do), and prints for each the checksum, one per line.
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


class Book:
    """One book: price -> size per side. A snapshot record replaces it; an update sets each listed
    level to its absolute size, 0 removing it."""

    def __init__(self):
        self.levels = {"bids": {}, "asks": {}}

    def apply(self, record):
        """Applies a book record; returns whether the book's checksum now equals the record's."""
        if record.get("action") == "snapshot":
            self.levels = {"bids": {}, "asks": {}}
        for name in ("bids", "asks"):
            held = self.levels[name]
            for price, size in record.get(name, []):
                if size == 0:
                    held.pop(price, None)
                else:
                    held[price] = size
        return checksum(self.sides()) == record.get("checksum")

    @staticmethod
    def of(record):
        """The sides of a snapshot record, as sides() gives them."""
        book = Book()
        book.apply(record)
        return book.sides()

    def sides(self):
        """Both sides best first: bids highest first, asks lowest first."""
        bids = sorted(self.levels["bids"].items(), key=lambda level: -level[0])
        asks = sorted(self.levels["asks"].items(), key=lambda level: level[0])
        return {"bids": [list(level) for level in bids], "asks": [list(level) for level in asks]}


if __name__ == "__main__":
    for line in sys.stdin:
        if line.strip():
            print(checksum(json.loads(line)))
