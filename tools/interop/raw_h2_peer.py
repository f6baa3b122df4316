#!/usr/bin/env python3
"""A deliberately misbehaving raw HTTP/2 gRPC peer, for oO mesh's bad-input tests.

Speaks h2c with prior knowledge to 127.0.0.1:PORT using the `h2` library (no
grpcio), so it can send what a real gRPC client never would: broken length
prefixes, wrong content types, invalid headers, half messages followed by a
dropped socket, streams that never read, more streams than the server allows.

Usage:
  python3 raw_h2_peer.py --port 50051 --scenario malformed_length_prefix
  python3 raw_h2_peer.py --list

Prints exactly ONE JSON line on stdout describing what the server did, e.g.

  {"scenario": "...", "status": 200, "grpc_status": 13, "grpc_message": "...",
   "reset": false, "reset_code": null, "server_still_serves": true, ...}

Fields common to every scenario:
  status, grpc_status, grpc_message   the (first) call's :status, grpc-status
                                      (trailers, or the Trailers-Only headers)
                                      and percent-decoded grpc-message; null
                                      when absent
  reset, reset_code                   whether the server reset that stream,
                                      with the RST_STREAM error code
  goaway                              the GOAWAY error code the server sent on
                                      that connection, or null
  server_still_serves                 whether a well-formed EmptyCall on a NEW
                                      connection succeeds afterwards
  cases                               for scenarios with several sub-cases, one
                                      object per case with the fields above
  error                               set only when the peer itself failed
                                      (the exit status is then 1)

Every socket operation has a timeout of at most 10 s and every loop is bounded
by a deadline, so the script always ends.
"""

import argparse
import json
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

SOCKET_TIMEOUT = 10.0
SERVICE = "/grpc.testing.TestService/"


# ---------------------------------------------------------------------------
# gRPC framing and the few protobuf messages needed, encoded by hand
# ---------------------------------------------------------------------------

def grpc_frame(message, compressed=0):
    return struct.pack(">BI", compressed, len(message)) + message


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def simple_request(response_size):
    """grpc.testing.SimpleRequest{response_type: COMPRESSABLE, response_size}."""
    return field_varint(2, response_size)


def streaming_output_request(sizes):
    """grpc.testing.StreamingOutputCallRequest with one ResponseParameters per size."""
    return b"".join(field_bytes(2, field_varint(1, size)) for size in sizes)


def parse_messages(data):
    """Splits a response body into gRPC messages; returns (messages, leftover bytes)."""
    messages = []
    index = 0
    while len(data) - index >= 5:
        _, length = struct.unpack(">BI", data[index:index + 5])
        if len(data) - index - 5 < length:
            break
        messages.append(data[index + 5:index + 5 + length])
        index += 5 + length
    return messages, len(data) - index


