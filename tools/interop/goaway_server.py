#!/usr/bin/env python3
"""A raw h2c gRPC server that sends GOAWAY below streams it has received, for oO mesh's
transparent-retry test.

On its first connection it waits until the client has opened --streams request streams,
then answers the first of them (an empty message and grpc-status 0), sends
GOAWAY(NO_ERROR) with last_stream_id = that stream and closes the connection. The streams above
the last stream id were never processed, so a gRPC client must retry them elsewhere (here:
on a new connection). Every later connection answers every stream the same way.

Usage:
  python3 goaway_server.py --port 50051 [--streams 3]

Prints "ready" once listening, then after every answered call (and when it ends, on SIGTERM
or after --lifetime seconds) one JSON line with the counts so far:
{"connections": N, "answered": [per-connection counts], "refused_by_goaway": K}.
Loopback only; every socket has a timeout, so the process always ends.
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"
SOCKET_TIMEOUT = 10.0

stats = {"connections": 0, "answered": [], "refused_by_goaway": 0}
lock = threading.Lock()


def answer(conn, stream_id):
    conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/grpc")])
    conn.send_data(stream_id, EMPTY_MESSAGE)
    conn.send_headers(stream_id, [("grpc-status", "0")], end_stream=True)


def report():
    """Prints the stats as one JSON line (call with `lock` held)."""
    print(json.dumps(stats), flush=True)


def count_answer(index):
    with lock:
        stats["answered"][index] += 1
        report()


def serve(sock, index, goaway_after):
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    waiting = []  # streams whose request ended, in order (first connection only)
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    if goaway_after is None:
                        answer(conn, event.stream_id)
                        count_answer(index)
                    else:
                        waiting.append(event.stream_id)
            if goaway_after is not None and len(waiting) >= goaway_after:
                first = min(waiting)
                answer(conn, first)  # (h2 sends nothing after its GOAWAY: answer first)
                conn.close_connection(error_code=0, last_stream_id=first)
                count_answer(index)
                with lock:
                    stats["refused_by_goaway"] += len(waiting) - 1
                    report()
                sock.sendall(conn.data_to_send())
                # Close gracefully: a close with unread input would send a TCP RST, and a
                # reset makes the kernel drop what the client had not read yet (the GOAWAY).
                sock.shutdown(socket.SHUT_WR)
                drain_until = time.monotonic() + 2
                sock.settimeout(0.5)
                while time.monotonic() < drain_until:
                    try:
                        if not sock.recv(65536):
                            break
                    except socket.timeout:
                        continue
                break
            outgoing = conn.data_to_send()
            if outgoing:
                sock.sendall(outgoing)
    except (OSError, h2.exceptions.ProtocolError) as error:
        print(f"connection {index}: {error!r}", file=sys.stderr, flush=True)
    finally:
        sock.close()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args(argv)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    end = time.monotonic() + args.lifetime
    while not stop.is_set() and time.monotonic() < end:
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            continue
        sock.settimeout(SOCKET_TIMEOUT)
        with lock:
            index = stats["connections"]
            stats["connections"] += 1
            stats["answered"].append(0)
        thread = threading.Thread(target=serve, args=(sock, index, args.streams if index == 0 else None), daemon=True)
        thread.start()
    # Connection threads are daemons; the counts are kept up to date as calls are answered.
    with lock:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
