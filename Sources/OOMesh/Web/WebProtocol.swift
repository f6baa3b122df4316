/// The protocols a gateway port can answer besides plain gRPC, told apart by a request's
/// method and `content-type` (as connect-go does): gRPC, gRPC-Web (binary or base64 text) and
/// Connect (unary or streaming). Pure values: the transport reads the headers and asks
/// ``WebRequestKind/classify(method:contentType:)`` what the request speaks.
public enum WebProtocol: Sendable, Hashable {
    /// gRPC over HTTP/2 (`application/grpc`, `application/grpc+proto`, `+json`).
    case grpc
    /// gRPC-Web (`application/grpc-web`, `+proto`, `+json`): gRPC's envelopes, the trailers
    /// in a final body frame flagged 0x80, so HTTP/1.1 and browsers can carry it.
    case grpcWeb
    /// gRPC-Web with the body in base64 (`application/grpc-web-text`, `+proto`): for clients
    /// that cannot stream binary bodies.
    case grpcWebText
    /// Connect unary: the message is the whole body (`application/json`, `application/proto`),
    /// errors are an HTTP status with a JSON body; also GET for side-effect-free methods.
    case connectUnary
    /// Connect streaming (`application/connect+json`, `+proto`): enveloped messages, then an
    /// end-of-stream message flagged 0x02 carrying the status and trailers as JSON.
    case connectStreaming
}

/// How messages are encoded on the wire.
public enum WebCodec: String, Sendable, Hashable {
    /// Protocol buffers' binary encoding.
    case proto
    /// Protocol buffers' canonical JSON mapping.
    case json
}

/// What a request speaks, and why not when it speaks nothing the port answers.
public enum WebRequestKind: Sendable, Hashable {
    /// A protocol and codec the port answers.
    case supported(WebProtocol, WebCodec)
    /// A content type (or method) that is none of them: answer 415 Unsupported Media Type
    /// (RFC 9110 §15.5.16), naming what is accepted; `accept-post` lists the types.
    case unsupported(reason: String)

    /// The content types a POST may carry, for `accept-post` and error messages.
    public static let acceptedContentTypes = [
        "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto",
        "application/grpc-web-text", "application/grpc-web-text+proto", "application/proto", "application/json",
        "application/connect+proto", "application/connect+json",
    ]

    /// Classifies a request by its HTTP method and `content-type` value (parameters such as
    /// `; charset=utf-8` ignored, case-insensitive). A GET is Connect unary (its message in
    /// the query, its codec in `encoding=`): `contentType` is ignored for it.
    public static func classify(method: String, contentType: String?) -> WebRequestKind {
        if method == "GET" { return .supported(.connectUnary, .json) }
        guard method == "POST" else {
            return .unsupported(reason: "HTTP method \(method) is not used by gRPC, gRPC-Web or Connect; use POST (or GET for Connect's side-effect-free methods).")
        }
        guard let contentType, !contentType.isEmpty else {
            return .unsupported(reason: "The request has no content-type; send one of \(acceptedContentTypes.joined(separator: ", ")).")
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingASCIISpaces().lowercased() } ?? ""
        switch mediaType {
        case "application/grpc", "application/grpc+proto": return .supported(.grpc, .proto)
        case "application/grpc+json": return .supported(.grpc, .json)
        case "application/grpc-web", "application/grpc-web+proto": return .supported(.grpcWeb, .proto)
        case "application/grpc-web+json": return .supported(.grpcWeb, .json)
        case "application/grpc-web-text", "application/grpc-web-text+proto": return .supported(.grpcWebText, .proto)
        case "application/proto": return .supported(.connectUnary, .proto)
        case "application/json": return .supported(.connectUnary, .json)
        case "application/connect+proto": return .supported(.connectStreaming, .proto)
        case "application/connect+json": return .supported(.connectStreaming, .json)
        default:
            let shown = String(mediaType.prefix(100))
            return .unsupported(reason: "content-type '\(shown)' is not gRPC, gRPC-Web or Connect; send one of \(acceptedContentTypes.joined(separator: ", ")).")
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingASCIISpaces() -> Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return trimmed
    }
}