def percent_decode(text):
    if text is None or "%" not in text:
        return text
    raw = text.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw):
            try:
                out.append(int(raw[i + 1:i + 3].decode("ascii"), 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------

class StreamState:
    def __init__(self, stream_id):
        self.id = stream_id
        self.headers = None
        self.trailers = None
        self.data = bytearray()
        self.data_bytes = 0
        self.ended = False
        self.reset_code = None

    @property
    def done(self):
        return self.ended or self.reset_code is not None

    def header(self, name):
        for block in (self.trailers, self.headers):
            if block and name in block:
                return block[name]
        return None

    def summary(self):
        status = self.headers.get(":status") if self.headers else None
        grpc_status = self.header("grpc-status")
        messages, leftover = parse_messages(bytes(self.data))
        return {
            "status": int(status) if status is not None else None,
            "grpc_status": int(grpc_status) if grpc_status is not None else None,
            "grpc_message": percent_decode(self.header("grpc-message")),
            "reset": self.reset_code is not None,
            "reset_code": self.reset_code,
            "ended": self.ended,
            "content_type": self.headers.get("content-type") if self.headers else None,
            "trailers_only": self.headers is not None and "grpc-status" in self.headers,
            "messages": len(messages),
            "data_bytes": self.data_bytes,
        }


class Peer:
    """One h2c connection to the server, driven synchronously."""

    def __init__(self, port, settings=None, connection_window=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.begin_on(sock, settings, connection_window)

    def begin_on(self, sock, settings=None, connection_window=None):
        """Begins HTTP/2 (preface and SETTINGS) on a connected socket."""
        self.sock = sock
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        if connection_window:
            self.conn.increment_flow_control_window(connection_window)
        self.streams = {}
        self.server_settings = {}
        self.goaway = None
        self.closed = False
        # The server closed the connection while we were still writing (EPIPE/ECONNRESET):
        # what it sent before may still be read.
        self.write_failed = False
        # "all": hand every received byte back at once (stream and connection windows);
        # "connection": only the connection window (the stream's stays exhausted);
        # "none": never send WINDOW_UPDATE.
        self.window_updates = "all"
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.write_failed:
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                self.write_failed = True

    def close(self, reset=False):
        if reset:
            # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def headers_for(self, path, content_type="application/grpc", extra=()):
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "127.0.0.1"),
            ("content-type", content_type),
            ("te", "trailers"),
        ]
        headers.extend(extra)
        return headers

    def start(self, path, body=None, end=True, content_type="application/grpc", extra=()):
        """Opens a stream: HEADERS, then `body` (raw bytes) as DATA, END_STREAM if `end`."""
        stream_id = self.conn.get_next_available_stream_id()
        self.streams[stream_id] = StreamState(stream_id)
        no_body = body is None or len(body) == 0
        self.conn.send_headers(stream_id, self.headers_for(path, content_type, extra), end_stream=end and no_body)
        if not no_body:
            self.send_data(stream_id, body, end=end)
        self.flush()
        return stream_id

    def send_data(self, stream_id, body, end=False):
        """Queues `body` in frames the peer's max frame size allows (no flow-control wait)."""
        max_frame = self.conn.max_outbound_frame_size
        for offset in range(0, len(body), max_frame):
            chunk = body[offset:offset + max_frame]
            last = offset + max_frame >= len(body)
            self.conn.send_data(stream_id, chunk, end_stream=end and last)

    def pump(self, until, timeout=SOCKET_TIMEOUT):
        """Reads and handles frames until `until()` is true; False on timeout or close."""
        deadline = time.monotonic() + timeout
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return False
            self.sock.settimeout(min(remaining, SOCKET_TIMEOUT))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return until()
            except OSError:
                self.closed = True
                return until()
            if not data:
                self.closed = True
                return until()
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as error:
                self.closed = True
                raise RuntimeError(f"h2 rejected the server's frames: {error!r}")
            for event in events:
                self.handle(event)
            self.flush()
        return True

    def handle(self, event):
        if isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.server_settings[int(code)] = change.new_value
        elif isinstance(event, h2.events.ResponseReceived):
            self.state(event.stream_id).headers = dict(event.headers)
        elif isinstance(event, h2.events.TrailersReceived):
            self.state(event.stream_id).trailers = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            state = self.state(event.stream_id)
            state.data_bytes += len(event.data)
            if len(state.data) < 1 << 20:
                state.data.extend(event.data)
            if event.flow_controlled_length:
                if self.window_updates == "all":
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif self.window_updates == "connection":
                    self.conn.increment_flow_control_window(event.flow_controlled_length)
        elif isinstance(event, h2.events.StreamEnded):
            self.state(event.stream_id).ended = True
        elif isinstance(event, h2.events.StreamReset):
            self.state(event.stream_id).reset_code = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = int(event.error_code)

    def state(self, stream_id):
        if stream_id not in self.streams:
            self.streams[stream_id] = StreamState(stream_id)
        return self.streams[stream_id]

    def wait_settings(self, timeout=SOCKET_TIMEOUT):
        return self.pump(lambda: bool(self.server_settings), timeout)

    def call(self, path, body=None, end=True, timeout=SOCKET_TIMEOUT, **kwargs):
        """One call: start it, wait until it ends or is reset; returns its summary."""
        stream_id = self.start(path, body, end=end, **kwargs)
        state = self.streams[stream_id]
        self.pump(lambda: state.done or self.goaway is not None, timeout)
        result = state.summary()
        result["goaway"] = self.goaway
        result["completed"] = state.done
        return result


def empty_call_ok(peer, timeout=SOCKET_TIMEOUT):
    """A well-formed EmptyCall on `peer`; True when it returns one message and OK."""
    try:
        result = peer.call(SERVICE + "EmptyCall", grpc_frame(b""), timeout=timeout)
    except (OSError, RuntimeError, h2.exceptions.H2Error):
        return False
    return result["grpc_status"] == 0 and result["messages"] == 1 and not result["reset"]


def streaming_input(peer, total, timeout):
    """A StreamingInputCall sending `total` bytes in 16 KiB payloads, honouring flow control."""
    chunk = 16 * 1024
    message = grpc_frame(field_bytes(1, field_bytes(2, b"\x00" * chunk)))
    stream_id = peer.start(SERVICE + "StreamingInputCall", None, end=False)
    state = peer.streams[stream_id]
    deadline = time.monotonic() + timeout
    sent = 0
    while sent < total and time.monotonic() < deadline and not state.done:
        # h2's local_flow_control_window is the smaller of the stream and connection windows.
        if peer.conn.local_flow_control_window(stream_id) < len(message):
            peer.pump(lambda: state.done or peer.conn.local_flow_control_window(stream_id) >= len(message),
                      timeout=max(0.0, deadline - time.monotonic()))
            continue
        peer.send_data(stream_id, message)
        peer.flush()
        sent += chunk
    sent_all = sent >= total
    if sent_all and not state.done:
        peer.conn.end_stream(stream_id)
        peer.flush()
    peer.pump(lambda: state.done, timeout=max(0.1, deadline - time.monotonic()))
    result = state.summary()
    result["sent_all"] = sent_all
    result["bytes_sent"] = sent
    return result


def server_still_serves(port):
    """A well-formed EmptyCall on a NEW connection succeeds."""
    try:
        peer = Peer(port)
    except OSError:
        return False
    try:
        return empty_call_ok(peer)
    finally:
        peer.close()


def one_call(port, path, body, **kwargs):
    peer = Peer(port)
    try:
        return peer.call(path, body, **kwargs)
    finally:
        peer.close()


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

def malformed_length_prefix(port):
    # Declares 10 bytes, delivers 3, then ends the stream.
    body = struct.pack(">BI", 0, 10) + b"\x10\x01\x00"
    return one_call(port, SERVICE + "UnaryCall", body)


def message_longer_than_declared(port):
    # Declares 2 bytes (a valid SimpleRequest{response_size: 1}) but sends 5: the 3 extra
    # bytes are the start of a second length prefix that never completes.
    body = struct.pack(">BI", 0, 2) + simple_request(1) + b"\x00\x00\x00"
    return one_call(port, SERVICE + "UnaryCall", body)


def oversized_length_prefix(port):
    # Declares 4 GiB - 1, sends a few KiB of it and does not end the stream: the server
    # must answer from the prefix alone.
    body = struct.pack(">BI", 0, 0xFFFFFFFF) + b"\x00" * 4096
    started = time.monotonic()
    result = one_call(port, SERVICE + "UnaryCall", body, end=False)
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def wrong_content_type(port):
    return one_call(port, SERVICE + "EmptyCall", grpc_frame(b""), content_type="text/plain")


def unknown_method(port):
    cases = []
    for path in (SERVICE + "Nope", "/no.Such/Thing"):
        result = one_call(port, path, grpc_frame(b""))
        result["case"] = path
        cases.append(result)
    return dict(cases[0], cases=cases)


def invalid_timeout(port):
    cases = []
    for value in ("bogus", "123456789S"):
        result = one_call(port, SERVICE + "EmptyCall", grpc_frame(b""), extra=[("grpc-timeout", value)])
        result["case"] = value
        cases.append(result)
    return dict(cases[0], cases=cases)


def abrupt_close_mid_message(port):
    # Half of a 100-byte message, then the socket goes: once with FIN, once with RST.
    cases = []
    for reset in (False, True):
        peer = Peer(port)
        peer.wait_settings()
        peer.start(SERVICE + "UnaryCall", struct.pack(">BI", 0, 100) + b"\x00" * 50, end=False)
        time.sleep(0.2)
        peer.close(reset=reset)
        cases.append({"case": "rst" if reset else "fin", "server_still_serves": server_still_serves(port)})
    return {"cases": cases}


def ping_flood(port, pings=10):
    """PINGs 20 ms apart with no call open: the server should answer the first few, then
    end the connection with GOAWAY(ENHANCE_YOUR_CALM) ("too_many_pings")."""
    peer = Peer(port)
    try:
        peer.wait_settings()
        sent = 0
        for index in range(pings):
            if peer.goaway is not None or peer.closed:
                break
            peer.conn.ping(struct.pack(">Q", index))
            peer.flush()
            sent += 1
            peer.pump(lambda: peer.goaway is not None, timeout=0.02)
        peer.pump(lambda: peer.goaway is not None or peer.closed, timeout=2.0)
        closed = peer.pump(lambda: peer.closed, timeout=2.0)
        return {"goaway": peer.goaway, "pings_sent": sent, "connection_closed": closed or peer.closed}
    finally:
        peer.close()


def silent_peer(port, wait_seconds=3.0):
    """Connects, then neither reads nor writes: a server with keepalive PINGs it, gets no
    ACK and closes the connection. Reports how long until the socket was closed."""
    peer = Peer(port)
    try:
        peer.wait_settings()
        peer.pump(lambda: False, timeout=0.1)  # SETTINGS ACK exchanged
        start = time.monotonic()
        time.sleep(wait_seconds)  # not reading: no PING ACK goes out
        # Now drain what the server sent; the connection must be over.
        closed = peer.pump(lambda: peer.closed, timeout=1.0)
        return {"connection_closed": closed or peer.closed, "seconds": round(time.monotonic() - start, 3)}
    finally:
        peer.close()


def never_reads(port, hold_seconds=3.0):
    """Streams asking for 200 x 256 KiB that are never read.

    flow_control: the peer reads frames but never sends a stream WINDOW_UPDATE (the stream
    window stays at 65,535 bytes; connection credit is returned, so another call on the
    same connection must still be answered). tcp: the peer opens huge windows, then never reads the socket at all,
    so the server's writes fill the kernel buffers and block.
    """
    sizes = [256 * 1024] * 200
    request = grpc_frame(streaming_output_request(sizes))

    stuck_fc = Peer(port)
    # Never a stream WINDOW_UPDATE; the connection window is handed back, so that other
    # calls on this same connection can still be answered.
    stuck_fc.window_updates = "connection"
    fc_stream = stuck_fc.start(SERVICE + "StreamingOutputCall", request)

    big = 2 ** 31 - 1
    stuck_tcp = Peer(port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: big},
                     connection_window=big - 65535)
    tcp_duplex = stuck_tcp.start(SERVICE + "FullDuplexCall", request, end=False)

    # Let the server run into both walls.
    stuck_fc.pump(lambda: False, timeout=1.0)
    time.sleep(0.5)

    # While both are stuck, other clients are served.
    concurrent_ok = True
    concurrent_calls = 0
    deadline = time.monotonic() + hold_seconds
    while time.monotonic() < deadline and concurrent_calls < 20:
        concurrent_ok = concurrent_ok and server_still_serves(port)
        concurrent_calls += 1
        time.sleep(0.1)
    # The flow-control-stuck peer also still gets service on its own connection.
    same_connection_ok = empty_call_ok(stuck_fc)
    fc_received = stuck_fc.streams[fc_stream].data_bytes
    stuck_fc.close()
    stuck_tcp.close(reset=True)
    result = {
        "concurrent_calls": concurrent_calls,
        "concurrent_call_ok": concurrent_ok,
        "same_connection_call_ok": same_connection_ok,
        "flow_control_stream_bytes_received": fc_received,
        "tcp_stream_id": tcp_duplex,
        "requested_bytes": sum(sizes),
    }
    return result


