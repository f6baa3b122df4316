import ArgumentParser
import Foundation
import HealthProtos
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf

/// `oo health host:port [--service NAME]`: a grpc_health_probe-style check. Exits 0 when the
/// service is SERVING, 1 otherwise (printing the status or the error).
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a server's gRPC health (grpc.health.v1): exit 0 when SERVING, 1 otherwise.")

    @Argument(help: "The server's host:port.") var address: String
    @Option(help: "The service to ask about (default: the server overall).") var service = ""
    @Option(help: "Seconds to wait for the answer.") var timeout = 2.0
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let (host, port) = try parseAddress(address, for: "address")
        var configuration = HTTP2ClientTransport.Configuration.defaults
        configuration.tls = try tls.configuration()
        let transport = try HTTP2ClientTransport(host: host, port: port, configuration: configuration)
        let service = self.service
        let timeout = self.timeout
        let status: String = try await withGRPCClient(transport: transport) { client in
            do {
                let response = try await Grpc_Health_V1_Health_Client(wrapping: client).check(
                    .with { $0.service = service }, options: CallOptions(timeout: .milliseconds(Int64(timeout * 1000))))
                return response.status == .serving ? "SERVING" : "\(response.status)"
            } catch {
                return "error: \(error)"
            }
        }
        print("\(address) \(service.isEmpty ? "(overall)" : service): \(status)")
        if status != "SERVING" { throw ExitCode(1) }
    }
}
