#!/usr/bin/python3
"""A late-joining ZeroMQ subscriber of tickfan, written from PROTOCOL.md sections 3 and 4 alone.

It proves the wire contract works from another language: it joins a running tickfan with the
clone pattern (SUB to the proxy backend, buffer, SNAPSHOT, then apply per topic with the seq
rules, REPLAY on a gap, re-SNAPSHOT the topic on ERR GONE), runs until told to stop, drains
what is still arriving, takes a final SNAPSHOT itself and checks that every topic's
(epoch, seq, record) it holds equals that snapshot. A book topic (section 8) is held as its
book, every record applied to it and checked against the record's checksum (zlib's crc32); its
state is (epoch, seq, bids, asks).

Stops on SIGTERM or SIGINT, on a line (or end of file) on stdin with --stop-on-stdin, or after
--seconds. Progress goes to stderr as JSON lines; the result is one JSON line on stdout:

    {"topics": N, "applied": .., "gaps": .., "mismatches": [...], ...}

Exit status: 0 when the state equals the final snapshot, 1 when it does not, 2 on an error
(a service that does not answer, a reply that breaks the contract, bad arguments).

Needs only the standard library and pyzmq (Debian: python3-zmq). Run it with /usr/bin/python3.
"""

import argparse
import json
import os
import signal
import struct
import sys
import time

import zmq

from book_checksum import Book

# Section 3: version, flags, reserved, epoch, seq, ts; 24 bytes, big-endian.
HEADER = struct.Struct(">BBHIQQ")
FLAG_SNAPSHOT = 0x01
MAX_SEQ = 2**53


class ProtocolError(Exception):
    """A message or reply that breaks PROTOCOL.md."""


class ServiceError(Exception):
    """The snapshot service answered ERR (other than the GONE the caller handles) or not at all."""


class Tick:
    """One decoded data message: the topic's whole record and where it stands in its stream."""

    __slots__ = ("topic", "flags", "epoch", "seq", "ts", "record")

    def __init__(self, topic, flags, epoch, seq, ts, record):
        self.topic, self.flags, self.epoch, self.seq, self.ts, self.record = topic, flags, epoch, seq, ts, record

    def key(self):
        return [self.epoch, self.seq, self.record]


def decode(frames):
    """Decodes a 3-frame data message [topic, header, payload]; raises ProtocolError."""
    if len(frames) != 3:
        raise ProtocolError(f"a data message has 3 frames, got {len(frames)}")
    topic_frame, header, payload = frames
    try:
        topic = topic_frame.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("topic is not ASCII") from None
    if len(header) != HEADER.size:
        raise ProtocolError(f"{topic}: header is {len(header)} bytes, not {HEADER.size}")
    version, flags, reserved, epoch, seq, ts = HEADER.unpack(header)
    if version != 1 or flags & ~FLAG_SNAPSHOT or reserved != 0:
        raise ProtocolError(f"{topic}: bad header version={version} flags={flags} reserved={reserved}")
    if epoch == 0 or not 1 <= seq < MAX_SEQ:
        raise ProtocolError(f"{topic}: bad header epoch={epoch} seq={seq}")
    try:
        record = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError(f"{topic}: payload is not UTF-8 JSON: {err}") from None
    if not isinstance(record, dict):
        raise ProtocolError(f"{topic}: payload is not a JSON object")
    if topic.startswith("tick.") and topic != f"tick.{record.get('venue')}.{record.get('symbol')}":
        raise ProtocolError(f"{topic}: venue/symbol of the record do not match the topic")
    return Tick(topic, flags, epoch, seq, ts, record)


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), file=sys.stderr, flush=True)


