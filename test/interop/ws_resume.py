#!/usr/bin/python3
"""A resuming WebSocket client of tickfan, written from PROTOCOL.md section 5 alone.

It proves the gateway's contract works from another language: it connects to
ws://HOST:PORT/v1/ws, checks the welcome event, subscribes to a pattern with
snapshot:true and conflate:false, and checks every frame (a JSON array of events) and the
seq contiguity of every topic: a snapshot first, then ticks at seq = previous + 1 in the
same epoch. Then it disconnects, stays away for a while (the feed goes on ticking),
reconnects and subscribes again with `since` = the last (epoch, seq) it holds per topic,
and checks that every topic continues exactly after that position: the missed ticks
replayed in order, or a fresh snapshot event when the gateway no longer retains them, and
nothing twice, nothing skipped, in the resumed stream either.

With --conflate it subscribes with conflate:true (and with --read-delay reads slowly, so the
gateway falls back on conflation): a seq may then jump (counted as `conflated`), never go back.
A book topic (section 8) is kept as its book, with its own code and zlib's crc32: a snapshot
event replaces it, every tick event's record is applied to it (a conflated one being the merged
update of what was skipped), and after each the book's checksum must equal the record's.

Progress goes to stderr as JSON lines; the result is one JSON line on stdout:

    {"ok": true, "topics": 25, "ticks": .., "resumedTopics": .., "replayed": .., "resnapshots": ..,
     "gaps": 0, "duplicates": 0, "violations": [], ...}

`replayed` counts the ticks of topics that continued at since.seq + 1 and were published
(header ts) before the resuming subscribe was sent: the missed ticks, which the gateway can
only have had from its history (or, for the last few, still on their way to it).

Exit status: 0 when every check holds, 1 when one does not (the violations say which),
2 on an error (no connection, no answer in time, bad arguments).

Needs only the standard library and websockets (Debian bookworm: python3-websockets 10.4,
whose asyncio client `websockets.connect` this uses). Run it with /usr/bin/python3.
"""

import argparse
import asyncio
import json
import socket
import sys
import time
import urllib.parse

import websockets

from book_checksum import Book

MAX_VIOLATIONS_LISTED = 20


class ScriptError(Exception):
    """The gateway could not be reached or did not answer in time: no verdict on the contract."""


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), file=sys.stderr, flush=True)


def now_us():
    return time.time_ns() // 1000


