#!/usr/bin/env python3
"""Hostile-peer scenarios for oO mesh's transport hardening (issue 14).

Each scenario plays one peer an attacker or an unlucky operator could be, against a
server on 127.0.0.1:PORT (or, for `silent_server_client`, as a server for our client),
and measures what it costs the server: its RSS (VmRSS from /proc/PID/status, sampled
every 100 ms), its CPU time (utime+stime from /proc/PID/stat) and whether a real call
on a new connection is still answered.

Usage:
  python3 hostile_peer.py --scenario nonreading_bidi_adversarial --port 50051 --pid 1234
  python3 hostile_peer.py --scenario silent_sockets --port 50051 --pid 1234 --connections 300
  python3 hostile_peer.py --scenario half_tls_hello --port 50443 --pid 1234 --tls
  python3 hostile_peer.py --scenario rapid_reset --port 50051 --pid 1234 --path /grpc.testing.TestService/UnaryCall
  python3 hostile_peer.py --scenario silent_server_client --port 0   # prints {"listening": PORT} first
  python3 hostile_peer.py --list

Scenarios:
  nonreading_bidi_benign       one FullDuplexCall whose handler is blocked writing a 1 MiB
  nonreading_bidi_adversarial  response (our SETTINGS_INITIAL_WINDOW_SIZE is 0 and we never
                               send WINDOW_UPDATE), so it reads no more requests; we keep
                               sending ~64 KiB request messages as far as the server's
                               flow-control window lets us (bounded by --seconds and
                               --max-mib; we stop after --stall-seconds without credit).
                               Benign: 16 KiB DATA frames on message boundaries.
                               Adversarial: every message's last frame stops one byte short,
                               so a partial message is always pending.
  silent_sockets               --connections TCP connections that never send a byte, held
                               --hold seconds; server CPU% over the hold, and a real call on
                               a new connection half-way through (timeout --call-timeout).
  half_tls_hello               a TLS record header and the first bytes of a ClientHello,
                               then silence: seconds until the server closes (null if not
                               within --wait).
  half_h2_preface              the same for h2c: half of the HTTP/2 client preface.
  rapid_reset                  HEADERS + DATA (a whole request) then RST_STREAM(CANCEL) at
                               once, in a loop (--iterations, --seconds), on one connection.
  silent_server_client         the reverse role: listens, accepts TCP, never speaks HTTP/2;
                               prints {"listening": PORT} first, then (after the client
                               gave up or --hold passed) how long each connection was held.

--service echo targets bench.v1.Echo (the gRPC C++ peer in tools/bench/cpp) instead of
grpc.testing.TestService: Bidi instead of FullDuplexCall (it reads the next request only
after its echo was written), Unary instead of UnaryCall and EmptyCall.

Output: exactly ONE JSON line on stdout (silent_server_client prints its {"listening": PORT}
line before it). Sizes are MiB (2 decimals), times seconds. Fields common to the
server scenarios:
  rss_before_mib, rss_peak_mib, rss_after_mib, rss_growth_mib (peak - before)
                         null without --pid
  cpu_seconds, cpu_percent  the server's CPU over the scenario's main phase (percent of
                         one core)
  server_still_serves    a well-formed call (EmptyCall; Echo/Unary) on a NEW connection
                         afterwards succeeds
  error                  set only when the peer itself failed (the exit status is then 1)

Every socket operation has a timeout (at most 10 s, or the scenario's own bound), every
loop is bounded in count and in time, and everything is loopback only.
"""

import argparse
import json
import os
import resource
import select
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import h2.exceptions  # noqa: E402
import h2.settings  # noqa: E402

from raw_h2_peer import (  # noqa: E402
    SOCKET_TIMEOUT,
    Peer,
    field_bytes,
    grpc_frame,
    simple_request,
    streaming_output_request,
)

HOST = "127.0.0.1"
MIB = 1024 * 1024
TEST_SERVICE = "/grpc.testing.TestService/"
ECHO_SERVICE = "/bench.v1.Echo/"
CANCEL = 8  # RST_STREAM error code


def mib(nbytes):
    return None if nbytes is None else round(nbytes / MIB, 2)


# ---------------------------------------------------------------------------
# The server process: RSS and CPU from /proc
# ---------------------------------------------------------------------------

class ServerProcess:
    """Reads a process's VmRSS and utime+stime; every method returns None without a pid
    (or once the process is gone)."""

    def __init__(self, pid):
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")

    def rss_bytes(self):
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def cpu_seconds(self):
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                text = stat.read()
        except OSError:
            return None
        # The command name (field 2) may contain spaces: split after its closing paren.
        fields = text[text.rindex(")") + 2:].split()
        # utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
        return (int(fields[11]) + int(fields[12])) / self.ticks

    def alive(self):
        return self.pid is None or os.path.exists(f"/proc/{self.pid}")