class SnapshotClient:
    """REQ client of the snapshot service (section 4): one multipart request, one multipart reply."""

    def __init__(self, context, endpoint, timeout_ms):
        self.socket = context.socket(zmq.REQ)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self.socket.setsockopt(zmq.SNDTIMEO, timeout_ms)
        self.socket.connect(endpoint)
        self.endpoint = endpoint

    def request(self, *frames):
        try:
            self.socket.send_multipart([f.encode("ascii") for f in frames])
            return self.socket.recv_multipart()
        except zmq.Again:
            # A REQ socket cannot send again before it has its reply, so this client is done.
            raise ServiceError(f"no answer from {self.endpoint} to {frames[0]}") from None

    def records(self, reply, what):
        """Decodes `OK, count, count x (topic, header, payload)`; ERR raises, except GONE -> None."""
        if reply[0] == b"ERR":
            code = reply[1].decode("ascii", "replace") if len(reply) > 1 else "?"
            text = reply[2].decode("utf-8", "replace") if len(reply) > 2 else ""
            if code == "GONE":
                return None
            raise ServiceError(f"{what}: ERR {code} {text}")
        if reply[0] != b"OK" or len(reply) < 2 or not reply[1].isdigit():
            raise ProtocolError(f"{what}: reply starts {reply[:2]!r}, expected OK and a decimal count")
        count = int(reply[1])
        if len(reply) != 2 + 3 * count:
            raise ProtocolError(f"{what}: count {count} but {len(reply) - 2} record frames")
        ticks = [decode(reply[i:i + 3]) for i in range(2, len(reply), 3)]
        for tick in ticks:
            if not tick.flags & FLAG_SNAPSHOT:
                raise ProtocolError(f"{what}: {tick.topic} seq {tick.seq} lacks the snapshot flag")
        return ticks

    def snapshot(self, prefix):
        ticks = self.records(self.request("SNAPSHOT", prefix), f"SNAPSHOT {prefix!r}")
        if ticks is None:
            raise ProtocolError(f"SNAPSHOT {prefix!r}: GONE is not an answer to SNAPSHOT")
        topics = [t.topic for t in ticks]
        if topics != sorted(topics) or len(set(topics)) != len(topics) or not all(t.startswith(prefix) for t in topics):
            raise ProtocolError(f"SNAPSHOT {prefix!r}: topics not unique, sorted and under the prefix")
        return ticks

    def replay(self, topic, epoch, from_seq):
        """The retained messages from from_seq on, in seq order; None on GONE; 'behind' on UNAVAILABLE."""
        reply = self.request("REPLAY", topic, str(epoch), str(from_seq))
        if reply[:2] == [b"ERR", b"UNAVAILABLE"]:
            # Temporary (section 4): here fromSeq is beyond the service's newest + 1, it has not caught up with us yet.
            return "behind"
        ticks = self.records(reply, f"REPLAY {topic} {epoch} {from_seq}")
        if ticks is not None:
            expected = list(range(from_seq, from_seq + len(ticks)))
            if [t.seq for t in ticks] != expected or any(t.topic != topic or t.epoch != epoch for t in ticks):
                raise ProtocolError(f"REPLAY {topic} {epoch} {from_seq}: not that topic's seqs {from_seq}.. in order")
        return ticks


