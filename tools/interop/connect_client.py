"""Calls an oO mesh server in the Connect or gRPC-Web protocol with the `connectrpc` package
(PyPI; a Connect, gRPC and gRPC-Web implementation that passes Connect's conformance suite),
over pyqwest's HTTP client: HTTP/2 with prior knowledge on plaintext, ALPN on TLS.

    connect_client.py --url http://127.0.0.1:PORT --scenario greeter --protocol connect --codec json
    connect_client.py --url https://127.0.0.1:PORT --cacert ca.pem --scenario gateway --token T ...

Each case prints `ok <case>`; the first failure prints `FAIL <case>: <why>` and exits 1.
The Python message classes are compiled from the repository's Proto/ at run time
(grpc_tools.protoc, into a temporary directory): nothing generated is committed.
"""

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

from connectrpc.client import ConnectClientSync
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.protocol import ProtocolType
import pyqwest

REPO_ROOT = Path(__file__).resolve().parents[2]


def load(proto, module):
    """Compiles Proto/<proto> (and its imports) and imports <module>_pb2."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="oo-connect-py-")
    status = protoc.main(["protoc", f"-I{REPO_ROOT / 'Proto'}", f"--python_out={out}", proto])
    if status != 0:
        raise SystemExit(f"protoc failed on {proto}")
    sys.path.insert(0, out)
    return importlib.import_module(module)


def method(service, name, request, response, stream=StreamType.UNARY, idempotency=IdempotencyLevel.UNKNOWN):
    return MethodInfo(
        name=name, service_name=service, input=request, output=response,
        idempotency_level=idempotency, stream_type=stream)


class Cases:
    def __init__(self, label):
        self.label = label

    def check(self, name, condition, why):
        if not condition:
            print(f"FAIL {self.label} {name}: {why}", flush=True)
            raise SystemExit(1)
        print(f"ok {self.label} {name}", flush=True)

    def expect_error(self, name, code, call):
        try:
            result = call()
            if hasattr(result, "__iter__") and not hasattr(result, "DESCRIPTOR"):
                list(result)
        except ConnectError as error:
            self.check(name, error.code == code, f"expected {code}, got {error.code}: {error.message}")
            return error
        self.check(name, False, f"expected {code}, the call succeeded")


def greeter(client, cases, args):
    pb = load("oo/example/v1/greeter.proto", "oo.example.v1.greeter_pb2")
    service = "oo.example.v1.Greeter"
    say_hello = method(service, "SayHello", pb.HelloRequest, pb.HelloReply)
    stream = method(service, "SayHelloStream", pb.HelloRequest, pb.HelloReply, StreamType.SERVER_STREAM)

    reply = client.execute_unary(request=pb.HelloRequest(name="ada"), method=say_hello)
    cases.check("unary", reply.message == "Hello, ada!", f"got {reply.message!r}")

    replies = [r.message for r in client.execute_server_stream(request=pb.HelloRequest(name="bo", count=3), method=stream)]
    cases.check("server streaming", replies == ["Hello #1, bo!", "Hello #2, bo!", "Hello #3, bo!"], f"got {replies!r}")

    error = cases.expect_error(
        "handler error", Code.INVALID_ARGUMENT, lambda: client.execute_unary(request=pb.HelloRequest(), method=say_hello))
    cases.check("handler error message", "name must not be empty" in error.message, f"got {error.message!r}")

    missing = method(service, "NoSuchMethod", pb.HelloRequest, pb.HelloReply)
    cases.expect_error("unknown method", Code.UNIMPLEMENTED, lambda: client.execute_unary(request=pb.HelloRequest(name="x"), method=missing))

    big = pb.HelloRequest(name="x" * (args.oversized_bytes or 0))
    if args.oversized_bytes:
        cases.expect_error("oversized request", Code.RESOURCE_EXHAUSTED, lambda: client.execute_unary(request=big, method=say_hello))

    # The connection stays usable after every error above.
    reply = client.execute_unary(request=pb.HelloRequest(name="cy"), method=say_hello)
    cases.check("usable after errors", reply.message == "Hello, cy!", f"got {reply.message!r}")


def gateway(client, cases, args):
    pb = load("oo/gateway/v1/gateway.proto", "oo.gateway.v1.gateway_pb2")
    service = "oo.gateway.v1.Gateway"
    headers = {"authorization": f"Bearer {args.token}"}
    get_next = method(service, "GetNextTip", pb.GetNextTipRequest, pb.GetNextTipResponse)
    react = method(service, "React", pb.ReactRequest, pb.ReactResponse)
    list_tips = method(service, "ListTips", pb.ListTipsRequest, pb.ListTipsResponse, idempotency=IdempotencyLevel.NO_SIDE_EFFECTS)
    subscribe = method(service, "SubscribeTips", pb.SubscribeTipsRequest, pb.Tip, StreamType.SERVER_STREAM)

    cases.expect_error(
        "no token", Code.UNAUTHENTICATED, lambda: client.execute_unary(request=pb.GetNextTipRequest(), method=get_next))

    tip = client.execute_unary(request=pb.GetNextTipRequest(), method=get_next, headers=headers).tip
    cases.check("GetNextTip", tip.tip_id != "" and tip.content != "", f"got {tip!r}")

    reaction = client.execute_unary(
        request=pb.ReactRequest(tip_id=tip.tip_id, reaction=pb.REACTION_DONE), method=react, headers=headers)
    cases.check("React", reaction.reward > 0 and not reaction.duplicate, f"got {reaction!r}")

    again = client.execute_unary(
        request=pb.ReactRequest(tip_id=tip.tip_id, reaction=pb.REACTION_DONE), method=react, headers=headers)
    cases.check("React again is a duplicate", again.duplicate, f"got {again!r}")

    if args.protocol == "connect":
        listed = client.execute_unary(request=pb.ListTipsRequest(limit=5), method=list_tips, headers=headers, use_get=True)
        cases.check("ListTips by GET", any(t.tip_id == tip.tip_id for t in listed.tips), f"got {[t.tip_id for t in listed.tips]}")

    # SubscribeTips: the next tip made for this user arrives on the stream.
    import threading

    received = []
    done = threading.Event()

    def watch():
        try:
            for pushed in client.execute_server_stream(request=pb.SubscribeTipsRequest(), method=subscribe, headers=headers, timeout_ms=15000):
                received.append(pushed.tip_id)
                done.set()
                return
        except ConnectError as error:
            received.append(f"error {error.code}: {error.message}")
            done.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    new_tip = None
    for _ in range(50):
        if done.wait(0.2):
            break
        new_tip = client.execute_unary(request=pb.GetNextTipRequest(), method=get_next, headers=headers).tip
    done.wait(10)
    cases.check("SubscribeTips", bool(received) and not received[0].startswith("error") and new_tip is not None, f"got {received!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--scenario", choices=["greeter", "gateway"], required=True)
    parser.add_argument("--protocol", choices=["connect", "grpc-web"], required=True)
    parser.add_argument("--codec", choices=["json", "proto"], default="proto")
    parser.add_argument("--cacert")
    parser.add_argument("--resolve", help="HOST=IP: connect to IP for HOST (TLS names that are not 127.0.0.1)")
    parser.add_argument("--token", default="")
    parser.add_argument("--oversized-bytes", type=int, default=0)
    args = parser.parse_args()

    transport_options = {"http_version": pyqwest.HTTPVersion.HTTP2}
    if args.cacert:
        transport_options["tls_ca_cert"] = Path(args.cacert).read_bytes()
    if args.resolve:
        host, address = args.resolve.split("=", 1)
        transport_options["dns_overrides"] = {host: [address]}
    http = pyqwest.SyncClient(pyqwest.SyncHTTPTransport(**transport_options))
    protocol = ProtocolType.CONNECT if args.protocol == "connect" else ProtocolType.GRPC_WEB
    codec = google_protobuf_json_codec() if args.codec == "json" else google_protobuf_binary_codec()
    client = ConnectClientSync(args.url, codec=codec, protocol=protocol, http_client=http, timeout_ms=10000)
    cases = Cases(f"{args.protocol}/{args.codec}")
    {"greeter": greeter, "gateway": gateway}[args.scenario](client, cases, args)
    print("all ok", flush=True)


if __name__ == "__main__":
    main()