def compressed_flag_without_encoding(port):
    return one_call(port, SERVICE + "EmptyCall", grpc_frame(b"", compressed=1))


def decompression_bomb(port):
    """A gzip message of ~64 KiB that inflates to 64 MiB, far over the 4 MiB limit."""
    import gzip
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)
    return one_call(port, SERVICE + "UnaryCall", grpc_frame(bomb, compressed=1),
                    extra=[("grpc-encoding", "gzip")])


def unsupported_encoding(port):
    peer = Peer(port)
    try:
        stream_id = peer.start(SERVICE + "EmptyCall", grpc_frame(b""), extra=[("grpc-encoding", "snappy")])
        state = peer.streams[stream_id]
        peer.pump(lambda: state.done)
        result = state.summary()
        result["grpc_accept_encoding"] = state.header("grpc-accept-encoding")
        return result
    finally:
        peer.close()


def bad_base64_metadata(port):
    return one_call(port, SERVICE + "EmptyCall", grpc_frame(b""), extra=[("x-foo-bin", "!!!")])


def many_streams(port, extra_streams=8):
    """Opens SETTINGS_MAX_CONCURRENT_STREAMS long-lived calls, then `extra_streams` more."""
    peer = Peer(port)
    try:
        if not peer.wait_settings():
            raise RuntimeError("the server sent no SETTINGS")
        limit = peer.server_settings.get(int(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS))
        if limit is None or limit > 4096:
            raise RuntimeError(f"server's SETTINGS_MAX_CONCURRENT_STREAMS is {limit}; refusing to open that many")
        # Let the server's SETTINGS be acknowledged before going over its limit.
        peer.pump(lambda: False, timeout=0.3)

        # `limit` FullDuplexCalls left open (no message, no END_STREAM): each holds a slot.
        held = [peer.start(SERVICE + "FullDuplexCall", None, end=False) for _ in range(limit)]
        peer.pump(lambda: False, timeout=0.5)
        early_failures = [s for s in held if peer.streams[s].done]

        # h2 enforces the server's limit on our side too; lift its copy to go over it.
        peer.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].clear()
        peer.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].append(limit + extra_streams + 10)
        excess = [peer.start(SERVICE + "EmptyCall", grpc_frame(b""), end=True) for _ in range(extra_streams)]
        peer.pump(lambda: all(peer.streams[s].done for s in excess) or peer.goaway is not None, timeout=5.0)
        excess_states = [peer.streams[s].summary() for s in excess]

        # The held calls still work: one ping-pong on the first, then end them all.
        first = held[0]
        pingpong_ok = False
        if peer.goaway is None and not peer.closed:
            peer.conn.send_data(first, grpc_frame(streaming_output_request([10])))
            peer.flush()
            peer.pump(lambda: peer.streams[first].data_bytes >= 5 + 12 or peer.streams[first].done, timeout=5.0)
            pingpong_ok = parse_messages(bytes(peer.streams[first].data))[0].__len__() == 1
            for stream_id in held:
                if not peer.streams[stream_id].done:
                    peer.conn.end_stream(stream_id)
            peer.flush()
            peer.pump(lambda: all(peer.streams[s].done for s in held) or peer.goaway is not None, timeout=10.0)
        held_ok = sum(1 for s in held if peer.streams[s].summary()["grpc_status"] == 0)

        # The connection is still usable for new calls.
        if peer.goaway is None and not peer.closed:
            peer.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].clear()
            peer.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].append(limit)
            connection_usable = empty_call_ok(peer)
        else:
            connection_usable = False
        refused = [s for s in excess_states if s["reset_code"] == 7]  # REFUSED_STREAM
        first_excess = excess_states[0] if excess_states else {}
        return {
            "max_concurrent_streams": limit,
            "held_streams": len(held),
            "held_failed_early": len(early_failures),
            "held_completed_ok": held_ok,
            "pingpong_on_held_stream_ok": pingpong_ok,
            "excess_streams": len(excess),
            "excess_refused": len(refused),
            "excess_reset_codes": [s["reset_code"] for s in excess_states],
            "excess_grpc_statuses": [s["grpc_status"] for s in excess_states],
            "reset": first_excess.get("reset"),
            "reset_code": first_excess.get("reset_code"),
            "goaway": peer.goaway,
            "connection_closed": peer.closed or peer.write_failed,
            "connection_usable": connection_usable,
        }
    finally:
        peer.close()