class LateJoiner:
    """The state (topic -> newest Tick) and the section 4 rules that keep it equal to the source's."""

    def __init__(self, service, gap_wait_s):
        self.service = service
        self.gap_wait_s = gap_wait_s
        self.state = {}
        self.books = {}                                # book topic -> Book, kept from every record
        self.counts = dict(applied=0, duplicates=0, gaps=0, replayed=0, resnapshots=0,
                           new_epochs=0, new_topics=0, unfilled=0, books=0, bookRecords=0, checksumMismatches=0)

    def take_snapshot(self, ticks):
        for tick in ticks:
            self.take(tick, fresh=True)

    def take(self, tick, fresh):
        """Makes `tick` the topic's state; a book record is applied to the book (afresh: a new one)
        and checked against its checksum. A book that fails the check is taken again from a snapshot."""
        self.state[tick.topic] = tick
        if not tick.topic.startswith("book."):
            return
        if fresh or tick.topic not in self.books:
            self.books[tick.topic] = Book()
        self.counts["bookRecords"] += 1
        if self.books[tick.topic].apply(tick.record):
            return
        self.counts["checksumMismatches"] += 1
        log("checksum_mismatch", topic=tick.topic, epoch=tick.epoch, seq=tick.seq, action=tick.record.get("action"))
        self.resnapshot(tick.topic)

    def on_live(self, tick):
        """Applies one live (or buffered) message; a gap is filled before it returns."""
        deadline = time.monotonic() + self.gap_wait_s
        gap_counted = False
        while True:
            held = self.state.get(tick.topic)
            if held is None:
                self.take(tick, fresh=True)            # a topic the snapshot did not hold
                self.counts["new_topics"] += 1
                return
            if tick.epoch != held.epoch:
                self.take(tick, fresh=True)            # the source restarted: a new state
                self.counts["new_epochs"] += 1
                return
            if tick.seq <= held.seq:
                self.counts["duplicates"] += 1         # already in the state
                return
            if tick.seq == held.seq + 1:
                self.take(tick, fresh=False)
                self.counts["applied"] += 1
                return
            if not gap_counted:
                self.counts["gaps"] += 1
                gap_counted = True
            if time.monotonic() >= deadline:
                # The service could not fill the hole in time. A tick is the whole record, so the
                # newer one is still the right state; only the ticks in between are missing. A
                # book update is a change, not the book: the book is taken afresh instead.
                self.counts["unfilled"] += 1
                log("gap_unfilled", topic=tick.topic, held=held.seq, got=tick.seq)
                if tick.topic.startswith("book.") and tick.record.get("action") != "snapshot":
                    self.resnapshot(tick.topic)
                else:
                    self.take(tick, fresh=True)
                return
            self.fill_gap(held)

    def fill_gap(self, held):
        replayed = self.service.replay(held.topic, held.epoch, held.seq + 1)
        if replayed is None:
            # GONE: history no longer reaches back, or the epoch moved on: take the topic anew.
            self.resnapshot(held.topic)
        elif replayed == "behind" or not replayed:
            time.sleep(0.05)                           # the service is behind us; ask again shortly
        else:
            for missing in replayed:                   # in order: a book applies each change
                self.take(missing, fresh=False)
            self.counts["replayed"] += len(replayed)

    def resnapshot(self, topic):
        self.counts["resnapshots"] += 1
        fresh = [t for t in self.service.snapshot(topic) if t.topic == topic]
        if fresh:
            self.take(fresh[0], fresh=True)
        else:
            time.sleep(0.05)

    def key(self, tick):
        """What must equal the final snapshot: (epoch, seq, record), or for a book (epoch, seq, its levels)."""
        if tick.topic.startswith("book."):
            book = self.books[tick.topic].sides() if tick.topic in self.books else Book.of(tick.record)
            return [tick.epoch, tick.seq, book]
        return tick.key()

    def compare(self, snapshot):
        """Every difference between the state and a snapshot, as JSON-ready entries."""
        theirs = {t.topic: t for t in snapshot}
        mismatches = []
        for topic in sorted(set(self.state) | set(theirs)):
            ours, snap = self.state.get(topic), theirs.get(topic)
            ours_key = self.key(ours) if ours else None
            snap_key = [snap.epoch, snap.seq, Book.of(snap.record)] if snap and topic.startswith("book.") else (snap.key() if snap else None)
            if ours_key is None or snap_key is None or ours_key != snap_key:
                mismatches.append({"topic": topic, "ours": ours_key, "snapshot": snap_key})
        self.counts["books"] = len(self.books)
        return mismatches


