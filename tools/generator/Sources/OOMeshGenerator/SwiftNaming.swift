import SwiftProtobufPluginLibrary

/// How proto names and comments become Swift names and doc comments.
public enum SwiftNaming {
    /// Words Swift reserves: an identifier spelled like one needs backticks.
    public static let reservedWords: Set<String> = [
        // Declarations.
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "operator", "private", "precedencegroup", "protocol", "public", "rethrows", "static",
        "struct", "subscript", "typealias", "var",
        // Statements.
        "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if",
        "in", "repeat", "return", "switch", "throw", "where", "while",
        // Expressions and types.
        "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
    ]

    /// Names a descriptor enum cannot take even with backticks: `Method.Type` and
    /// `Method.Protocol` always mean the metatype, and `Method.descriptors` is taken.
    static let unavailableTypeNames: Set<String> = ["Type", "Protocol", "descriptors"]

    /// `name` with backticks when Swift reserves it.
    public static func escapedIfReserved(_ name: String) -> String {
        reservedWords.contains(name) ? "`\(name)`" : name
    }

    /// The Swift function name for an rpc: lowerCamelCase (`EmptyCall` → `emptyCall`),
    /// backticked when reserved (`Import` → `` `import` ``).
    public static func methodName(forRPC name: String) -> String {
        escapedIfReserved(NamingUtils.toLowerCamelCase(name))
    }

    /// The Swift type name for an rpc's descriptor enum: the name itself, backticked when
    /// reserved, with an underscore appended when Swift gives the name another meaning
    /// (`Type` → `Type_`).
    public static func methodTypeName(forRPC name: String) -> String {
        unavailableTypeNames.contains(name) ? name + "_" : escapedIfReserved(name)
    }

    /// The lines of a proto comment as they should follow `///`.
    ///
    /// protoc hands comments over without their `//` (or `/*`, `*/`) markers, so most
    /// lines start with the space that followed the marker. When every non-blank line
    /// starts with a space, one is removed from each, which keeps any deeper indentation
    /// (code samples) intact. Trailing whitespace goes, blank lines at either end go,
    /// blank lines inside stay (as empty strings).
    public static func documentationLines(fromProtoComment comment: String) -> [String] {
        var lines = comment.replacingCarriageReturns().split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0).trimmingTrailingWhitespace() }
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        if lines.allSatisfy({ $0.isEmpty || $0.hasPrefix(" ") }) {
            lines = lines.map { $0.isEmpty ? $0 : String($0.dropFirst()) }
        }
        return lines
    }
}

extension String {
    fileprivate func replacingCarriageReturns() -> String {
        var result = ""
        result.reserveCapacity(utf8.count)
        var previousWasCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                result.unicodeScalars.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = false
            result.unicodeScalars.append(scalar)
        }
        return result
    }

    fileprivate func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let last = scalars.last, last == " " || last == "\t" {
            scalars.removeLast()
        }
        return String(scalars)
    }
}
