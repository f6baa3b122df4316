import OOMesh

/// Reads a web request's body into its messages, as its protocol frames them: Connect
/// unary's whole body, gRPC-Web's and Connect streaming's envelopes, gRPC-Web text's base64
/// envelopes. Pure: body pieces in, messages out (still compressed where their flag says),
/// holding at most one message; sizes checked before bytes are kept.
struct WebRequestDecoder: Sendable {
    /// One message as it arrived.
    struct Message: Sendable, Equatable {
        var bytes: [UInt8]
        /// Compressed with the request's encoding (Connect unary: the body's
        /// `content-encoding`; envelopes: flag 0x01).
        var compressed: Bool
    }

    private enum Framing: Sendable {
        case wholeBody(compressed: Bool, body: [UInt8])
        case envelopes(EnvelopeDecoder)
        case base64Envelopes(Base64StreamDecoder, EnvelopeDecoder)
    }

    private var framing: Framing
    private let maxMessageBytes: Int

    /// A decoder for `webProtocol`; `bodyCompressed` says whether a Connect unary body is
    /// compressed (its `content-encoding`).
    init(webProtocol: WebProtocol, maxMessageBytes: Int, bodyCompressed: Bool = false) {
        self.maxMessageBytes = maxMessageBytes
        switch webProtocol {
        case .connectUnary: framing = .wholeBody(compressed: bodyCompressed, body: [])
        case .grpcWebText: framing = .base64Envelopes(Base64StreamDecoder(), EnvelopeDecoder(maxMessageBytes: maxMessageBytes))
        case .grpc, .grpcWeb, .connectStreaming: framing = .envelopes(EnvelopeDecoder(maxMessageBytes: maxMessageBytes))
        }
    }

    /// The messages `piece` of the body completes.
    mutating func append(_ piece: [UInt8]) throws(RPCError) -> [Message] {
        switch framing {
        case .wholeBody(let compressed, var body):
            guard body.count + piece.count <= maxMessageBytes else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "The request body is larger than the limit of \(maxMessageBytes) bytes.")
            }
            framing = .wholeBody(compressed: compressed, body: [])  // one owner of the bytes while appending
            body += piece
            framing = .wholeBody(compressed: compressed, body: body)
            return []
        case .envelopes(var envelopes):
            defer { framing = .envelopes(envelopes) }
            return try Self.messages(try Self.decode(piece, &envelopes))
        case .base64Envelopes(var text, var envelopes):
            defer { framing = .base64Envelopes(text, envelopes) }
            let bytes: [UInt8]
            do { bytes = try text.append(piece) } catch { throw RPCError(code: .invalidArgument, message: "\(error).") }
            return try Self.messages(try Self.decode(bytes, &envelopes))
        }
    }

    /// The body ended: the last messages, or why the body was cut short.
    mutating func finish() throws(RPCError) -> [Message] {
        switch framing {
        case .wholeBody(let compressed, let body):
            framing = .wholeBody(compressed: compressed, body: [])
            return [Message(bytes: body, compressed: compressed)]
        case .envelopes(let envelopes):
            try Self.finish(envelopes)
            return []
        case .base64Envelopes(let text, let envelopes):
            do { try text.finish() } catch { throw RPCError(code: .invalidArgument, message: "\(error).") }
            try Self.finish(envelopes)
            return []
        }
    }

    private static func decode(_ bytes: [UInt8], _ decoder: inout EnvelopeDecoder) throws(RPCError) -> [Envelope] {
        do {
            return try decoder.append(bytes)
        } catch {
            throw RPCError(code: .resourceExhausted, message: "\(error).")
        }
    }

    private static func finish(_ decoder: EnvelopeDecoder) throws(RPCError) {
        do { try decoder.finish() } catch { throw RPCError(code: .invalidArgument, message: "\(error).") }
    }

    private static func messages(_ envelopes: [Envelope]) throws(RPCError) -> [Message] {
        var messages: [Message] = []
        messages.reserveCapacity(envelopes.count)
        for envelope in envelopes {
            guard envelope.flags & ~Envelope.compressed == 0 else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "A request envelope has flags 0x\(String(envelope.flags, radix: 16)); only 0x01 (compressed) is allowed.")
            }
            messages.append(Message(bytes: envelope.payload, compressed: envelope.flags & Envelope.compressed != 0))
        }
        return messages
    }
}