def receive_ready(sub, joiner, counts, limit=1000):
    """Takes what the SUB socket holds (at most `limit` messages); returns how many."""
    taken = 0
    while taken < limit:
        try:
            frames = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            break
        taken += 1
        try:
            tick = decode(frames)
        except ProtocolError as err:
            counts["rejected"] += 1
            log("rejected", reason=str(err))
            continue
        if tick.flags & FLAG_SNAPSHOT:
            counts["rejected"] += 1
            log("rejected", reason=f"{tick.topic}: live message with the snapshot flag")
            continue
        joiner(tick)
    return taken


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="tcp://127.0.0.1:5556", help="proxy backend (XPUB) to SUB to")
    parser.add_argument("--snapshot", default="tcp://127.0.0.1:5557", help="snapshot service (ROUTER)")
    parser.add_argument("--prefix", default="tick.", help="topic prefix to join")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long at most")
    parser.add_argument("--stop-on-stdin", action="store_true", help="stop on a line or end of file on stdin")
    parser.add_argument("--timeout-ms", type=int, default=3000, help="how long to wait for a snapshot reply")
    parser.add_argument("--quiet-ms", type=int, default=500, help="after the stop, drain until this long without a message")
    parser.add_argument("--lose-every", type=int, default=0, metavar="N",
                        help="testing the gap paths: discard every Nth live message (as if ZeroMQ had dropped it)")
    parser.add_argument("--lose-for", type=float, default=1.0, metavar="SECONDS",
                        help="... only during this long after joining, so the last message of every topic arrives")
    args = parser.parse_args()

    stop = {"why": None}
    def on_signal(signum, _frame):
        stop["why"] = signal.Signals(signum).name
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    deadline = started + args.seconds

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 200_000)
    sub.setsockopt(zmq.SUBSCRIBE, args.prefix.encode("ascii"))
    sub.connect(args.backend)
    service = SnapshotClient(context, args.snapshot, args.timeout_ms)
    joiner = LateJoiner(service, gap_wait_s=2.0)
    counts = {"rejected": 0}

    # 1. Subscribe and buffer. The first message shows the subscription has reached the proxy;
    #    waiting for it (bounded) keeps the window the snapshot must cover small. Without it
    #    the clone pattern still holds: a hole between snapshot and stream is a gap, filled by REPLAY.
    buffered = []
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    join_deadline = time.monotonic() + 5.0
    while not buffered and time.monotonic() < join_deadline and stop["why"] is None:
        if poller.poll(100):
            receive_ready(sub, buffered.append, counts)

    # 2. The snapshot is the state; 3. then the buffer and the live stream go through the rules.
    snapshot = service.snapshot(args.prefix)
    joiner.take_snapshot(snapshot)
    receive_ready(sub, buffered.append, counts, limit=200_000)
    for tick in buffered:
        joiner.on_live(tick)
    log("joined", snapshotTopics=len(snapshot), buffered=len(buffered), **joiner.counts)

    apply = joiner.on_live
    if args.lose_every > 0:
        lose_until = time.monotonic() + args.lose_for
        counts.update(seen=0, lost=0)

        def apply(tick):
            counts["seen"] += 1
            if counts["seen"] % args.lose_every == 0 and time.monotonic() < lose_until:
                counts["lost"] += 1
            else:
                joiner.on_live(tick)

    if args.stop_on_stdin:
        poller.register(sys.stdin.fileno(), zmq.POLLIN)
    while stop["why"] is None:
        if time.monotonic() >= deadline:
            stop["why"] = "seconds"
            break
        ready = dict(poller.poll(100))
        if sub in ready:
            receive_ready(sub, apply, counts)
        if sys.stdin.fileno() in ready:
            os.read(sys.stdin.fileno(), 4096)       # a line, or b"" at end of file: either means stop
            stop["why"] = "stdin"

    # Drain what is still on its way, until it has been quiet for a while (bounded).
    drain_deadline = time.monotonic() + 5.0
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < args.quiet_ms / 1000 and time.monotonic() < drain_deadline:
        if poller.poll(50) and receive_ready(sub, joiner.on_live, counts):
            quiet_since = time.monotonic()

    # The final snapshot. The service is another subscriber of the same proxy and may still be
    # taking in the last messages, so ask until two answers agree (bounded), then compare.
    final, tries = service.snapshot(args.prefix), 1
    while tries < 10:
        time.sleep(0.1)
        again = service.snapshot(args.prefix)
        tries += 1
        if [t.key() + [t.topic] for t in again] == [t.key() + [t.topic] for t in final]:
            break
        final = again
    mismatches = joiner.compare(final)

    result = {"topics": len(joiner.state), **joiner.counts, **counts,
              "snapshotTopics": len(snapshot), "buffered": len(buffered), "finalTopics": len(final),
              "finalSnapshotTries": tries, "stoppedBy": stop["why"],
              "seconds": round(time.monotonic() - started, 3), "mismatches": mismatches}
    print(json.dumps(result), flush=True)
    sub.close()
    service.socket.close()
    context.term()
    return 0 if not mismatches else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ProtocolError, ServiceError) as err:
        log("error", error=f"{type(err).__name__}: {err}")
        sys.exit(2)