class Measurement:
    """RSS before / peak / after and CPU over a phase; RSS sampled every 100 ms on a thread
    (bounded: it stops with the phase, or at `max_seconds` at the latest)."""

    def __init__(self, server, max_seconds=120.0, interval=0.1):
        self.server = server
        self.max_seconds = max_seconds
        self.interval = interval
        self.rss_before = None
        self.rss_peak = None
        self.rss_after = None
        self.cpu_before = None
        self.cpu_after = None
        self.samples = 0
        self.started = None
        self.stopped = None
        self._stop = threading.Event()
        self._thread = None

    def _sample(self):
        rss = self.server.rss_bytes()
        if rss is not None:
            self.samples += 1
            if self.rss_peak is None or rss > self.rss_peak:
                self.rss_peak = rss
        return rss

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.wait(self.interval) and time.monotonic() < deadline:
            self._sample()

    def start(self):
        self.rss_before = self._sample()
        self.cpu_before = self.server.cpu_seconds()
        self.started = time.monotonic()
        if self.server.pid is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def stop(self):
        self.stopped = time.monotonic()
        self.cpu_after = self.server.cpu_seconds()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.rss_after = self._sample()
        return self

    def cpu(self):
        if self.cpu_before is None or self.cpu_after is None:
            return None, None
        used = self.cpu_after - self.cpu_before
        wall = max(1e-6, self.stopped - self.started)
        return round(used, 2), round(100.0 * used / wall, 1)

    def report(self, prefix=""):
        cpu_seconds, cpu_percent = self.cpu()
        growth = None
        if self.rss_before is not None and self.rss_peak is not None:
            growth = self.rss_peak - self.rss_before
        return {
            prefix + "rss_before_mib": mib(self.rss_before),
            prefix + "rss_peak_mib": mib(self.rss_peak),
            prefix + "rss_after_mib": mib(self.rss_after),
            prefix + "rss_growth_mib": mib(growth),
            prefix + "cpu_seconds": cpu_seconds,
            prefix + "cpu_percent": cpu_percent,
            prefix + "wall_seconds": round(self.stopped - self.started, 2),
        }


# ---------------------------------------------------------------------------
# Connections: raw_h2_peer's Peer on a socket we open (so we choose the connect timeout,
# and TLS)
# ---------------------------------------------------------------------------

def open_socket(port, timeout, tls=False):
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # loopback test peer: the server's identity is not the point
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(sock, server_hostname="localhost")
    return sock



def receive_or_closed(sock):
    """One recv: (bytes, None) while open, (b"", "fin" | "rst" | error name) once closed."""
    try:
        data = sock.recv(65536)
        return data, ("fin" if not data else None)
    except OSError as error:
        return b"", ("rst" if error.errno == 104 else type(error).__name__)

class SocketPeer(Peer):
    """raw_h2_peer.Peer on an already connected socket (plain or TLS)."""

    def __init__(self, sock, settings=None, tls=False):  # noqa: super().__init__ would connect
        self.tls = tls
        self.begin_on(sock, settings)

    def headers_for(self, path, content_type="application/grpc", extra=()):
        headers = super().headers_for(path, content_type, extra)
        if self.tls:
            headers[1] = (":scheme", "https")
        return headers

    def poll(self, wait):
        """Handles whatever the server sent, waiting at most `wait` seconds for the first
        bytes; returns False once the connection is closed."""
        if self.closed:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], max(0.0, wait))
        except (OSError, ValueError):
            self.closed = True
            return False
        if not readable:
            return True
        self.sock.settimeout(SOCKET_TIMEOUT)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            self.closed = True
            # After the server's GOAWAY (RFC 9113 §6.8) it may still send frames for the
            # streams it had (RST_STREAM, say); h2 closes its state machine on GOAWAY and
            # refuses them. That is the connection ending, not a server at fault: the
            # caller reconnects. (The GOAWAY and those frames can come in one read, so the
            # GOAWAY event itself may be lost with the exception: its code is then unknown, -1.)
            if self.conn.state_machine.state == h2.connection.ConnectionState.CLOSED:
                if self.goaway is None:
                    self.goaway = -1
                return False
            raise RuntimeError(f"h2 rejected the server's frames: {error!r}")
        for event in events:
            self.handle(event)
        return True

    def flush_bounded(self, timeout=SOCKET_TIMEOUT):
        """Writes what h2 queued; returns "ok", "closed", or "blocked" when the server read
        nothing for `timeout` seconds (TCP backpressure)."""
        data = self.conn.data_to_send()
        if not data or self.write_failed:
            return "closed" if self.write_failed else "ok"
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except socket.timeout:
            return "blocked"
        except OSError:
            self.write_failed = True
            return "closed"
        return "ok"


