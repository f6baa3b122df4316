import ExampleProtos
import ExampleService
import Foundation
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Connect and gRPC-Web on a server port, against real peers: the `connectrpc` Python client
/// (Connect's conformance-tested implementation) in every protocol and codec, over h2c and
/// TLS; curl for what a client library hides (status lines, CORS, bad input).
@Suite("Web protocols against connectrpc and curl")
struct WebPeerTests {
    static func webConfiguration(
        _ base: HTTP2ServerTransport.Configuration = .defaults, origins: Set<String> = []
    ) -> HTTP2ServerTransport.Configuration {
        var configuration = base
        configuration.web = WebProtocolsConfiguration(cors: CORSPolicy(allowedOrigins: origins))
        return configuration
    }

    @Test("connectrpc's client: unary, server streaming, errors, limits", arguments: [
        ("connect", "json"), ("connect", "proto"), ("grpc-web", "json"), ("grpc-web", "proto"),
    ])
    func connectrpcPlaintext(_ protocolName: String, _ codec: String) async throws {
        try await withHTTP2Server(services: [Greeter()], configuration: Self.webConfiguration()) { transport in
            let result = try await runProcess("python3", [
                "tools/interop/connect_client.py", "--url", "http://127.0.0.1:\(transport.port)", "--scenario", "greeter",
                "--protocol", protocolName, "--codec", codec, "--oversized-bytes", String(5 * 1024 * 1024),
            ])
            #expect(result.status == 0 && result.output.contains("all ok"), "\(protocolName)/\(codec): \(result.output)")
        }
    }