def pattern_matches(pattern, topic):
    """Section 5: an exact topic, or a prefix ending in `*` (`*` alone is everything)."""
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return topic == pattern


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Checker:
    """Per-topic (epoch, seq) across both connections, and every rule of section 5 it can see."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.held = {}             # topic -> [epoch, seq], the position of the last event taken
        self.since = {}            # topic -> (epoch, seq) sent with the resuming subscribe
        self.seen = set()          # topics this connection has delivered an event of
        self.continued = set()     # topics the resumed connection continued with a tick at since.seq + 1
        self.phase = "first"
        self.resubscribed_us = None
        self.violations = []
        self.counts = {
            "frames": 0, "events": 0, "snapshots": 0, "ticks": 0, "heartbeats": 0, "statuses": 0,
            "gaps": 0, "missing": 0, "duplicates": 0, "unannounced": 0, "epochChanges": 0,
            "protocolErrors": 0, "serverErrors": 0,
            "resumedTopics": 0, "continued": 0, "resnapshots": 0, "skippedBySnapshot": 0,
            "replayed": 0, "resumedTicks": 0, "conflated": 0, "conflatedEvents": 0,
            "bookRecords": 0, "checksumMismatches": 0,
        }
        self.conflate = False
        self.books = {}            # book topic -> Book, across both connections
        self.first_ticks = 0

    def violation(self, kind, message):
        self.counts[kind] += 1
        if len(self.violations) < MAX_VIOLATIONS_LISTED:
            self.violations.append(f"{self.phase}: {message}")
        log("violation", kind=kind, phase=self.phase, message=message)

    def new_connection(self, phase):
        self.phase = phase
        self.seen = set()

    def frame(self, message):
        """Decodes one server frame: text, UTF-8 JSON, an array of one or more event objects."""
        self.counts["frames"] += 1
        if not isinstance(message, str):
            self.violation("protocolErrors", f"a binary frame of {len(message)} bytes (frames are JSON text)")
            return []
        try:
            events = json.loads(message)
        except ValueError as err:
            self.violation("protocolErrors", f"a frame that is not JSON ({err}): {message[:200]}")
            return []
        if not isinstance(events, list) or not events:
            self.violation("protocolErrors", f"a frame that is not a non-empty JSON array: {message[:200]}")
            return []
        good = []
        for event in events:
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                good.append(event)
            else:
                self.violation("protocolErrors", f"an array element that is not an event object: {json.dumps(event)[:200]}")
        self.counts["events"] += len(good)
        return good

    def market_event(self, event):
        """Checks the shape of a snapshot or tick event; returns (topic, epoch, seq, ts) or None."""
        topic, epoch, seq, ts, data = (event.get(k) for k in ("topic", "epoch", "seq", "ts", "data"))
        problem = None
        if not isinstance(topic, str) or not pattern_matches(self.pattern, topic):
            problem = f"topic {topic!r} does not match the subscribed pattern {self.pattern!r}"
        elif not is_int(epoch) or epoch <= 0 or not is_int(seq) or seq < 1 or not is_int(ts) or ts <= 0:
            problem = f"{topic}: bad position epoch={epoch!r} seq={seq!r} ts={ts!r}"
        elif not isinstance(data, dict):
            problem = f"{topic}: data is not the record object"
        elif topic.startswith("tick.") and topic != f"tick.{data.get('venue')}.{data.get('symbol')}":
            problem = f"{topic}: venue/symbol of the record do not match the topic"
        if problem:
            self.violation("protocolErrors", f"{event['type']} event: {problem}")
            return None
        return topic, epoch, seq, ts

    def snapshot(self, event):
        position = self.market_event(event)
        if position is None:
            return
        topic, epoch, seq, _ts = position
        first = topic not in self.seen
        self.seen.add(topic)
        if not first:
            # Section 5 sends a snapshot before a topic's ticks (or as a resume answer), never mid-stream.
            self.violation("protocolErrors", f"{topic}: a snapshot event (seq {seq}) after this connection's earlier events of the topic")
        since = self.since.get(topic) if self.phase == "resumed" else None
        if first and since is not None:
            s_epoch, s_seq = since
            if epoch == s_epoch and seq <= s_seq:
                self.violation("duplicates", f"{topic}: the resume snapshot is at seq {seq}, not after since.seq {s_seq}")
                return
            self.counts["resumedTopics"] += 1
            self.counts["resnapshots"] += 1
            if epoch == s_epoch:
                self.counts["skippedBySnapshot"] += seq - s_seq - 1
        else:
            self.counts["snapshots"] += 1
        self.held[topic] = [epoch, seq]
        if topic.startswith("book."):
            if event["data"].get("action") != "snapshot":
                self.violation("protocolErrors", f"{topic}: a snapshot event whose data is not a book snapshot (seq {seq})")
            self.books[topic] = Book()
            self.check_book(topic, seq, event["data"])

    def check_book(self, topic, seq, record):
        """Applies a book record to the topic's book; its checksum must then be the record's."""
        book = self.books.get(topic)
        if book is None:
            self.violation("protocolErrors", f"{topic}: a book record (seq {seq}) before the book's snapshot")
            return
        self.counts["bookRecords"] += 1
        if not book.apply(record):
            self.violation("checksumMismatches", f"{topic}: after seq {seq} the book's checksum is not the record's {record.get('checksum')}")

    def tick(self, event):
        position = self.market_event(event)
        if position is None:
            return
        topic, epoch, seq, ts = position
        self.counts["ticks"] += 1
        if self.phase == "first":
            self.first_ticks += 1
        else:
            self.counts["resumedTicks"] += 1
        first = topic not in self.seen
        self.seen.add(topic)
        since = self.since.get(topic) if self.phase == "resumed" else None
        if first and since is None:
            # snapshot:true promises the current record before any live tick; only a topic the
            # gateway did not know yet when the subscribe arrived may start with a tick.
            self.counts["unannounced"] += 1
            log("unannounced", topic=topic, epoch=epoch, seq=seq)
            self.held[topic] = [epoch, seq]
            if topic.startswith("book.") and event["data"].get("action") == "snapshot":
                self.books[topic] = Book()
                self.check_book(topic, seq, event["data"])
            return
        held = since if first else self.held[topic]
        h_epoch, h_seq = held
        if epoch != h_epoch:
            if first:
                self.violation("protocolErrors", f"{topic}: resumed with a tick of epoch {epoch}, since was epoch {h_epoch}: a new epoch must come as a snapshot")
            else:
                self.counts["epochChanges"] += 1
                log("epoch_change", topic=topic, old=h_epoch, new=epoch, seq=seq)
            self.held[topic] = [epoch, seq]
            if topic.startswith("book."):
                self.books[topic] = Book()             # a new epoch starts with a snapshot record
                self.check_book(topic, seq, event["data"])
            return
        if seq <= h_seq:
            self.violation("duplicates", f"{topic}: seq {seq} after {h_seq} (epoch {epoch})" + (" = since" if first else ""))
            return                                   # keep the newer position held
        if seq > h_seq + 1 and self.conflate:
            # conflate:true: the newest only (a book: the merged update), also of what a resume brings
            self.counts["conflated"] += seq - h_seq - 1
            self.counts["conflatedEvents"] += 1
            if first:
                self.counts["resumedTopics"] += 1
                self.counts["continued"] += 1
        elif seq > h_seq + 1:
            self.violation("gaps", f"{topic}: seq {seq} after {h_seq} (epoch {epoch}): {seq - h_seq - 1} missing" + (" after since" if first else ""))
            self.counts["missing"] += seq - h_seq - 1
        elif first:
            self.counts["resumedTopics"] += 1
            self.counts["continued"] += 1
            self.continued.add(topic)
        if topic in self.continued and ts < self.resubscribed_us:
            self.counts["replayed"] += 1           # published while this client was away: from history
        self.held[topic] = [epoch, seq]
        if topic.startswith("book."):
            self.check_book(topic, seq, event["data"])


def small_window_socket(url):
    """A TCP connection to the URL's host with a small receive buffer and segment size (set before
    connecting, so the kernel neither grows the buffer nor lets the sender size its own buffer by
    loopback's 64 KiB segments): a slow reader's backlog then stays in the sending program, which
    can see it (and conflate), rather than in megabytes of kernel buffers."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.settimeout(5)
    sock.connect((parts.hostname, parts.port or 80))
    sock.settimeout(None)
    return sock


