/// Confluent Schema Registry's compatibility modes: which registered versions a new
/// version is checked against, and in which direction.
public enum CompatibilityMode: String, CaseIterable, Sendable, Codable {
    /// No check.
    case none = "NONE"
    /// New readers can read data written with the latest version.
    case backward = "BACKWARD"
    /// New readers can read data written with every earlier version.
    case backwardTransitive = "BACKWARD_TRANSITIVE"
    /// Readers of the latest version can read data written with the new one.
    case forward = "FORWARD"
    /// Readers of every earlier version can read data written with the new one.
    case forwardTransitive = "FORWARD_TRANSITIVE"
    /// Both BACKWARD and FORWARD.
    case full = "FULL"
    /// Both, against every earlier version.
    case fullTransitive = "FULL_TRANSITIVE"

    /// True for the modes that compare with every earlier version, not just the latest.
    public var isTransitive: Bool { self == .backwardTransitive || self == .forwardTransitive || self == .fullTransitive }
    /// The same direction against a single earlier version (BACKWARD_TRANSITIVE → BACKWARD).
    public var nonTransitive: CompatibilityMode {
        switch self {
        case .backwardTransitive: .backward
        case .forwardTransitive: .forward
        case .fullTransitive: .full
        default: self
        }
    }
    var checksBackward: Bool { self == .backward || self == .backwardTransitive || self == .full || self == .fullTransitive }
    var checksForward: Bool { self == .forward || self == .forwardTransitive || self == .full || self == .fullTransitive }
}

/// Checks a candidate version of a subject against its registered versions under a
/// ``CompatibilityMode``, with the rules of one ``BreakingCategory``.
///
/// BACKWARD compares the candidate (new) against an earlier version (old). FORWARD swaps
/// the roles, so that the earlier version's readers meet the candidate's data, and drops
/// the deletion rules: with the roles swapped, a "deletion" is something the candidate
/// added, which old readers skip.
public struct CompatibilityChecker: Sendable {
    /// The category whose rules decide (default WIRE_JSON: data in binary and JSON).
    public let category: BreakingCategory

    /// Creates a checker for `category`.
    public init(category: BreakingCategory = .wireJSON) {
        self.category = category
    }

    /// The breaking changes that make `candidate` incompatible with `previous` (the
    /// subject's versions, oldest first) under `mode`; empty when it is compatible.
    public func check(_ candidate: SchemaSet, against previous: [SchemaSet], mode: CompatibilityMode) -> [BreakingChange] {
        guard mode != .none, let latest = previous.last else { return [] }
        let versions = mode.isTransitive ? previous : [latest]
        let backward = BreakingChecker(category: category)
        let forward = backward.excluding { $0.contains("_NO_DELETE") }
        var seen = Set<BreakingChange>()
        var changes: [BreakingChange] = []
        for version in versions {
            var found: [BreakingChange] = []
            if mode.checksBackward { found += backward.check(candidate, against: version) }
            if mode.checksForward {
                // Roles swapped: say so, since the wording runs from the candidate to the
                // registered version and the location is in the registered version.
                found += forward.check(version, against: candidate).map { change in
                    var change = change
                    change.message = "FORWARD (readers of the registered version, reading the new schema's data): " + change.message
                    return change
                }
            }
            for change in found where seen.insert(change).inserted { changes.append(change) }
        }
        return changes
    }
}
