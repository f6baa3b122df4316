@testable import OOMesh
import Testing

@Suite("MethodDescriptor")
struct MethodDescriptorTests {
    @Test("a valid path parses into service and method", arguments: [
        ("/grpc.testing.TestService/EmptyCall", "grpc.testing.TestService", "EmptyCall"),
        ("/oo.example.v1.Greeter/SayHello", "oo.example.v1.Greeter", "SayHello"),
        ("/Service/M", "Service", "M"),
        ("/pkg.Sérvice/Méthod", "pkg.Sérvice", "Méthod"),  // multi-byte UTF-8 around the slashes
    ])
    func validPath(_ path: String, _ service: String, _ method: String) throws {
        let descriptor = try #require(MethodDescriptor(path: path))
        #expect(descriptor.service == service)
        #expect(descriptor.method == method)
        #expect(descriptor.kind == .bidirectionalStreaming)
        #expect(descriptor.path == path)
        #expect(descriptor.description == path)
    }

    @Test("the kind given is kept", arguments: [RPCKind.unary, .clientStreaming, .serverStreaming, .bidirectionalStreaming])
    func kindIsKept(_ kind: RPCKind) throws {
        let descriptor = try #require(MethodDescriptor(path: "/a.B/C", kind: kind))
        #expect(descriptor.kind == kind)
        #expect(descriptor == MethodDescriptor(service: "a.B", method: "C", kind: kind))
    }

    @Test("malformed paths are rejected", arguments: [
        "",                                  // empty
        "/",                                 // nothing after the slash
        "grpc.testing.TestService/EmptyCall", // missing leading slash
        "grpc.testing.TestService",          // no slashes at all
        "/grpc.testing.TestService",         // no method
        "/grpc.testing.TestService/",        // empty method
        "//EmptyCall",                       // empty service
        "//",                                // both empty
        "/a/b/c",                            // extra segment
        "/a/b/",                             // trailing slash: extra empty segment
        "//a/b",                             // leading empty segment
    ])
    func malformedPath(_ path: String) {
        #expect(MethodDescriptor(path: path) == nil)
    }

    @Test("changing the service or method changes the path")
    func pathFollowsMutation() {
        var descriptor = MethodDescriptor(service: "pkg.Svc", method: "Do")
        descriptor.service = "pkg.Other"
        #expect(descriptor.path == "/pkg.Other/Do")
        descriptor.method = "Undo"
        #expect(descriptor.path == "/pkg.Other/Undo")
        #expect(descriptor == MethodDescriptor(path: "/pkg.Other/Undo"))
    }

    @Test("path is built from service and method")
    func pathFromParts() {
        let descriptor = MethodDescriptor(service: "pkg.Svc", method: "Do", kind: .unary)
        #expect(descriptor.path == "/pkg.Svc/Do")
        #expect(MethodDescriptor(path: descriptor.path, kind: .unary) == descriptor)
        #expect(ServiceDescriptor(fullyQualifiedService: "pkg.Svc").description == "pkg.Svc")
    }
}
