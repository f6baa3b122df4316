/// A position in a `.proto` file, 1-based.
public struct SourceLocation: Sendable, Hashable, Codable, Comparable {
    /// The file's path, as protoc names it (relative to the import root).
    public var file: String
    /// The line, from 1.
    public var line: Int
    /// The column, from 1.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One breaking change: which rule it breaks, where, and what happened.
public struct BreakingChange: Sendable, Hashable, Codable {
    /// The id of the rule broken, e.g. `FIELD_SAME_TYPE` (see ``BreakingRule``).
    public var ruleID: String
    /// Where, in the new schema where the element still exists; otherwise the closest
    /// enclosing element, or the old file for a deleted file.
    public var location: SourceLocation
    /// What changed and what it breaks.
    public var message: String

    /// Creates a change.
    public init(ruleID: String, location: SourceLocation, message: String) {
        self.ruleID = ruleID
        self.location = location
        self.message = message
    }

    /// `file:line:column:RULE_ID:message`, the CLI's text format (as buf's).
    public var textLine: String {
        "\(location.file):\(location.line):\(location.column):\(ruleID):\(message)"
    }
}
