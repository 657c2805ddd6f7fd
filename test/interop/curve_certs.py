#!/usr/bin/python3
"""CURVE certificates and a CURVE client with pyzmq's zmq.auth, for tickfan's interop tests.

    curve_certs.py load FILE
        prints {"public": .., "secret": ..} as zmq.auth.load_certificate reads FILE
    curve_certs.py create DIR NAME
        zmq.auth.create_certificates(DIR, NAME); prints {"public": FILE, "secret": FILE}
    curve_certs.py request ENDPOINT SERVER_CERT CLIENT_SECRET_CERT TEXT [--timeout-ms N]
        a CURVE REQ client (server key from SERVER_CERT, own keys from CLIENT_SECRET_CERT)
        sends TEXT and prints {"reply": ..} or {"reply": null} when none came in time
    curve_certs.py request-plain ENDPOINT TEXT [--timeout-ms N]
        the same without CURVE

Output is one JSON line on stdout. Exit status 2 on an error. Run it with /usr/bin/python3
(Debian's python3-zmq).
"""

import argparse
import json
import sys

import zmq
import zmq.auth


def text(value):
    return None if value is None else value.decode('ascii')


def load(args):
    public, secret = zmq.auth.load_certificate(args.file)
    return {"public": text(public), "secret": text(secret)}


def create(args):
    public_file, secret_file = zmq.auth.create_certificates(args.dir, args.name)
    return {"public": public_file, "secret": secret_file}


def request(args, curve):
    context = zmq.Context.instance()
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    if curve:
        server_public, _ = zmq.auth.load_certificate(args.server_cert)
        client_public, client_secret = zmq.auth.load_certificate(args.client_cert)
        socket.curve_serverkey = server_public
        socket.curve_publickey = client_public
        socket.curve_secretkey = client_secret
    socket.connect(args.endpoint)
    socket.send_string(args.text)
    reply = socket.recv_string() if socket.poll(args.timeout_ms) else None
    socket.close()
    context.term()
    return {"reply": reply}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("load")
    p.add_argument("file")
    p.set_defaults(run=load)
    p = commands.add_parser("create")
    p.add_argument("dir")
    p.add_argument("name")
    p.set_defaults(run=create)
    for name, curve in (("request", True), ("request-plain", False)):
        p = commands.add_parser(name)
        p.add_argument("endpoint")
        if curve:
            p.add_argument("server_cert")
            p.add_argument("client_cert")
        p.add_argument("text")
        p.add_argument("--timeout-ms", type=int, default=5000)
        p.set_defaults(run=lambda args, curve=curve: request(args, curve))
    args = parser.parse_args()
    try:
        result = args.run(args)
    except (OSError, ValueError, zmq.ZMQError) as err:
        print(f"curve_certs.py: {err}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