def connection_window_leak(port, rounds=10, messages_per_round=60):
    """Request bytes a handler never reads must still be returned to the connection window.

    Each round opens a FullDuplexCall on the SAME connection whose first request asks for a
    2 MiB response; our stream window is 1 byte, so the handler blocks writing it and reads
    nothing more. We then send `messages_per_round` 16 KiB messages (~1 MiB, inside the
    server's 1 MiB stream window) and reset the stream. Those bytes sit unread in the
    server's inbox. After `rounds` rounds (~10 MiB > the 8 MiB connection window), an
    EmptyCall on the same connection must still get through.
    """
    peer = Peer(port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    try:
        peer.wait_settings()
        peer.pump(lambda: False, timeout=0.3)
        payload = grpc_frame(b"\x00" * (16384 - 5))  # one message per DATA frame
        sent_total = 0
        stalled_round = None
        for round_index in range(rounds):
            stream_id = peer.start(SERVICE + "FullDuplexCall", grpc_frame(streaming_output_request([2 * 1024 * 1024])), end=False)
            # Wait until the server has started answering (the handler is now blocked writing).
            peer.pump(lambda: peer.streams[stream_id].headers is not None or peer.streams[stream_id].done, timeout=5.0)
            sent = 0
            deadline = time.monotonic() + 3.0
            while sent < messages_per_round and time.monotonic() < deadline:
                if peer.conn.local_flow_control_window(stream_id) < len(payload):
                    peer.pump(lambda: peer.conn.local_flow_control_window(stream_id) >= len(payload), timeout=deadline - time.monotonic())
                    continue
                peer.conn.send_data(stream_id, payload)
                peer.flush()
                sent += 1
            sent_total += sent * len(payload)
            if sent < messages_per_round and stalled_round is None:
                stalled_round = round_index
            peer.pump(lambda: False, timeout=0.2)  # let the server take them in
            peer.conn.reset_stream(stream_id, error_code=8)  # CANCEL
            peer.flush()
            peer.pump(lambda: False, timeout=0.1)
        peer.pump(lambda: False, timeout=0.3)  # collect any late WINDOW_UPDATEs
        window = peer.conn.outbound_flow_control_window
        peer.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
        peer.flush()
        # 1 MiB on a new stream of the same connection, to a handler that reads it all.
        final = streaming_input(peer, total=1024 * 1024, timeout=5.0)
        return {
            "rounds": rounds,
            "bytes_sent": sent_total,
            "stalled_round": stalled_round,
            "connection_window_left": window,
            "same_connection_call_ok": final["grpc_status"] == 0 and final["sent_all"],
            "final_call": final,
            "goaway": peer.goaway,
        }
    finally:
        peer.close()


SCENARIOS = {
    "malformed_length_prefix": malformed_length_prefix,
    "message_longer_than_declared": message_longer_than_declared,
    "oversized_length_prefix": oversized_length_prefix,
    "wrong_content_type": wrong_content_type,
    "unknown_method": unknown_method,
    "invalid_timeout": invalid_timeout,
    "abrupt_close_mid_message": abrupt_close_mid_message,
    "never_reads": never_reads,
    "compressed_flag_without_encoding": compressed_flag_without_encoding,
    "unsupported_encoding": unsupported_encoding,
    "decompression_bomb": decompression_bomb,
    "ping_flood": ping_flood,
    "silent_peer": silent_peer,
    "bad_base64_metadata": bad_base64_metadata,
    "many_streams": many_streams,
    "connection_window_leak": connection_window_leak,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--list", action="store_true", help="print the scenario names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.port is None or args.scenario is None:
        parser.error("--port and --scenario are required")
    result = {"scenario": args.scenario}
    status = 0
    started = time.monotonic()
    try:
        result.update(SCENARIOS[args.scenario](args.port))
    except Exception as error:  # report, never hang or dump a bare traceback
        result["error"] = f"{type(error).__name__}: {error}"
        status = 1
    try:
        result["server_still_serves"] = server_still_serves(args.port)
    except Exception as error:
        result["server_still_serves"] = False
        result.setdefault("error", f"still-serves check: {type(error).__name__}: {error}")
    result["elapsed_seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result, sort_keys=True), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
