#!/usr/bin/env python3
"""A grpcurl-style client on grpcio's reflection client: what the tests use to show that a
standard gRPC tool can list, describe and call an oO service knowing nothing but its address.

    reflection_client.py list HOST:PORT
        one line of JSON: {"services": [...], "methods": {service: [method, ...]}}
    reflection_client.py call HOST:PORT SERVICE/METHOD JSON [KEY:VALUE ...]
        a unary call with the request given as JSON (protobuf's JSON mapping), metadata
        KEY:VALUE; prints the response as JSON, or {"error": CODE, "message": ...}

Before the command, grpcurl's TLS options: --cacert CA.pem (TLS, verifying the server with
it), --cert CERT.pem --key KEY.pem (mutual TLS). Without them, plaintext h2c.
"""
import json
import sys

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def read(path):
    with open(path, "rb") as file:
        return file.read()


def main():
    arguments = sys.argv[1:]
    tls = {}
    while arguments and arguments[0] in ("--cacert", "--cert", "--key"):
        tls[arguments[0][2:]] = arguments[1]
        arguments = arguments[2:]
    sys.argv = [sys.argv[0]] + arguments
    command, target = sys.argv[1], sys.argv[2]
    if tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(tls["cacert"]) if "cacert" in tls else None,
            private_key=read(tls["key"]) if "key" in tls else None,
            certificate_chain=read(tls["cert"]) if "cert" in tls else None)
        channel = grpc.secure_channel(target, credentials)
    else:
        channel = grpc.insecure_channel(target)
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = DescriptorPool(database)
    if command == "list":
        services = sorted(database.get_services())
        methods = {name: [m.name for m in pool.FindServiceByName(name).methods] for name in services}
        print(json.dumps({"services": services, "methods": methods}))
    elif command == "call":
        service_name, method_name = sys.argv[3].rsplit("/", 1)
        method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        request = json_format.Parse(sys.argv[4], request_class())
        metadata = [tuple(pair.split(":", 1)) for pair in sys.argv[5:]]
        call = channel.unary_unary(
            "/%s/%s" % (service_name, method_name),
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class.FromString)
        try:
            response = call(request, metadata=[(k.strip(), v.strip()) for k, v in metadata], timeout=10)
            print(json_format.MessageToJson(response, indent=None))
        except grpc.RpcError as error:
            print(json.dumps({"error": error.code().name, "message": error.details()}))
    else:
        sys.exit("usage: reflection_client.py list|call HOST:PORT ...")


if __name__ == "__main__":
    main()
