import COpenSSL
import Foundation
import SwiftProtobuf

/// A schema's global id, as the registry gives it: the first 128 bits of SHA-256 over the
/// canonical form (files sorted by name, source positions dropped, serialized), in hex. The
/// same schema always gets the same id, whatever its comments, layout or file order.
public enum SchemaIdentity {
    /// The id of `set`.
    public static func id(of set: Google_Protobuf_FileDescriptorSet) -> String {
        var canonical = Google_Protobuf_FileDescriptorSet()
        canonical.file = set.file.map { file in
            var file = file
            file.clearSourceCodeInfo()
            return file
        }.sorted { $0.name < $1.name }
        let bytes: [UInt8] = (try? canonical.serializedBytes()) ?? []
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

extension SchemaSet {
    /// This schema's global id (``SchemaIdentity``).
    public var id: String {
        SchemaIdentity.id(of: Google_Protobuf_FileDescriptorSet.with { $0.file = files })
    }
}
