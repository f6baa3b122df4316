import Foundation
import OOMesh
import OOMeshHTTP2
import OOSchema
import RegistryProtos
import SwiftProtobuf

/// Fetches schemas by id from a running schema registry.
enum RegistryLookup {
    /// The schemas with `ids` (unknown ids are left out), from the registry at `address`
    /// (`host:port`).
    static func fetch(ids: Set<String>, from address: String) async throws -> [String: SchemaSet] {
        guard !ids.isEmpty else { return [:] }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw FeatureLogError(message: "--registry must be host:port, got '\(address)'.")
        }
        let transport = try HTTP2ClientTransport(host: String(address[..<colon]), port: port)
        return try await withGRPCClient(transport: transport) { client in
            let registry = Oo_Registry_V1_SchemaRegistry_Client(wrapping: client)
            var found: [String: SchemaSet] = [:]
            for id in ids.sorted() {
                do {
                    let response = try await registry.getSchema(.with { $0.schemaID = id }, options: CallOptions(timeout: .seconds(10)))
                    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: response.fileDescriptorSet)
                    found[id] = SchemaSet(descriptorSet: set)
                } catch let error as RPCError where error.code == .notFound {
                    continue
                }
            }
            return found
        }
    }
}