class Connection:
    """One WebSocket connection: frames in, checked events out."""

    def __init__(self, args, checker, phase):
        self.args, self.checker, self.phase = args, checker, phase
        self.ws = None
        self.session = None
        self.subscribed = False
        self.close_code = None

    async def open(self):
        self.checker.new_connection(self.phase)
        try:
            # Reading slowly, neither the library nor the kernel may buffer much for us: one frame
            # queued, a small read buffer, a small TCP receive window that pushes back on the gateway.
            # Closing, it does not wait long for the server's close frame: that is behind the backlog.
            slow = {"max_queue": 1, "read_limit": 2**14, "sock": small_window_socket(self.args.url), "close_timeout": 0.5} \
                if self.args.read_delay > 0 else {"close_timeout": self.args.timeout}
            self.ws = await websockets.connect(self.args.url, open_timeout=self.args.timeout, max_size=64 * 1024 * 1024, **slow)
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as err:
            raise ScriptError(f"{self.phase}: cannot connect to {self.args.url}: {type(err).__name__}: {err}") from None
        events = await self.next_frame(time.monotonic() + self.args.timeout, "the welcome event")
        welcome = events[0] if events else {}
        if welcome.get("type") != "welcome":
            self.checker.violation("protocolErrors", f"the first event is not the welcome: {json.dumps(welcome)[:200]}")
        else:
            ok = isinstance(welcome.get("session"), str) and welcome["session"] and isinstance(welcome.get("server"), str) \
                and is_int(welcome.get("heartbeatMs")) and welcome["heartbeatMs"] > 0
            if not ok:
                self.checker.violation("protocolErrors", f"a welcome without session, server or heartbeatMs: {json.dumps(welcome)}")
            self.session = welcome.get("session")
        self.handle(events[1:])
        log("connected", phase=self.phase, session=self.session, server=welcome.get("server"))

    async def subscribe(self, request_id, since):
        request = {"op": "subscribe", "id": request_id, "topics": [self.args.pattern], "snapshot": True, "conflate": self.args.conflate}
        if since:
            request["since"] = {topic: {"epoch": e, "seq": s} for topic, (e, s) in sorted(since.items())}
        self.request_id = request_id
        await self.ws.send(json.dumps(request))
        deadline = time.monotonic() + self.args.timeout
        while not self.subscribed:
            self.handle(await self.next_frame(deadline, f"the subscribed event of request {request_id!r}"))

    async def run_for(self, seconds):
        """Takes frames until `seconds` have passed; returns early only if the server closes."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.handle(await self.next_frame(deadline, None))
            except TimeoutError:
                return

    async def next_frame(self, deadline, what):
        if self.args.read_delay > 0 and self.subscribed:
            await asyncio.sleep(self.args.read_delay)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScriptError(f"{self.phase}: no {what} within {self.args.timeout} s") if what else TimeoutError()
        try:
            message = await asyncio.wait_for(self.ws.recv(), remaining)
        except asyncio.TimeoutError:
            raise ScriptError(f"{self.phase}: no {what} within {self.args.timeout} s") if what else TimeoutError() from None
        except websockets.exceptions.ConnectionClosed as err:
            self.close_code = err.rcvd.code if err.rcvd else None
            reason = err.rcvd.reason if err.rcvd else ""
            self.checker.violation("protocolErrors", f"the server closed the connection (code {self.close_code}, {reason!r})")
            raise ScriptError(f"{self.phase}: connection closed by the server: code {self.close_code} {reason!r}") from None
        return self.checker.frame(message)

    def handle(self, events):
        checker = self.checker
        for event in events:
            kind = event["type"]
            if kind in ("snapshot", "tick"):
                if not self.subscribed:
                    checker.violation("protocolErrors", f"a {kind} event of {event.get('topic')} before the subscribed event")
                (checker.snapshot if kind == "snapshot" else checker.tick)(event)
            elif kind == "subscribed":
                if event.get("id") != self.request_id or event.get("topics") != [self.args.pattern]:
                    checker.violation("protocolErrors", f"subscribed event does not echo id {self.request_id!r} and topics: {json.dumps(event)}")
                self.subscribed = True
            elif kind == "heartbeat":
                checker.counts["heartbeats"] += 1
                if not is_int(event.get("ts")):
                    checker.violation("protocolErrors", f"heartbeat without integer ts: {json.dumps(event)}")
            elif kind == "status":
                checker.counts["statuses"] += 1
                log("status", venue=event.get("venue"), state=event.get("state"), reason=event.get("reason"))
            elif kind == "error":
                checker.violation("serverErrors", f"error event: {json.dumps(event)}")
                if event.get("id") == getattr(self, "request_id", object()):
                    raise ScriptError(f"{self.phase}: the subscribe was refused: {event.get('code')} {event.get('message')}")
            elif kind == "welcome":
                checker.violation("protocolErrors", "a second welcome event")
            else:
                checker.violation("protocolErrors", f"an event this client never asked for: {json.dumps(event)[:200]}")

    async def close(self):
        if self.ws is not None:
            await self.ws.close()


async def companion(args, stop):
    """Another client of the same pattern, connected for the whole run: it keeps the gateway's
    interest in the pattern alive while the checked client is away. Takes frames, checks nothing."""
    try:
        ws = await websockets.connect(args.url, open_timeout=args.timeout, max_size=64 * 1024 * 1024)
    except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as err:
        raise ScriptError(f"companion: cannot connect to {args.url}: {type(err).__name__}: {err}") from None
    await ws.send(json.dumps({"op": "subscribe", "id": "companion", "topics": [args.pattern], "snapshot": False, "conflate": True}))
    frames = 0
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.2)
                frames += 1
            except asyncio.TimeoutError:
                pass
    except websockets.exceptions.ConnectionClosed as err:
        raise ScriptError(f"companion: connection closed by the server: {err}") from None
    finally:
        await ws.close()
    return frames


async def run(args, checker):
    if not args.companion:
        return await run_checked(args, checker)
    stop = asyncio.Event()
    other = asyncio.create_task(companion(args, stop))
    await asyncio.sleep(0.5)                 # its subscribe is in before the checked client's
    if other.done():
        other.result()                       # raises its error
    try:
        extra = await run_checked(args, checker)
    finally:
        stop.set()
    return {**extra, "companionFrames": await other}


async def run_checked(args, checker):
    started = time.monotonic()
    # 1. Connect, subscribe, follow the stream.
    first = Connection(args, checker, "first")
    await first.open()
    await first.subscribe("first", None)
    await first.run_for(args.first_seconds)
    await first.close()
    away_from = time.monotonic()
    since = {topic: (e, s) for topic, (e, s) in checker.held.items()}
    log("disconnected", topics=len(since), ticks=checker.first_ticks, snapshots=checker.counts["snapshots"])

    # 2. Stay away while the feed goes on.
    await asyncio.sleep(args.away_seconds)

    # 3. Reconnect and resume from where each topic stood.
    resumed = Connection(args, checker, "resumed")
    await resumed.open()
    checker.since = since
    checker.resubscribed_us = now_us()
    await resumed.subscribe("resume", since)
    away = time.monotonic() - away_from
    log("resubscribed", since=len(since), awaySeconds=round(away, 3))
    await resumed.run_for(args.resumed_seconds)
    await resumed.close()
    unresumed = sorted(topic for topic in since if topic not in checker.seen)
    return {"awaySeconds": round(away, 3), "seconds": round(time.monotonic() - started, 3),
            "sinceTopics": len(since), "unresumed": len(unresumed), "unresumedTopics": unresumed[:10]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/v1/ws", help="the gateway's WebSocket endpoint")
    parser.add_argument("--pattern", default="tick.SIM.*", help="subscription pattern (exact topic, or prefix ending in *)")
    parser.add_argument("--first-seconds", type=float, default=2.0, help="how long to follow the stream before disconnecting")
    parser.add_argument("--away-seconds", type=float, default=1.0, help="how long to stay disconnected")
    parser.add_argument("--resumed-seconds", type=float, default=2.0, help="how long to follow the resumed stream")
    parser.add_argument("--companion", action="store_true",
                        help="keep a second connection subscribed to the pattern meanwhile, so the gateway stays interested while this client is away")
    parser.add_argument("--conflate", action="store_true", help="subscribe with conflate:true: seqs may jump (the newest only, a book's merged update)")
    parser.add_argument("--read-delay", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long before reading each frame once subscribed: a slow reader")
    parser.add_argument("--timeout", type=float, default=5.0, help="how long to wait for a connection, welcome or subscribed")
    args = parser.parse_args()
    if args.first_seconds <= 0 or args.away_seconds < 0 or args.resumed_seconds <= 0 or args.timeout <= 0 or args.read_delay < 0:
        parser.error("durations must be positive")

    checker = Checker(args.pattern)
    checker.conflate = args.conflate
    try:
        extra = asyncio.run(run(args, checker))
    except ScriptError as err:
        log("error", error=str(err))
        print(json.dumps({"ok": False, "error": str(err), **checker.counts, "violations": checker.violations}), flush=True)
        return 2
    counts = checker.counts
    failed = [kind for kind in ("protocolErrors", "serverErrors", "gaps", "duplicates", "checksumMismatches") if counts[kind]]
    if not checker.held:
        failed.append("no topic of the pattern was ever delivered")
    if checker.first_ticks == 0:
        failed.append("no tick before the disconnect")
    if counts["resumedTicks"] + counts["resnapshots"] == 0:
        failed.append("nothing after the resume")
    result = {"ok": not failed, "failed": failed, "topics": len(checker.held), **counts, **extra,
              "firstTicks": checker.first_ticks, "violations": checker.violations}
    print(json.dumps(result), flush=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
