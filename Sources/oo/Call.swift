import ArgumentParser
import Foundation
import OODynamic
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf

/// `oo call`: grpcurl for the mesh. Lists, describes and calls any service of a server that
/// serves gRPC reflection (every oO service does), with requests and responses as JSON.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, describe and call a server's gRPC services with JSON, through server reflection.",
        discussion: """
            oo call HOST:PORT list                      the services, one per line
            oo call HOST:PORT list SERVICE              a service's methods
            oo call HOST:PORT describe [SYMBOL]         a service, method, message or enum (all services without SYMBOL)
            oo call HOST:PORT SERVICE/METHOD -d JSON    a call (SERVICE.METHOD works too); each response prints as one
                                                        JSON line as it arrives (--pretty: indented)

            Client- and bidirectional-streaming methods take several JSON values in -d, separated by whitespace or
            newlines; -d @ reads them from stdin (all of it, before the call starts), -d @FILE from a file. Without
            -d a unary or server-streaming call sends {}. Errors print `ERROR: CODE: message` and exit 1; usage
            errors exit 2. Responses omit fields that hold their default, like grpcurl without --emit-defaults.
            """)

    @Argument(help: "The server, HOST:PORT.")
    var address: String

    @Argument(help: "list, describe, or the method to call: SERVICE/METHOD or SERVICE.METHOD.")
    var action: String

    @Argument(help: "list: the service whose methods to list; describe: the symbol to describe.")
    var symbol: String?

    @Option(name: [.customShort("d"), .customLong("data")], help: "The request(s) as JSON; @ reads stdin, @FILE a file.")
    var data: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: "A request header 'key: value' (repeatable; a -bin key takes base64).")
    var headers: [String] = []

    @Option(help: "The deadline of the call, in seconds (reflection calls default to 30).")
    var timeout: Double?

    @OptionGroup var tls: ClientTLSOptions
    @Flag(help: "Print each response indented over several lines.")
    var pretty = false

    func validate() throws {
        _ = try hostAndPort()
        _ = try metadata()
        if let timeout, !(timeout > 0 && timeout <= 86_400 * 365) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout).")
        }
        switch action {
        case "list", "describe":
            if data != nil { throw ValidationError("-d/--data goes with a method call, not with \(action).") }
        default:
            if symbol != nil { throw ValidationError("Unexpected argument '\(symbol!)' after the method \(action).") }
            do {
                _ = try ResolvedMethod.split(action)
            } catch {
                throw ValidationError("'\(action)' is neither list, describe nor a method: write SERVICE/METHOD, e.g. oo.example.v1.Greeter/SayHello.")
            }
        }
    }

    func run() async throws {
        let (host, port) = try hostAndPort()
        let metadata = try metadata()
        let callOptions = CallOptions(timeout: timeout.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) })
        let reflectionOptions = CallOptions(timeout: callOptions.timeout ?? .seconds(30))
        do {
            var configuration = HTTP2ClientTransport.Configuration.defaults
            configuration.tls = try tls.configuration()
            let transport = try HTTP2ClientTransport(host: host, port: port, configuration: configuration)
            try await withGRPCClient(transport: transport) { client in
                let reflection = ReflectionClient(client: client, metadata: metadata, options: reflectionOptions)
                switch action {
                case "list":
                    try await list(reflection)
                case "describe":
                    try await describe(reflection)
                default:
                    try await call(client: client, reflection: reflection, metadata: metadata, options: callOptions)
                }
            }
        } catch let error as RPCError {
            fail(error.code, error.message)
        } catch let error as ReflectionError {
            fail(error.statusCode, error.message)
        } catch let error as TranscodingError {
            fail(.invalidArgument, error.description)
        } catch let error as CallInputError {
            fail(.invalidArgument, error.message)
        } catch {
            fail(.unknown, "\(error)")
        }
    }

    private func list(_ reflection: ReflectionClient) async throws {
        guard let service = symbol else {
            for name in try await reflection.listServices() { emit(name) }
            return
        }
        var pool = DescriptorPool()
        try await reflection.load(symbol: service, into: &pool)
        guard let serviceType = pool.service(named: service) else {
            throw ReflectionError(code: .notFound, message: "'\(service)' is not a service.")
        }
        for method in serviceType.proto.method { emit("\(serviceType.fullName).\(method.name)") }
    }

    private func describe(_ reflection: ReflectionClient) async throws {
        let symbols: [String]
        if let symbol { symbols = [symbol] } else { symbols = try await reflection.listServices() }
        var pool = DescriptorPool()
        var descriptions: [String] = []
        for name in symbols {
            try await reflection.load(symbol: name, into: &pool)
            guard let description = pool.describe(name) else {
                throw ReflectionError(code: .notFound, message: "Symbol '\(name)' not found in the descriptors the server sent.")
            }
            descriptions.append(description)
        }
        emit(descriptions.joined(separator: "\n\n"))
    }

    private func call(client: GRPCClient, reflection: ReflectionClient, metadata: Metadata, options: CallOptions) async throws {
        let (service, methodName) = try ResolvedMethod.split(action)
        let requests = try JSONValue.parseSequence(try requestText())
        var pool = DescriptorPool()
        try await reflection.load(symbol: service, into: &pool)
        let method = try pool.method(service: service, method: methodName)
        let pretty = self.pretty
        try await DynamicCaller(client: client, pool: pool).call(method, requests: requests, metadata: metadata, options: options) { response in
            emit(response.rendered(pretty: pretty))
        }
    }

    /// The request text: -d's value, stdin for `@`, a file for `@FILE`; empty without -d.
    private func requestText() throws -> String {
        guard let data else { return "" }
        guard data.hasPrefix("@") else { return data }
        let path = String(data.dropFirst())
        if path.isEmpty {
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw CallInputError(message: "Cannot read the requests from '\(path)'.")
        }
        return String(decoding: contents, as: UTF8.self)
    }

    private func hostAndPort() throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            throw ValidationError("Expected the server as HOST:PORT, e.g. 127.0.0.1:50051; got '\(address)'.")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("Expected the server as HOST:PORT; '\(address)' has no host.") }
        return (host, port)
    }

    private func metadata() throws -> Metadata {
        var metadata = Metadata()
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("Expected a header as 'key: value', got '\(header)'.")
            }
            let key = header[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !key.hasPrefix(":"), key.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ValidationError("'\(key)' is not a valid header name (lowercase letters, digits, - _ .).")
            }
            if key.hasSuffix("-bin") {
                guard let bytes = Data(base64Encoded: value) else {
                    throw ValidationError("The binary header '\(key)' needs a base64 value, got '\(value)'.")
                }
                metadata.addBinary(Array(bytes), forKey: key)
            } else {
                metadata.addString(value, forKey: key)
            }
        }
        return metadata
    }
}

/// Requests that cannot be read (a missing `-d @FILE`).
private struct CallInputError: Error {
    var message: String
}

/// Writes a line to stdout unbuffered, so streamed responses show as they arrive.
private func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints `ERROR: CODE: message` to stderr and exits with status 1.
private func fail(_ code: StatusCode, _ message: String) -> Never {
    FileHandle.standardError.write(Data("ERROR: \(code): \(message)\n".utf8))
    exit(1)
}
