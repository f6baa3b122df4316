/// The Connect protocol's view of a status: its error code names, the HTTP status a unary
/// error is answered with, and the JSON error body
/// (`{"code": "not_found", "message": "…"}`).
public enum ConnectStatus {
    /// The Connect name of `code`: lower snake case, with `canceled` spelled as Connect does.
    public static func name(_ code: StatusCode) -> String {
        switch code {
        case .ok: "ok"
        case .cancelled: "canceled"
        case .unknown: "unknown"
        case .invalidArgument: "invalid_argument"
        case .deadlineExceeded: "deadline_exceeded"
        case .notFound: "not_found"
        case .alreadyExists: "already_exists"
        case .permissionDenied: "permission_denied"
        case .resourceExhausted: "resource_exhausted"
        case .failedPrecondition: "failed_precondition"
        case .aborted: "aborted"
        case .outOfRange: "out_of_range"
        case .unimplemented: "unimplemented"
        case .internal: "internal"
        case .unavailable: "unavailable"
        case .dataLoss: "data_loss"
        case .unauthenticated: "unauthenticated"
        }
    }

    /// The code a Connect name stands for, or nil for a name Connect does not define.
    public static func code(named name: String) -> StatusCode? {
        StatusCode.allCases.first { self.name($0) == name }
    }

    /// The HTTP status a Connect unary error with `code` is answered with (Connect's table:
    /// 400 for invalid_argument, failed_precondition and out_of_range; 499 for canceled; 504
    /// for deadline_exceeded; 200 only for ok).
    public static func httpStatus(_ code: StatusCode) -> Int {
        switch code {
        case .ok: 200
        case .cancelled: 499
        case .unknown, .internal, .dataLoss: 500
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .deadlineExceeded: 504
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .permissionDenied: 403
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .unauthenticated: 401
        }
    }

    /// The code a client infers from an HTTP error status that came without a Connect error
    /// body (a proxy's answer, say): the same table as gRPC's.
    public static func code(forHTTPStatus status: Int) -> StatusCode {
        StatusCode(inferredFromHTTPStatus: status)
    }

    /// The JSON error object of a Connect unary error response (and of the `error` member of
    /// a streaming end-of-stream message): `code`, and `message` when there is one.
    public static func errorJSON(_ status: Status) -> String {
        var json = "{\"code\":" + JSONText.quoted(name(status.code))
        if !status.message.isEmpty { json += ",\"message\":" + JSONText.quoted(status.message) }
        return json + "}"
    }

    /// A streaming response's end-of-stream message: `{}` for success, else the error; with
    /// the trailers as `metadata` (each name to its list of values) when there are any.
    public static func endStreamJSON(_ status: Status, trailers: [(name: String, value: String)] = []) -> String {
        var members: [String] = []
        if status.code != .ok { members.append("\"error\":" + errorJSON(status)) }
        if !trailers.isEmpty {
            var order: [String] = []
            var values: [String: [String]] = [:]
            for (name, value) in trailers {
                let key = name.lowercased()
                if values[key] == nil { order.append(key) }
                values[key, default: []].append(value)
            }
            let entries = order.map { key in
                JSONText.quoted(key) + ":[" + values[key, default: []].map(JSONText.quoted).joined(separator: ",") + "]"
            }
            members.append("\"metadata\":{" + entries.joined(separator: ",") + "}")
        }
        return "{" + members.joined(separator: ",") + "}"
    }
}

/// JSON text for the small documents the web protocols write (error bodies, end-of-stream
/// messages), without a general encoder.
package enum JSONText {
    /// `text` as a JSON string (RFC 8259 §7): quotes, backslashes and control characters
    /// escaped; everything else as UTF-8.
    package static func quoted(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string to `output`.
    package static func appendQuoted(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

/// The `Connect-Timeout-Ms` request header: the time the client allows the call, in
/// milliseconds, as at most 10 ASCII digits (Connect's grammar).
public enum ConnectTimeout {
    /// The timeout `value` states, or nil (with the reason) when it is not a timeout.
    public static func parse(_ value: String) -> Result<Duration, ConnectTimeoutError> {
        let digits = value.utf8
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let milliseconds = Int64(value)
        else {
            return .failure(ConnectTimeoutError(value: String(value.prefix(32))))
        }
        return .success(.milliseconds(milliseconds))
    }
}

/// A `Connect-Timeout-Ms` value that is not 1 to 10 digits.
public struct ConnectTimeoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The value sent (at most its first 32 characters).
    public var value: String
    public var description: String {
        "Connect-Timeout-Ms must be a number of milliseconds of at most 10 digits, got '\(value)'."
    }
}
