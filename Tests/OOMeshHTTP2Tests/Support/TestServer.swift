import OOMesh
import OOMeshHTTP2

/// Runs `body` with a server for `services` listening on a free loopback port, then shuts
/// the server down gracefully and waits for it to finish.
func withHTTP2Server<Result: Sendable>(
    services: [any RPCService],
    configuration: HTTP2ServerTransport.Configuration = .defaults,
    interceptors: [any ServerInterceptor] = [],
    _ body: (HTTP2ServerTransport) async throws -> Result
) async throws -> Result {
    // Shared: servers run side by side, but never while a resource test measures.
    try await withProcessResourceGate(exclusive: false) {
        try await runHTTP2Server(services: services, configuration: configuration, interceptors: interceptors, body)
    }
}

private func runHTTP2Server<Result: Sendable>(
    services: [any RPCService],
    configuration: HTTP2ServerTransport.Configuration,
    interceptors: [any ServerInterceptor],
    _ body: (HTTP2ServerTransport) async throws -> Result
) async throws -> Result {
    let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0, configuration: configuration)
    let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        try await server.waitUntilListening()
        do {
            let result = try await body(transport)
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// Runs `body` with a client connected to `port` on loopback.
func withHTTP2Client<Result: Sendable>(
    port: Int, configuration: HTTP2ClientTransport.Configuration = .defaults,
    _ body: (GRPCClient) async throws -> Result
) async throws -> Result {
    try await withProcessResourceGate(exclusive: false) {
        try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: port, configuration: configuration), body)
    }
}