class Service:
    """The paths and request messages for one of the two services we can target."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "test":
            self.bidi_path = TEST_SERVICE + "FullDuplexCall"
            self.unary_path = TEST_SERVICE + "UnaryCall"
            self.probe_path = TEST_SERVICE + "EmptyCall"
        else:
            self.bidi_path = ECHO_SERVICE + "Bidi"
            self.unary_path = ECHO_SERVICE + "Unary"
            self.probe_path = ECHO_SERVICE + "Unary"

    def probe_request(self):
        return b""  # Empty / EchoRequest{}: zero bytes either way

    def blocker(self, response_bytes):
        """The first bidi request: makes the handler write `response_bytes` it cannot send."""
        if self.kind == "test":
            return streaming_output_request([response_bytes])
        return field_bytes(1, b"\x00" * response_bytes)  # EchoRequest{payload}: echoed back

    def filler(self, wire_bytes):
        """A request message (5-byte prefix included) of `wire_bytes` on the wire, or the
        nearest smaller size varint lengths allow, that asks for no response:
        StreamingOutputCallRequest{payload{body}} / EchoRequest{payload}."""
        encode = self.filler_with_payload
        overhead = len(encode(wire_bytes)) - wire_bytes  # the tags, lengths and prefix
        for body_length in range(max(0, wire_bytes - overhead), max(-1, wire_bytes - overhead - 16), -1):
            frame = encode(body_length)
            if len(frame) <= wire_bytes:
                return frame
        raise RuntimeError(f"no filler message of about {wire_bytes} bytes")

    def filler_with_payload(self, body_length):
        """A request message with a `body_length`-byte payload that asks for no response."""
        body = b"\x00" * body_length
        if self.kind == "test":
            return grpc_frame(field_bytes(3, field_bytes(2, body)))
        return grpc_frame(field_bytes(1, body))

    def unary_request(self, response_size):
        if self.kind == "test":
            return simple_request(response_size)
        return field_bytes(1, b"\x00" * response_size)  # Echo/Unary answers with the payload


def probe_call(port, service, timeout=SOCKET_TIMEOUT, tls=False):
    """A well-formed unary call on a NEW connection within `timeout` seconds overall.
    Returns (answered_ok, seconds, detail)."""
    started = time.monotonic()
    deadline = started + timeout
    peer = None
    try:
        sock = open_socket(port, timeout=min(timeout, max(0.1, deadline - time.monotonic())), tls=tls)
        peer = SocketPeer(sock, tls=tls)
        stream_id = peer.start(service.probe_path, grpc_frame(service.probe_request()))
        state = peer.streams[stream_id]
        while not state.done and peer.goaway is None and time.monotonic() < deadline:
            if not peer.poll(min(0.5, deadline - time.monotonic())):
                break
            peer.flush()
        summary = state.summary()
        ok = summary["grpc_status"] == 0 and summary["messages"] == 1 and not summary["reset"]
        detail = None if ok else {k: summary[k] for k in ("status", "grpc_status", "grpc_message", "reset_code")}
        if detail is not None and not state.done:
            detail["timed_out"] = time.monotonic() >= deadline
        return ok, round(time.monotonic() - started, 3), detail
    except (OSError, RuntimeError, h2.exceptions.H2Error, ssl.SSLError) as error:
        return False, round(time.monotonic() - started, 3), {"error": f"{type(error).__name__}: {error}"}
    finally:
        if peer is not None:
            peer.close()


def raise_fd_limit(wanted):
    """Raises our own soft RLIMIT_NOFILE towards `wanted` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------------------
# 1. A non-reading bidi handler and a client that grants no window
# ---------------------------------------------------------------------------

