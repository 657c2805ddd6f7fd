#!/usr/bin/python3
"""Peers of a CURVE-secured tickfan fabric (PROTOCOL.md section 7) with Debian's python3-zmq.

Keys: --server-cert FILE (the fabric servers' public certificate) and --client-cert FILE (a
secret certificate, e.g. from zmq.auth.create_certificates); without --client-cert the
socket is plain (no CURVE at all).

    curve_fabric.py publish ENDPOINT --topic T --seconds S [--push] [keys]
        a PUB sending 3-frame data messages of topic T (tick.V.S) every 20 ms for S seconds;
        --push: a PUSH sending 2-frame ingest records instead. Prints {"sent": n}.
    curve_fabric.py subscribe ENDPOINT [keys]
        a SUB to everything until a line arrives on stdin; prints {"event": "first", "topic": T}
        on stdout the first time each topic arrives, then one summary line:
        {"topics": {T: {"count", "gaps", "epochs", "lastAtMs"}}}
    curve_fabric.py snapshot ENDPOINT PREFIX [keys] [--timeout-ms N]
        a REQ asking SNAPSHOT PREFIX; prints {"reply": "OK", "topics": [...]} or {"reply": null}

Output is JSON lines on stdout. Run it with /usr/bin/python3.
"""

import argparse
import json
import random
import struct
import sys
import threading
import time

import zmq
import zmq.auth


def keyed(socket, args):
    if args.client_cert is None:
        return socket
    server_public, _ = zmq.auth.load_certificate(args.server_cert)
    public, secret = zmq.auth.load_certificate(args.client_cert)
    socket.curve_serverkey = server_public
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    return socket


def record(topic, i):
    _, venue, symbol = topic.split(".", 2)
    return {"venue": venue, "symbol": symbol, "bid": round(100 + i % 100 * 0.01, 2),
            "ask": round(100.5 + i % 100 * 0.01, 2), "exchTs": time.time_ns() // 1000}


def publish(args):
    context = zmq.Context.instance()
    socket = keyed(context.socket(zmq.PUSH if args.push else zmq.PUB), args)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDTIMEO, 100)
    socket.connect(args.endpoint)
    epoch = random.randint(1, 2**32 - 1)
    sent = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        payload = json.dumps(record(args.topic, sent)).encode()
        try:
            if args.push:
                socket.send_multipart([args.topic.encode(), payload])
            else:
                header = struct.pack(">BBHIQQ", 1, 0, 0, epoch, sent + 1, time.time_ns() // 1000)
                socket.send_multipart([args.topic.encode(), header, payload])
            sent += 1
        except zmq.Again:
            pass  # a PUSH with no peer (refused) blocks: nothing was sent
        time.sleep(0.02)
    socket.close()
    return {"sent": sent}


def subscribe(args):
    context = zmq.Context.instance()
    socket = keyed(context.socket(zmq.SUB), args)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, b"")
    socket.connect(args.endpoint)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    topics = {}
    while not stop.is_set():
        if not socket.poll(100):
            continue
        frames = socket.recv_multipart()
        topic = frames[0].decode("utf-8", "replace")
        state = topics.get(topic)
        if state is None:
            state = topics[topic] = {"count": 0, "gaps": 0, "epochs": 0, "epoch": None, "seq": None, "lastAtMs": 0}
            print(json.dumps({"event": "first", "topic": topic}), flush=True)
        state["count"] += 1
        state["lastAtMs"] = time.time() * 1000
        if len(frames) == 3 and len(frames[1]) == 24:
            _, _, _, epoch, seq, _ = struct.unpack(">BBHIQQ", frames[1])
            if epoch != state["epoch"]:
                state["epochs"] += 1
            elif seq != state["seq"] + 1:
                state["gaps"] += 1
            state["epoch"], state["seq"] = epoch, seq
    socket.close()
    for state in topics.values():
        del state["epoch"], state["seq"]
    return {"topics": topics}


def snapshot(args):
    context = zmq.Context.instance()
    socket = keyed(context.socket(zmq.REQ), args)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(args.endpoint)
    socket.send_multipart([b"SNAPSHOT", args.prefix.encode()])
    if not socket.poll(args.timeout_ms):
        return {"reply": None}
    frames = socket.recv_multipart()
    return {"reply": frames[0].decode(), "topics": [frames[i].decode() for i in range(2, len(frames), 3)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, run):
        p = commands.add_parser(name)
        p.add_argument("endpoint")
        p.add_argument("--server-cert")
        p.add_argument("--client-cert")
        p.set_defaults(run=run)
        return p

    p = command("publish", publish)
    p.add_argument("--topic", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--push", action="store_true")
    command("subscribe", subscribe)
    p = command("snapshot", snapshot)
    p.add_argument("prefix")
    p.add_argument("--timeout-ms", type=int, default=3000)
    args = parser.parse_args()
    try:
        print(json.dumps(args.run(args)), flush=True)
    except (OSError, ValueError, zmq.ZMQError) as err:
        print(json.dumps({"error": str(err)}), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
