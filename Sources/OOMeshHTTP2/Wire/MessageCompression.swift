import CZlib
import OOMesh

/// Compresses and decompresses gRPC messages with system zlib: `gzip` and `deflate`.
///
/// Decompression is bounded: it stops as soon as the output would exceed the receive
/// limit, so a small message that inflates to gigabytes (a decompression bomb) costs at
/// most the limit in memory and is refused with `RESOURCE_EXHAUSTED`.
enum MessageCompression {
    /// The encodings this transport implements, besides identity.
    static let supported: [CompressionAlgorithm] = [.gzip, .deflate]

    /// The `grpc-accept-encoding` value for `algorithms` (identity always included).
    static func acceptEncodingHeader(_ algorithms: [CompressionAlgorithm]) -> String {
        (algorithms.filter { $0 != .identity } + [.identity]).map(\.name).joined(separator: ",")
    }

    /// Parses a `grpc-accept-encoding` value into the algorithms we know.
    static func parseAcceptEncoding(_ value: String?) -> Set<CompressionAlgorithm> {
        guard let value else { return [.identity] }
        var result: Set<CompressionAlgorithm> = [.identity]
        for name in value.split(separator: ",") {
            if let algorithm = CompressionAlgorithm(rawValue: String(name.filter { $0 != " " && $0 != "\t" })) {
                result.insert(algorithm)
            }
        }
        return result
    }

    private static func windowBits(_ algorithm: CompressionAlgorithm) -> Int32 {
        algorithm == .gzip ? 15 + 16 : 15
    }

    /// `bytes` compressed with `algorithm`; nil when that would not make them smaller (the
    /// caller then sends the message uncompressed, with the compressed flag clear).
    static func compress(_ bytes: [UInt8], with algorithm: CompressionAlgorithm) -> [UInt8]? {
        guard algorithm != .identity, !bytes.isEmpty else { return nil }
        var stream = z_stream()
        guard oo_deflate_init(&stream, windowBits(algorithm)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        // Not worth it unless it saves something: the output may be at most input - 1.
        var output = [UInt8](repeating: 0, count: bytes.count - 1)
        guard !output.isEmpty else { return nil }
        let result: Int32 = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END else { return nil }  // Z_OK / Z_BUF_ERROR: would not shrink
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// `bytes` decompressed with `algorithm`, refusing output beyond `limit` bytes.
    static func decompress(_ bytes: [UInt8], with algorithm: CompressionAlgorithm, limit: Int) throws(RPCError) -> [UInt8] {
        var stream = z_stream()
        guard oo_inflate_init(&stream, windowBits(algorithm)) == Z_OK else {
            throw RPCError(code: .internal, message: "Could not start \(algorithm.name) decompression.")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(bytes.count * 4, 4096), 256 * 1024))
        var status: Int32 = Z_OK
        try bytes.withUnsafeBufferPointer { (input) throws(RPCError) in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while status != Z_STREAM_END {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END || (status == Z_BUF_ERROR && produced > 0) else {
                    if status == Z_BUF_ERROR {
                        throw RPCError(code: .internal, message: "A \(algorithm.name)-compressed message is truncated.")
                    }
                    throw RPCError(code: .internal, message: "A message is not valid \(algorithm.name) data (zlib error \(status)).")
                }
                guard output.count + produced <= limit else {
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "A \(algorithm.name)-compressed message decompresses to more than the limit of \(limit) bytes.")
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_OK, produced == 0, stream.avail_in == 0 {
                    throw RPCError(code: .internal, message: "A \(algorithm.name)-compressed message is truncated.")
                }
            }
        }
        return output
    }
}
