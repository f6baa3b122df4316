#!/usr/bin/env python3
"""gRPC interop test server (grpc.testing.TestService) written with grpcio.

Reference peer for oO mesh's interop tests. Implements the server features of
gRPC's doc/interop-test-descriptions.md:

  EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall,
  StreamingInputCall, FullDuplexCall, HalfDuplexCall, Echo Status,
  Echo Metadata, CompressedResponse, ResponseParameters.interval_us.

UnimplementedCall and grpc.testing.UnimplementedService are deliberately left
unimplemented (the client tests expect UNIMPLEMENTED from them).

Echo Metadata works on every method but UnimplementedCall (as grpc-java's
server does; gRPC's C++ server echoes on EmptyCall, UnaryCall and
FullDuplexCall only).

Usage:
  python3 py_server.py --port 50051 [--use_tls=false]
  python3 py_server.py --port 50051 --use_tls=true [--cert_file F --key_file K]

gRPC's standard server flags, spelled --flag=value or --flag value (booleans
also bare: --use_tls). With --use_tls=true and no --cert_file/--key_file it
serves gRPC's interop test certificate server1 (*.test.google.fr, signed by the
test CA; Sources/InteropTesting/TestCredentials/), as gRPC's interop servers
do. Listens on loopback (127.0.0.1, plus [::1] when available). Prints "ready"
on stdout (flushed) once listening; with --port 0 the chosen port is reported
on stderr. Exits cleanly (status 0) on SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
from concurrent import futures

import grpc

import interop_protos

empty_pb2, messages_pb2, test_pb2_grpc = interop_protos.load()

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

# gRPC's interop test credentials, kept with the Swift interop targets.
TEST_CREDENTIALS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Sources", "InteropTesting", "TestCredentials")

# Numeric gRPC status code -> grpc.StatusCode, for echoing EchoStatus.code.
STATUS_BY_CODE = {status.value[0]: status for status in grpc.StatusCode}

# Identifies this server process in SimpleResponse.server_id (fill_server_id).
SERVER_ID = f"oo-mesh-py-server-{socket.gethostname()}-{os.getpid()}"


# ---------------------------------------------------------------------------
# Helpers shared by the handlers
# ---------------------------------------------------------------------------

def echo_metadata(context, extra_initial=()):
    """Echo Metadata: reflect the two special request headers back to the client.

    x-grpc-test-echo-initial is returned (same key and value) as initial metadata,
    x-grpc-test-echo-trailing-bin as trailing metadata. Initial metadata is sent
    right away (with extra_initial, as it can be sent only once), so this must run
    before anything else that could send headers.
    """
    initial, trailing = list(extra_initial), []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == ECHO_TRAILING_KEY:
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def maybe_echo_status(request, context):
    """Echo Status: if the request carries a non-OK response_status, end the RPC with it.

    context.abort raises, so the handler stops processing (and, for streams,
    ignores any further client messages).
    """
    if not request.HasField("response_status"):
        return
    code = request.response_status.code
    if code == 0:
        return  # OK: nothing to echo, serve the request normally.
    status = STATUS_BY_CODE.get(code, grpc.StatusCode.UNKNOWN)
    context.abort(status, request.response_status.message)


def check_response_type(response_type, context):
    """COMPRESSABLE is the only PayloadType; anything else is INVALID_ARGUMENT."""
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"unsupported response_type {response_type}")


def make_payload(size, context):
    """A COMPRESSABLE payload of `size` zero bytes."""
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"negative payload size {size}")
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=b"\0" * size)


class RpcTermination:
    """Lets a handler sleep (interval_us) but wake up as soon as the RPC ends.

    The event is set when the RPC terminates for any reason (completion,
    cancellation, deadline), so sleeping handlers stop promptly.
    """

    def __init__(self, context):
        self._ended = threading.Event()
        if not context.add_callback(self._ended.set):
            self._ended.set()  # the RPC has already terminated

    def sleep_us(self, interval_us):
        """Sleeps interval_us microseconds; returns False if the RPC ended meanwhile."""
        if interval_us > 0:
            self._ended.wait(interval_us / 1_000_000)
        return not self._ended.is_set()


def stream_responses(request, context, termination, per_message_compression):
    """Yields one StreamingOutputCallResponse per ResponseParameters, in order.

    Observes interval_us (a sleep before each response). If
    per_message_compression is set (the call compression is gzip), messages
    whose parameters do not ask for compression are sent uncompressed.
    """
    for params in request.response_parameters:
        if not termination.sleep_us(params.interval_us):
            return
        if per_message_compression and not params.compressed.value:
            context.disable_next_message_compression()
        yield messages_pb2.StreamingOutputCallResponse(
            payload=make_payload(params.size, context))


# ---------------------------------------------------------------------------
# grpc.testing.TestService
# ---------------------------------------------------------------------------

class TestService(test_pb2_grpc.TestServiceServicer):

    def EmptyCall(self, request, context):
        """EmptyCall: immediately returns the empty message."""
        echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        """UnaryCall: returns a payload of response_size bytes.

        Also implements Echo Status, Echo Metadata, CompressedResponse
        (response_compressed) and fill_server_id. fill_username /
        fill_oauth_scope stay empty: this server does no authentication.
        """
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)  # before any headers go out
        echo_metadata(context)
        maybe_echo_status(request, context)
        check_response_type(request.response_type, context)
        response = messages_pb2.SimpleResponse(
            payload=make_payload(request.response_size, context))
        if request.fill_server_id:
            response.server_id = SERVER_ID
        return response

    def CacheableUnaryCall(self, request, context):
        """CacheableUnaryCall: payload is the current time in ns (ASCII), cacheable for 60s."""
        echo_metadata(context, extra_initial=[("cache-control", "max-age=60, public")])
        body = str(time.time_ns()).encode()
        return messages_pb2.SimpleResponse(
            payload=messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=body))

    def StreamingOutputCall(self, request, context):
        """StreamingOutputCall: one response per ResponseParameters, then OK.

        Honours interval_us, per-message `compressed` and Echo Status/Metadata.
        """
        termination = RpcTermination(context)
        compress = any(params.compressed.value for params in request.response_parameters)
        if compress:
            context.set_compression(grpc.Compression.Gzip)  # before any headers go out
        echo_metadata(context)
        maybe_echo_status(request, context)
        check_response_type(request.response_type, context)
        yield from stream_responses(request, context, termination, compress)

    def StreamingInputCall(self, request_iterator, context):
        """StreamingInputCall: on half-close, returns the summed size of all payload bodies."""
        echo_metadata(context)
        total = sum(len(request.payload.body) for request in request_iterator)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        """FullDuplexCall: answers each request as it arrives; OK after the client half-closes.

        A request carrying a non-OK response_status ends the call with that
        status (Echo Status); later requests are not processed.
        """
        termination = RpcTermination(context)
        echo_metadata(context)
        for request in request_iterator:
            maybe_echo_status(request, context)
            check_response_type(request.response_type, context)
            yield from stream_responses(request, context, termination, False)

    def HalfDuplexCall(self, request_iterator, context):
        """HalfDuplexCall: buffers every request until half-close, then answers them in order."""
        termination = RpcTermination(context)
        echo_metadata(context)
        requests = list(request_iterator)
        for request in requests:
            maybe_echo_status(request, context)
            check_response_type(request.response_type, context)
            yield from stream_responses(request, context, termination, False)

    def UnimplementedCall(self, request, context):
        """Not implemented by design (unimplemented_method test).

        Answering UNIMPLEMENTED explicitly gives the same wire result as the
        generated base class, without it logging a NotImplementedError traceback.
        """
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def parse_bool(text):
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {text!r}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True,
                        help="port to listen on (0 picks a free one, reported on stderr)")
    parser.add_argument("--use_tls", type=parse_bool, nargs="?", const=True, default=False,
                        help="serve TLS with --cert_file and --key_file, or else gRPC's test "
                             "certificate server1")
    parser.add_argument("--cert_file", help="with --use_tls: PEM certificate chain")
    parser.add_argument("--compression", choices=["none", "gzip", "deflate"], default="none",
                        help="compress every response message with this encoding")
    parser.add_argument("--key_file", help="with --use_tls: PEM private key")
    parser.add_argument("--client_ca_file",
                        help="with --use_tls: require client certificates signed by these CAs")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"py_server: ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr)
    if (args.cert_file is None) != (args.key_file is None):
        parser.error("--cert_file and --key_file go together (with neither, --use_tls=true "
                     "serves gRPC's test certificate server1)")
    if args.use_tls and args.cert_file is None:
        args.cert_file = os.path.join(TEST_CREDENTIALS, "server1.pem")
        args.key_file = os.path.join(TEST_CREDENTIALS, "server1.key")
    return args


def read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


def main(argv):
    args = parse_args(argv)

    server = grpc.server(
        # Each streaming RPC occupies a worker thread for its whole lifetime.
        futures.ThreadPoolExecutor(max_workers=64),
        options=[("grpc.so_reuseport", 0)],  # fail loudly if the port is taken
        compression={"none": grpc.Compression.NoCompression, "gzip": grpc.Compression.Gzip,
                     "deflate": grpc.Compression.Deflate}[args.compression],
    )
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    # grpc.testing.UnimplementedService is intentionally not registered.

    if args.use_tls:
        client_ca = read_file(args.client_ca_file) if args.client_ca_file else None
        credentials = grpc.ssl_server_credentials(
            [(read_file(args.key_file), read_file(args.cert_file))],
            root_certificates=client_ca, require_client_auth=client_ca is not None)
        add_port = lambda address: server.add_secure_port(address, credentials)
    else:
        add_port = server.add_insecure_port
    try:
        port = add_port(f"127.0.0.1:{args.port}")
    except RuntimeError as error:  # grpcio raises when the address cannot be bound
        print(f"py_server: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    try:
        add_port(f"[::1]:{port}")  # best effort: IPv6 loopback too
    except RuntimeError:
        pass  # no IPv6 loopback on this machine
    server.start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    if args.port == 0:
        print(f"py_server: listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    print("ready", flush=True)

    while not stop.wait(0.5):  # short waits, so the signal handler runs promptly
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