    @Test("connectrpc's client over TLS (ALPN h2), Connect and gRPC-Web")
    func connectrpcTLS() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [Greeter()], configuration: Self.webConfiguration(certs.serverConfiguration())) { transport in
            for protocolName in ["connect", "grpc-web"] {
                let result = try await runProcess("python3", [
                    "tools/interop/connect_client.py", "--url", "https://127.0.0.1:\(transport.port)", "--cacert", certs.ca,
                    "--scenario", "greeter", "--protocol", protocolName, "--codec", "json",
                ])
                #expect(result.status == 0 && result.output.contains("all ok"), "\(protocolName) over TLS: \(result.output)")
            }
        }
    }

    @Test("curl: Connect JSON by POST, its error shape, bad input answered 4xx, gRPC still served on the port")
    func curlShapes() async throws {
        try await withHTTP2Server(services: [Greeter()], configuration: Self.webConfiguration()) { transport in
            let url = "http://127.0.0.1:\(transport.port)/oo.example.v1.Greeter"
            let ok = try await curl(["-H", "content-type: application/json", "-d", #"{"name":"ada"}"#, "\(url)/SayHello"])
            #expect(ok.status == 200 && ok.body == #"{"message":"Hello, ada!"}"#, "\(ok)")

            let invalid = try await curl(["-H", "content-type: application/json", "-d", #"{"name":""}"#, "\(url)/SayHello"])
            #expect(invalid.status == 400 && invalid.body.contains(#""code":"invalid_argument""#), "\(invalid)")

            let unknownField = try await curl(["-H", "content-type: application/json", "-d", #"{"nmae":"ada"}"#, "\(url)/SayHello"])
            #expect(unknownField.status == 400 && unknownField.body.contains("nmae"), "\(unknownField)")

            let malformed = try await curl(["-H", "content-type: application/json", "-d", #"{"name":"#, "\(url)/SayHello"])
            #expect(malformed.status == 400 && malformed.body.contains(#""code":"invalid_argument""#), "\(malformed)")

            let wrongType = try await curl(["-H", "content-type: text/plain", "-d", "hi", "\(url)/SayHello"])
            #expect(wrongType.status == 415 && wrongType.body.contains("application/json"), "\(wrongType)")

            let cut = try await curl([
                "-H", "content-type: application/connect+json", "--data-binary", "@-", "\(url)/SayHelloStream",
            ], stdin: [0, 0, 0, 0, 40] + Array(#"{"name":"ada"}"#.utf8))
            #expect(cut.status == 200 && cut.body.contains("the body ended inside an envelope"), "\(cut)")

            let get = try await curl(["\(url)/SayHello?connect=v1&encoding=json&message=%7B%7D"])
            #expect(get.status == 405 && get.body.contains("NO_SIDE_EFFECTS"), "\(get)")

            let badTimeout = try await curl(["-H", "content-type: application/json", "-H", "connect-timeout-ms: soon", "-d", "{}", "\(url)/SayHello"])
            #expect(badTimeout.status == 400 && badTimeout.body.contains("soon"), "\(badTimeout)")

            // The same port still speaks gRPC to a gRPC client.
            try await withHTTP2Client(port: transport.port) { client in
                let greeter = Oo_Example_V1_Greeter_Client(wrapping: client)
                let reply = try await greeter.sayHello(.with { $0.name = "grpc" })
                #expect(reply.message == "Hello, grpc!")
            }
        }
    }

    @Test("CORS: an allowed origin's preflight is answered and its calls carry the CORS headers; another origin is refused")
    func cors() async throws {
        let allowed = "http://app.localhost:8080"
        try await withHTTP2Server(services: [Greeter()], configuration: Self.webConfiguration(origins: [allowed])) { transport in
            let url = "http://127.0.0.1:\(transport.port)/oo.example.v1.Greeter/SayHello"
            let preflight = try await curl([
                "-X", "OPTIONS", "-H", "origin: \(allowed)", "-H", "access-control-request-method: POST",
                "-H", "access-control-request-headers: content-type, connect-protocol-version", url,
            ])
            #expect(preflight.status == 204 && preflight.headers.contains("access-control-allow-origin: \(allowed)"), "\(preflight)")
            #expect(preflight.headers.contains("connect-protocol-version"), "\(preflight)")

            let call = try await curl(["-H", "origin: \(allowed)", "-H", "content-type: application/json", "-d", #"{"name":"ada"}"#, url])
            #expect(call.status == 200 && call.headers.contains("access-control-allow-origin: \(allowed)"), "\(call)")
            #expect(call.headers.contains("access-control-expose-headers:"), "\(call)")

            let other = try await curl([
                "-X", "OPTIONS", "-H", "origin: https://evil.example", "-H", "access-control-request-method: POST", url,
            ])
            #expect(other.status == 403 && !other.headers.contains("access-control-allow-origin"), "\(other)")
            let otherCall = try await curl(["-H", "origin: https://evil.example", "-H", "content-type: application/json", "-d", "{}", url])
            #expect(otherCall.status == 403, "\(otherCall)")
        }
    }

    @Test("a gRPC-only port (web protocols off) refuses Connect as before: 415 with a gRPC status")
    func grpcOnly() async throws {
        try await withHTTP2Server(services: [Greeter()]) { transport in
            let response = try await curl([
                "-H", "content-type: application/json", "-d", "{}", "http://127.0.0.1:\(transport.port)/oo.example.v1.Greeter/SayHello",
            ])
            #expect(response.status == 415 && response.headers.contains("grpc-status:"), "\(response)")
        }
    }

    struct CurlResponse: CustomStringConvertible {
        var status: Int
        var headers: String
        var body: String
        var description: String { "HTTP \(status)\n\(headers)\n\(body)" }
    }

    /// curl with HTTP/2 prior knowledge: the status, the header lines (lower-cased) and the body.
    func curl(_ arguments: [String], stdin: [UInt8]? = nil) async throws -> CurlResponse {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerFile = directory.appendingPathComponent("headers").path
        let bodyFile = directory.appendingPathComponent("body").path
        var args = ["-s", "--http2-prior-knowledge", "--max-time", "20", "-D", headerFile, "-o", bodyFile]
        var final = arguments
        if let stdin {
            let input = directory.appendingPathComponent("stdin").path
            FileManager.default.createFile(atPath: input, contents: Data(stdin))
            final = arguments.map { $0 == "@-" ? "@\(input)" : $0 }
        }
        args += final
        let result = try await runProcess("curl", args)
        #expect(result.status == 0, "curl \(arguments): \(result.output)")
        let headers = ((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "").lowercased()
        let body = (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? ""
        let status = headers.split(separator: "\n").first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        return CurlResponse(status: status, headers: headers, body: body.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
