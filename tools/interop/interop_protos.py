"""Runtime generation and loading of the Python stubs for gRPC's interop protos.

Shared by py_server.py and py_client.py. The .proto files live in the
repository's Proto/ directory (Proto/grpc/testing/{empty,messages,test}.proto);
this module compiles them with grpc_tools.protoc into a cache directory,
<repo>/.interop-py/<key>/ (git-ignored), and imports the result. <key> is a
hash of the proto contents and the tool versions, so editing a proto or
upgrading grpcio-tools regenerates the stubs automatically. Generated Python is
never committed.

The protos use the package path grpc/testing/, so protoc names the generated
modules grpc.testing.*_pb2. That collides with grpcio's own top-level `grpc`
package, so instead of putting the cache directory on sys.path we append its
grpc/ directory to grpc.__path__, making `grpc.testing` a subpackage that
resolves into the cache (grpcio ships no `grpc.testing` of its own).
"""

import hashlib
import importlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from pathlib import Path

import grpc

# tools/interop/interop_protos.py -> repository root is two levels above tools/interop.
REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "Proto"
CACHE_ROOT = REPO_ROOT / ".interop-py"
PROTO_FILES = (
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
)


def _cache_key():
    """A short hash of everything that influences the generated code."""
    digest = hashlib.sha256()
    for name in PROTO_FILES:
        digest.update(name.encode())
        digest.update((PROTO_ROOT / name).read_bytes())
    for dist in ("grpcio-tools", "protobuf"):
        digest.update(importlib.metadata.version(dist).encode())
    return digest.hexdigest()[:16]


def _generate(out_dir):
    """Runs grpc_tools.protoc over PROTO_FILES, writing into out_dir."""
    from grpc_tools import protoc  # imported lazily: only needed on a cache miss

    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(PROTO_ROOT / name) for name in PROTO_FILES],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed for {PROTO_ROOT}: {' '.join(args)}")
    # Make grpc/testing a regular package (protoc does not emit __init__.py).
    (Path(out_dir) / "grpc" / "testing" / "__init__.py").touch()


def _stub_dir():
    """Returns the cache directory holding up-to-date generated stubs, creating it if needed."""
    target = CACHE_ROOT / _cache_key()
    if not target.is_dir():
        CACHE_ROOT.mkdir(parents=True, exist_ok=True)
        # Generate into a private temporary directory and rename it into place, so
        # a server and a client starting at the same moment never see half-written
        # files; whoever renames second just discards its copy.
        tmp = tempfile.mkdtemp(prefix="tmp-", dir=CACHE_ROOT)
        try:
            _generate(tmp)
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load():
    """Generates (if needed) and imports the stubs.

    Returns the tuple (empty_pb2, messages_pb2, test_pb2_grpc).
    """
    package_dir = str(_stub_dir() / "grpc")
    if package_dir not in grpc.__path__:
        grpc.__path__.append(package_dir)
    empty_pb2 = importlib.import_module("grpc.testing.empty_pb2")
    messages_pb2 = importlib.import_module("grpc.testing.messages_pb2")
    test_pb2_grpc = importlib.import_module("grpc.testing.test_pb2_grpc")
    return empty_pb2, messages_pb2, test_pb2_grpc


if __name__ == "__main__":
    # `python3 interop_protos.py` just (re)generates and reports where the stubs are.
    load()
    print(_stub_dir())
    sys.exit(0)