def nonreading_bidi(args, server, adversarial):
    service = Service(args.service)
    # ~64 KiB messages: a 64 KiB payload plus its protobuf and gRPC framing (65,546 bytes),
    # or exactly 64 KiB on the wire with --aligned (then 16 KiB frames tile each message).
    if args.aligned:
        filler = service.filler(args.message_kib * 1024)
    else:
        filler = service.filler_with_payload(args.message_kib * 1024)
    blocker = grpc_frame(service.blocker(args.response_kib * 1024))
    max_bytes = args.max_mib * MIB

    sock = open_socket(args.port, SOCKET_TIMEOUT)
    # Stream window 0 for everything the server sends us; we never send WINDOW_UPDATE.
    peer = SocketPeer(sock, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    peer.window_updates = "none"
    settle = time.monotonic() + 2.0
    while not peer.server_settings and time.monotonic() < settle and peer.poll(0.1):
        pass
    peer.poll(0.2)  # our SETTINGS acknowledged
    peer.flush()

    stream_id = peer.start(service.bidi_path, None, end=False)
    state = peer.streams[stream_id]

    # The bytes to send: the blocker, then fillers, as one continuous stream. `cuts` are the
    # offsets (in that stream) where a DATA frame must end: the message boundaries (benign)
    # or one byte before each (adversarial).
    class Source:
        def __init__(self):
            self.message = blocker
            self.offset = 0  # in the current message
            self.messages = 0

        def next_chunk(self, limit):
            if not adversarial and not args.aligned:
                # What gRPC clients do: messages back to back, cut only by frame size and
                # window, so frames straddle message boundaries.
                chunk = bytearray()
                while len(chunk) < limit:
                    if self.offset == len(self.message):
                        self.message = filler
                        self.offset = 0
                        self.messages += 1
                    take = min(limit - len(chunk), len(self.message) - self.offset)
                    chunk += self.message[self.offset:self.offset + take]
                    self.offset += take
                return bytes(chunk)
            remaining = len(self.message) - self.offset
            stop_short = 1 if adversarial else 0
            if remaining > stop_short:
                length = min(limit, remaining - stop_short)
                chunk = self.message[self.offset:self.offset + length]
                self.offset += length
                return chunk
            # The rest of this message (0 or 1 bytes), then the next one up to its own cut.
            head = self.message[self.offset:]
            self.message = filler
            self.offset = 0
            self.messages += 1
            if not head:
                return self.next_chunk(limit)
            length = min(limit - len(head), len(self.message) - 1)
            chunk = head + self.message[:length]
            self.offset = length
            return chunk

    source = Source()
    measurement = Measurement(server, max_seconds=args.seconds + args.stall_seconds + 15).start()
    started = time.monotonic()
    deadline = started + args.seconds
    sent = 0
    frames = 0
    stop_reason = None
    stalled_at = None
    window_waits = 0
    while True:
        now = time.monotonic()
        if now >= deadline:
            stop_reason = "time_bound"
            break
        if sent >= max_bytes:
            stop_reason = "byte_bound"
            break
        if state.done or peer.goaway is not None or peer.closed:
            stop_reason = "stream_ended" if not (peer.goaway is not None or peer.closed) else "connection_ended"
            break
        if frames % 16 == 0:
            if not peer.poll(0):
                stop_reason = "connection_ended"
                break
        window = peer.conn.local_flow_control_window(stream_id)
        if window <= 0:
            # Exhausted: a real client waits for WINDOW_UPDATE; we wait a bounded time.
            window_waits += 1
            wait_until = min(deadline, time.monotonic() + args.stall_seconds)
            while peer.conn.local_flow_control_window(stream_id) <= 0 and time.monotonic() < wait_until:
                if not peer.poll(min(0.1, max(0.0, wait_until - time.monotonic()))):
                    break
                if state.done or peer.goaway is not None:
                    break
            if peer.conn.local_flow_control_window(stream_id) <= 0 and not peer.closed and not state.done:
                if time.monotonic() < deadline:
                    stop_reason = "window_exhausted"
                    stalled_at = sent
                    break
            continue
        limit = min(window, peer.conn.max_outbound_frame_size)
        chunk = source.next_chunk(limit)
        peer.conn.send_data(stream_id, chunk)
        frames += 1
        sent += len(chunk)
        if frames % 4 == 0 or len(chunk) < limit:
            flushed = peer.flush_bounded(timeout=min(SOCKET_TIMEOUT, max(0.5, deadline - time.monotonic())))
            if flushed != "ok":
                stop_reason = "tcp_blocked" if flushed == "blocked" else "connection_ended"
                break
    peer.flush_bounded(timeout=2.0)
    send_seconds = time.monotonic() - started
    # Let the server take in what is on the wire, then read the figures while the
    # connection is still open (what it holds for us).
    time.sleep(0.5)
    peer.poll(0)
    measurement.stop()
    result = measurement.report()
    result.update({
        "framing": "adversarial" if adversarial else "benign",
        "service": service.kind,
        "path": service.bidi_path,
        "message_bytes": len(filler),
        "aligned": bool(args.aligned) and not adversarial,
        "response_bytes_requested": args.response_kib * 1024,
        "bytes_sent": sent,
        "mib_sent": mib(sent),
        "messages_sent": source.messages,
        "frames_sent": frames,
        "send_seconds": round(send_seconds, 2),
        "stop_reason": stop_reason,
        "window_waits": window_waits,
        "stalled_after_bytes": stalled_at,
        "stream_window_at_end": peer.conn.local_flow_control_window(stream_id) if not state.done else None,
        "response_headers_received": state.headers is not None,
        "stream_reset_code": state.reset_code,
        "goaway": peer.goaway,
        "server_initial_window": peer.server_settings.get(int(h2.settings.SettingCodes.INITIAL_WINDOW_SIZE)),
    })
    # Still responsive while this connection holds whatever it holds.
    ok, seconds, detail = probe_call(args.port, service)
    result["responsive_while_held"] = ok
    result["responsive_call_seconds"] = seconds
    if detail:
        result["responsive_call_detail"] = detail
    peer.close(reset=True)
    time.sleep(1.0)
    result["rss_after_close_mib"] = mib(server.rss_bytes())
    return result


# ---------------------------------------------------------------------------
# 2. Silent sockets past the server's fd limit
# ---------------------------------------------------------------------------

def silent_sockets(args, server):
    service = Service(args.service)
    our_limit = raise_fd_limit(args.connections + 64)
    sockets = []
    connect_failures = {}
    open_started = time.monotonic()
    open_deadline = open_started + args.open_seconds
    for _ in range(args.connections):
        if time.monotonic() >= open_deadline:
            connect_failures["open_time_bound"] = connect_failures.get("open_time_bound", 0) + 1
            break
        try:
            sock = socket.create_connection((HOST, args.port), timeout=min(2.0, max(0.1, open_deadline - time.monotonic())))
            sockets.append(sock)
        except OSError as error:
            name = type(error).__name__ if error.errno is None else os.strerror(error.errno)
            connect_failures[name] = connect_failures.get(name, 0) + 1
    open_seconds = time.monotonic() - open_started
    time.sleep(0.5)  # let the server run into its limit

    measurement = Measurement(server, max_seconds=args.hold + args.call_timeout + 15).start()
    hold_started = time.monotonic()
    call_result = {}

    def real_call():
        ok, seconds, detail = probe_call(args.port, service, timeout=args.call_timeout)
        call_result.update(ok=ok, seconds=seconds, detail=detail)

    caller = None
    while time.monotonic() - hold_started < args.hold:
        if caller is None and time.monotonic() - hold_started >= args.hold / 2:
            caller = threading.Thread(target=real_call, daemon=True)
            caller.start()
        time.sleep(0.1)
    measurement.stop()  # CPU over exactly the hold window
    if caller is not None:
        caller.join(timeout=args.call_timeout + 5)

    # What became of our sockets: answered (the server's SETTINGS arrived), closed by the
    # server, or neither (still in the accept queue, or accepted and ignored).
    answered = closed = untouched = 0
    for sock in sockets:
        try:
            sock.setblocking(False)
            data = sock.recv(1, socket.MSG_PEEK)
            if data:
                answered += 1
            else:
                closed += 1
        except BlockingIOError:
            untouched += 1
        except OSError:
            closed += 1
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass
    result = measurement.report()
    result.update({
        "service": service.kind,
        "connections_requested": args.connections,
        "connections_opened": len(sockets),
        "connect_failures": connect_failures,
        "open_seconds": round(open_seconds, 2),
        "our_fd_soft_limit": our_limit,
        "hold_seconds": args.hold,
        "sockets_server_spoke_on": answered,
        "sockets_server_closed": closed,
        "sockets_silent": untouched,
        "call_answered": call_result.get("ok", False),
        "call_seconds": call_result.get("seconds"),
        "call_timeout_seconds": args.call_timeout,
    })
    if call_result.get("detail"):
        result["call_detail"] = call_result["detail"]
    time.sleep(1.0)  # the server notices the closes before the still-serves check
    return result


# ---------------------------------------------------------------------------
# 3. Half a handshake: TLS ClientHello, HTTP/2 preface
# ---------------------------------------------------------------------------

def half_handshake(args, server, first_bytes, label):
    """Sends `first_bytes` on `args.half_connections` connections and goes silent; reports
    how long until the server closes each (null when not within --wait)."""
    measurement = Measurement(server, max_seconds=args.wait + 15).start()
    peers = []
    for _ in range(args.half_connections):
        sock = socket.create_connection((HOST, args.port), timeout=SOCKET_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(first_bytes)
        peers.append({"sock": sock, "start": time.monotonic(), "closed_after": None, "received": 0, "how": None})
    deadline = time.monotonic() + args.wait
    open_peers = list(peers)
    while open_peers and time.monotonic() < deadline:
        readable, _, _ = select.select([p["sock"] for p in open_peers], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
        for sock in readable:
            entry = next(p for p in open_peers if p["sock"] is sock)
            data, how = receive_or_closed(sock)
            entry["received"] += len(data)
            if how:
                entry["closed_after"] = round(time.monotonic() - entry["start"], 3)
                entry["how"] = how
                open_peers.remove(entry)
    measurement.stop()
    for entry in peers:
        try:
            entry["sock"].close()
        except OSError:
            pass
    first = peers[0]
    result = measurement.report()
    result.update({
        "sent": label,
        "bytes_sent_each": len(first_bytes),
        "connections": len(peers),
        "wait_bound_seconds": args.wait,
        "server_closed_after_seconds": first["closed_after"],
        "closed_how": first["how"],
        "bytes_received_before_close": first["received"],
        "closed_count": sum(1 for p in peers if p["closed_after"] is not None),
    })
    if len(peers) > 1:
        result["closed_after_seconds_each"] = [p["closed_after"] for p in peers]
    return result


def half_tls_hello(args, server):
    # A TLS record header for a 512-byte handshake record, the ClientHello header for a
    # 508-byte message, client_version 3.3 and 4 bytes of the 32-byte random: 15 of 517.
    partial = bytes([0x16, 0x03, 0x01, 0x02, 0x00,  # record: handshake, TLS 1.0 framing, 512
                     0x01, 0x00, 0x01, 0xFC,  # ClientHello, 508 bytes
                     0x03, 0x03,  # client_version TLS 1.2
                     0x5A, 0x5A, 0x5A, 0x5A])
    return half_handshake(args, server, partial, "tls_clienthello_15_of_517_bytes")


def half_h2_preface(args, server):
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    return half_handshake(args, server, preface[:12], "h2_preface_12_of_24_bytes")


# ---------------------------------------------------------------------------
# 4. Rapid reset
# ---------------------------------------------------------------------------

def rapid_reset(args, server):
    service = Service(args.service)
    path = args.path or service.unary_path
    request = grpc_frame(service.unary_request(args.response_size))

    def connect():
        peer = SocketPeer(open_socket(args.port, SOCKET_TIMEOUT))
        settle = time.monotonic() + 2.0
        while not peer.server_settings and time.monotonic() < settle and peer.poll(0.1):
            pass
        peer.poll(0.2)
        peer.flush()
        return peer

    peer = connect()
    measurement = Measurement(server, max_seconds=args.seconds + args.settle + 30).start()
    started = time.monotonic()
    deadline = started + args.seconds
    iterations = 0
    stop_reason = "iteration_bound"
    stalls = 0
    connections = [{"iterations": 0, "goaway": None}]
    peers = [peer]
    while iterations < args.iterations:
        if time.monotonic() >= deadline:
            stop_reason = "time_bound"
            break
        if peer.goaway is not None or peer.closed:
            connections[-1]["goaway"] = peer.goaway
            if not args.reconnect or len(connections) >= args.max_connections:
                stop_reason = "connection_ended"
                break
            try:
                peer = connect()
            except OSError as error:
                stop_reason = f"reconnect failed: {type(error).__name__}: {error}"
                break
            peers.append(peer)
            connections.append({"iterations": 0, "goaway": None})
            continue
        if peer.conn.outbound_flow_control_window < len(request):
            # The server kept the reset streams' request bytes: wait a little for credit.
            stalls += 1
            wait_until = min(deadline, time.monotonic() + 2.0)
            while peer.conn.outbound_flow_control_window < len(request) and time.monotonic() < wait_until:
                if not peer.poll(0.1):
                    break
            if peer.conn.outbound_flow_control_window < len(request) and not peer.closed:
                stop_reason = "connection_window_exhausted"
                break
            continue
        try:
            stream_id = peer.conn.get_next_available_stream_id()
            peer.conn.send_headers(stream_id, peer.headers_for(path), end_stream=False)
            peer.conn.send_data(stream_id, request, end_stream=True)
            if args.reset_delay > 0:
                # Let the server start the handler before the reset (a stuck-handler test,
                # not the classic attack, where the reset rides in the same write).
                peer.flush_bounded(timeout=SOCKET_TIMEOUT)
                time.sleep(args.reset_delay / 1000)
            peer.conn.reset_stream(stream_id, error_code=CANCEL)
        except h2.exceptions.H2Error as error:
            stop_reason = f"h2: {type(error).__name__}"
            break
        iterations += 1
        connections[-1]["iterations"] += 1
        flushed = peer.flush_bounded(timeout=min(SOCKET_TIMEOUT, max(0.5, deadline - time.monotonic())))
        if flushed == "blocked":
            stop_reason = "tcp_blocked"
            break
        if iterations % 8 == 0:
            peer.poll(0)
    loop_seconds = time.monotonic() - started
    connections[-1]["goaway"] = peer.goaway
    loop_cpu = server.cpu_seconds()
    # What the server does with the cancelled work: CPU and RSS for a few seconds more.
    settle_until = time.monotonic() + args.settle
    while time.monotonic() < settle_until:
        if peer.closed or not peer.poll(min(0.2, max(0.0, settle_until - time.monotonic()))):
            time.sleep(min(0.2, max(0.0, settle_until - time.monotonic())))
        else:
            peer.flush()
    measurement.stop()
    result = measurement.report()
    if loop_cpu is not None and measurement.cpu_before is not None:
        result["loop_cpu_seconds"] = round(loop_cpu - measurement.cpu_before, 2)
        result["loop_cpu_percent"] = round(100.0 * (loop_cpu - measurement.cpu_before) / max(1e-6, loop_seconds), 1)
    streams = [s for p in peers for s in p.streams.values()]
    result.update({
        "service": service.kind,
        "path": path,
        "request_bytes": len(request),
        "iterations": iterations,
        "loop_seconds": round(loop_seconds, 2),
        "iterations_per_second": round(iterations / max(1e-6, loop_seconds), 1),
        "stop_reason": stop_reason,
        "window_stalls": stalls,
        "goaway": connections[0]["goaway"],
        "goaway_received": any(c["goaway"] is not None for c in connections),
        "connections_used": len(connections),
        "iterations_per_connection_min": min(c["iterations"] for c in connections),
        "iterations_per_connection_max": max(c["iterations"] for c in connections),
        "goaway_codes": sorted({c["goaway"] for c in connections if c["goaway"] is not None}),
        "connection_closed": peer.closed,
        "response_headers_seen": sum(1 for s in streams if s.headers is not None),
        "settle_seconds": args.settle,
        "server_resets_seen": sum(1 for s in streams if s.reset_code is not None),
    })
    for p in peers:
        p.close()
    time.sleep(1.0)
    result["rss_after_close_mib"] = mib(server.rss_bytes())
    return result


# ---------------------------------------------------------------------------
# 5. A server that accepts TCP and never speaks HTTP/2
# ---------------------------------------------------------------------------

def silent_server_client(args, server):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, args.port or 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    print(json.dumps({"listening": port}), flush=True)
    started = time.monotonic()
    deadline = started + args.hold
    connections = []
    open_conns = []
    max_connections = 256
    while time.monotonic() < deadline:
        # Done once every client that came has given up (and at least one came).
        if connections and not open_conns and time.monotonic() - connections[-1]["closed_at_abs"] > args.linger:
            break
        watch = [listener] + [c["sock"] for c in open_conns]
        readable, _, _ = select.select(watch, [], [], min(0.2, max(0.0, deadline - time.monotonic())))
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                entry = {"sock": conn, "accepted_abs": time.monotonic(), "closed_at_abs": None, "received": 0, "how": None}
                if len(connections) < max_connections:
                    connections.append(entry)
                    open_conns.append(entry)
                else:
                    conn.close()
                continue
            entry = next(c for c in open_conns if c["sock"] is sock)
            data, how = receive_or_closed(sock)  # read (and discard) whatever the client sends
            entry["received"] += len(data)
            if how:
                entry["closed_at_abs"] = time.monotonic()
                entry["how"] = how
                open_conns.remove(entry)
    listener.close()
    for entry in connections:
        try:
            entry["sock"].close()
        except OSError:
            pass
    each = [{
        "accepted_after_seconds": round(c["accepted_abs"] - started, 3),
        "held_seconds": round((c["closed_at_abs"] or time.monotonic()) - c["accepted_abs"], 3),
        "closed_by_client": c["closed_at_abs"] is not None,
        "closed_how": c["how"],
        "bytes_received": c["received"],
    } for c in connections]
    first = each[0] if each else {}
    return {
        "listening": port,
        "hold_bound_seconds": args.hold,
        "connections": len(connections),
        "held_seconds": first.get("held_seconds"),
        "closed_by_client": first.get("closed_by_client"),
        "bytes_received": first.get("bytes_received"),
        "still_open_at_end": len(open_conns),
        "each": each,
    }


SCENARIOS = {
    "nonreading_bidi_benign": lambda args, server: nonreading_bidi(args, server, adversarial=False),
    "nonreading_bidi_adversarial": lambda args, server: nonreading_bidi(args, server, adversarial=True),
    "silent_sockets": silent_sockets,
    "half_tls_hello": half_tls_hello,
    "half_h2_preface": half_h2_preface,
    "rapid_reset": rapid_reset,
    "silent_server_client": silent_server_client,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Scenarios and output: see the module docstring (head of this file).")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--port", type=int, help="the server's port on 127.0.0.1 (silent_server_client: ours, 0 = any)")
    parser.add_argument("--pid", type=int, help="the server's pid, for RSS and CPU from /proc")
    parser.add_argument("--list", action="store_true", help="print the scenario names and exit")
    parser.add_argument("--service", choices=("test", "echo"), default="test",
                        help="grpc.testing.TestService (default) or bench.v1.Echo (the C++ peer)")
    parser.add_argument("--tls", action="store_true", help="the server speaks TLS (for the still-serves check)")
    # nonreading_bidi_*
    parser.add_argument("--seconds", type=float, default=20.0, help="sending / loop time bound (default 20)")
    parser.add_argument("--max-mib", type=float, default=640.0, help="nonreading_bidi: stop after this much (default 640)")
    parser.add_argument("--message-kib", type=int, default=64, help="nonreading_bidi: request payload size (default 64)")
    parser.add_argument("--aligned", action="store_true",
                        help="nonreading_bidi_benign: messages of exactly --message-kib on the wire, frames cut at message boundaries")
    parser.add_argument("--response-kib", type=int, default=1024, help="nonreading_bidi: the response the handler is blocked on (default 1024)")
    parser.add_argument("--stall-seconds", type=float, default=3.0, help="nonreading_bidi: give up after this long without window (default 3)")
    # silent_sockets
    parser.add_argument("--connections", type=int, default=300, help="silent_sockets: how many (default 300)")
    parser.add_argument("--hold", type=float, default=None,
                        help="silent_sockets: hold time (default 15); silent_server_client: max wait (default 60)")
    parser.add_argument("--open-seconds", type=float, default=30.0, help="silent_sockets: bound on opening them (default 30)")
    parser.add_argument("--call-timeout", type=float, default=25.0, help="silent_sockets: the real call's timeout (default 25)")
    # half_*
    parser.add_argument("--wait", type=float, default=40.0, help="half_*: how long to wait for the close (default 40)")
    parser.add_argument("--half-connections", type=int, default=1, help="half_*: how many such connections (default 1)")
    # rapid_reset
    parser.add_argument("--path", help="rapid_reset: the method (default UnaryCall / Echo/Unary)")
    parser.add_argument("--reset-delay", type=float, default=0.0,
                        help="rapid_reset: milliseconds between a stream's request and its reset (default 0: same write)")
    parser.add_argument("--iterations", type=int, default=2000, help="rapid_reset: bound (default 2000)")
    parser.add_argument("--response-size", type=int, default=None,
                        help="rapid_reset: UnaryCall's response_size (default 1 MiB) / Echo's request payload bytes (default 0)")
    parser.add_argument("--reconnect", action="store_true",
                        help="rapid_reset: after a GOAWAY or close, go on on a new connection (up to --max-connections)")
    parser.add_argument("--max-connections", type=int, default=100, help="rapid_reset --reconnect: bound (default 100)")
    parser.add_argument("--settle", type=float, default=3.0, help="rapid_reset: keep measuring this long after the loop (default 3)")
    # silent_server_client
    parser.add_argument("--linger", type=float, default=1.0,
                        help="silent_server_client: after the last client left, wait this long for another (default 1)")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.scenario is None or (args.port is None and args.scenario != "silent_server_client"):
        parser.error("--scenario and --port are required")
    if args.hold is None:
        args.hold = 60.0 if args.scenario == "silent_server_client" else 15.0
    if args.port is None:
        args.port = 0
    if args.response_size is None:
        args.response_size = 1024 * 1024 if args.service == "test" else 0
    # Every bound is a bound: refuse values that would make a run unbounded in practice.
    for name in ("seconds", "hold", "wait", "call_timeout", "open_seconds", "stall_seconds", "settle"):
        if not 0 <= getattr(args, name) <= 600:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 600 seconds")
    if not 0 < args.max_connections <= 10000 or not 0 < args.connections <= 20000 or not 0 < args.half_connections <= 1000 or not 0 < args.iterations <= 1_000_000:
        parser.error("--connections, --half-connections and --iterations must be positive and bounded")
    if args.message_kib < 1 or args.message_kib > 4096:
        parser.error("--message-kib must be between 1 and 4096")

    server = ServerProcess(args.pid)
    result = {"scenario": args.scenario, "port": args.port, "pid": args.pid}
    status = 0
    started = time.monotonic()
    try:
        result.update(SCENARIOS[args.scenario](args, server))
    except Exception as error:  # report, never hang or dump a bare traceback
        result["error"] = f"{type(error).__name__}: {error}"
        status = 1
    if args.scenario != "silent_server_client":
        try:
            ok, seconds, detail = probe_call(args.port, Service(args.service), tls=args.tls)
            result["server_still_serves"] = ok
            result["still_serves_call_seconds"] = seconds
            if detail:
                result["still_serves_detail"] = detail
        except Exception as error:
            result["server_still_serves"] = False
            result.setdefault("error", f"still-serves check: {type(error).__name__}: {error}")
        result["server_alive"] = server.alive() if args.pid is not None else None
    result["elapsed_seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result, sort_keys=True), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
