import OOMesh

/// A request's HEADERS block read as gRPC, sans-I/O: header fields in, the call's head or
/// the transport's own refusal out. The server connection turns a head into a handler
/// task and a refusal into a Trailers-Only response.
struct RequestHead: Equatable {
    var descriptor: MethodDescriptor
    var metadata: Metadata
    /// The `grpc-timeout` as sent and as parsed; nil without one.
    var timeout: (text: String, duration: Duration)?
    /// How request messages are compressed.
    var requestEncoding: CompressionAlgorithm
    /// The encoding to answer in unless the handler chooses: the request's, when the
    /// client accepts it (as grpc-go does); identity otherwise.
    var responseEncoding: CompressionAlgorithm
    /// The client's `grpc-accept-encoding`, as sent.
    var acceptEncoding: String?

    /// A request the transport answers itself, before any handler runs.
    struct Refusal: Error, Equatable {
        var status: Status
        /// The HTTP status of the Trailers-Only response (200 unless HTTP itself is wrong).
        var httpStatus: Int = 200
        /// Headers to add (the encodings this server accepts).
        var extraHeaders: [String: String] = [:]
    }

    /// Reads `headers` (names lower-case, as HTTP/2 requires; nghttp2 has checked the
    /// pseudo-headers). `enabledCompression` is what this server decompresses, and
    /// `acceptEncodingHeader` its `grpc-accept-encoding` for the refusal message.
    static func parse(
        _ headers: [(name: String, value: String)], enabledCompression: [CompressionAlgorithm], acceptEncodingHeader: String
    ) -> Result<RequestHead, Refusal> {
        var method = "", path = "", contentType = "", timeout: String?, encoding: String?, acceptEncoding: String?
        var metadata = Metadata()
        for (name, value) in headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case "content-type": contentType = value
            case "grpc-timeout": timeout = value
            case "grpc-encoding": encoding = value
            case "grpc-accept-encoding": acceptEncoding = value
            default:
                guard !HeaderCoding.isReserved(name) else { continue }
                guard let parsed = HeaderCoding.metadataValue(name: name, value: value) else {
                    return .failure(Refusal(status: Status(code: .internal, message: "Metadata '\(name)' is not valid base64.")))
                }
                metadata.add(parsed, forKey: name)
            }
        }
        guard method == "POST" else {
            return .failure(Refusal(status: Status(code: .internal, message: "gRPC requires POST, got \(method)."), httpStatus: 405))
        }
        guard contentType.hasPrefix("application/grpc") else {
            return .failure(Refusal(
                status: Status(code: .internal, message: "Content-Type '\(contentType)' is not a gRPC content type (application/grpc)."),
                httpStatus: 415))
        }
        guard let descriptor = MethodDescriptor(path: path) else {
            return .failure(Refusal(status: Status(code: .unimplemented, message: "Malformed method path '\(path)'; expected /package.Service/Method.")))
        }
        var requestEncoding = CompressionAlgorithm.identity
        var responseEncoding = CompressionAlgorithm.identity
        if let encoding {
            guard let algorithm = CompressionAlgorithm(rawValue: encoding),
                  algorithm == .identity || enabledCompression.contains(algorithm) else {
                return .failure(Refusal(
                    status: Status(code: .unimplemented, message: "Message encoding '\(encoding)' is not supported; this server accepts: \(acceptEncodingHeader)."),
                    extraHeaders: ["grpc-accept-encoding": acceptEncodingHeader]))
            }
            requestEncoding = algorithm
            if algorithm != .identity, MessageCompression.parseAcceptEncoding(acceptEncoding).contains(algorithm) {
                responseEncoding = algorithm
            }
        }
        var parsedTimeout: (text: String, duration: Duration)?
        if let timeout {
            guard let duration = HeaderCoding.parseTimeout(timeout) else {
                return .failure(Refusal(status: Status(
                    code: .internal, message: "Invalid grpc-timeout '\(timeout)': expected 1 to 8 digits and a unit (H, M, S, m, u, n).")))
            }
            parsedTimeout = (timeout, duration)
        }
        return .success(RequestHead(
            descriptor: descriptor, metadata: metadata, timeout: parsedTimeout, requestEncoding: requestEncoding,
            responseEncoding: responseEncoding, acceptEncoding: acceptEncoding))
    }

    static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.descriptor == rhs.descriptor && lhs.metadata == rhs.metadata && lhs.timeout?.text == rhs.timeout?.text
            && lhs.timeout?.duration == rhs.timeout?.duration && lhs.requestEncoding == rhs.requestEncoding
            && lhs.responseEncoding == rhs.responseEncoding && lhs.acceptEncoding == rhs.acceptEncoding
    }
}

/// A response HEADERS block read as gRPC by a client, sans-I/O.
enum ResponseHead: Equatable {
    /// A 1xx response: wait for the real one.
    case informational
    /// Trailers-Only: the call ends here with this status.
    case trailersOnly(Status, Metadata)
    /// The response starts: its metadata, and how its messages are compressed.
    case headers(Metadata, encoding: CompressionAlgorithm)
    /// Not a gRPC response: the call fails with this code and message.
    case failure(StatusCode, String)

    static func parse(_ headers: [(name: String, value: String)]) -> ResponseHead {
        let fields = ResponseFields(headers)
        guard let httpStatus = fields.httpStatus, !(100..<200).contains(httpStatus) else { return .informational }
        if let status = fields.status { return .trailersOnly(status, fields.metadata) }
        guard httpStatus == 200 else {
            return .failure(HeaderCoding.statusCode(forHTTPStatus: httpStatus), "The server answered HTTP \(httpStatus) without a gRPC status.")
        }
        guard fields.contentType.hasPrefix("application/grpc") else {
            return .failure(.unknown, "The server answered with content-type '\(fields.contentType)', not application/grpc.")
        }
        var encoding = CompressionAlgorithm.identity
        if let name = fields.encoding {
            guard let algorithm = CompressionAlgorithm(rawValue: name) else {
                return .failure(.internal, "The server used message encoding '\(name)', which this client does not support.")
            }
            encoding = algorithm
        }
        return .headers(fields.metadata, encoding: encoding)
    }

    /// The status and trailing metadata of a trailers block; a block without `grpc-status`
    /// ends the call with UNKNOWN, as gRPC says.
    static func trailers(_ headers: [(name: String, value: String)]) -> (Status, Metadata) {
        let fields = ResponseFields(headers)
        return (fields.status ?? Status(code: .unknown, message: "The server's trailers had no grpc-status."), fields.metadata)
    }
}

/// The fields of a response HEADERS block a client cares about.
private struct ResponseFields {
    var httpStatus: Int?
    var contentType = ""
    var encoding: String?
    var status: Status?
    var metadata = Metadata()

    init(_ headers: [(name: String, value: String)]) {
        var code: StatusCode?
        var message = ""
        for (name, value) in headers {
            switch name {
            case ":status": httpStatus = Int(value)
            case "content-type": contentType = value
            case "grpc-encoding": encoding = value
            case "grpc-status": code = Int(value).map(StatusCode.init(wireValue:)) ?? .unknown
            case "grpc-message": message = HeaderCoding.percentDecode(value)
            default:
                guard !HeaderCoding.isReserved(name), let parsed = HeaderCoding.metadataValue(name: name, value: value) else { continue }
                metadata.add(parsed, forKey: name)
            }
        }
        if let code { status = Status(code: code, message: message) }
    }
}
