import Foundation
import OOSchema
import Testing

/// A subject's two registered versions and a candidate, and the rule ids each compatibility mode
/// must report for the candidate.
struct ModeCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// The category to check in; nil uses `CompatibilityChecker()`, whose default is WIRE_JSON.
    var category: BreakingCategory?
    /// v1 and v2, the registered versions (oldest first), then v3, the candidate. Each is
    /// path -> contents.
    var versions: [[String: String]]
    /// Sorted rule ids per mode, repeated when a change is reported more than once. A mode missing
    /// here (always NONE) expects no change.
    var expected: [CompatibilityMode: [String]]

    var testDescription: String { name }
}

/// `CompatibilityChecker` over three versions.
///
/// BACKWARD checks the candidate against the latest version; FORWARD the latest against the
/// candidate, without the *_NO_DELETE* rules; FULL both; the transitive modes the same against every
/// registered version. Duplicates are removed, so a change the candidate makes against v1 and v2
/// alike counts once. Expectations come from `buf breaking` (v1.75) run pairwise with these semantics.
@Suite("Compatibility modes", .serialized)
struct CompatibilityModeTests {
    @Test("Each mode reports exactly the expected rules", arguments: CompatibilityModeTests.cases)
    func reportsExpectedRules(_ testCase: ModeCase) async throws {
        let schemas = try await loadSchemas(testCase.versions)
        let candidate = schemas[schemas.count - 1]
        let previous = Array(schemas.dropLast())
        let checker = testCase.category.map { CompatibilityChecker(category: $0) } ?? CompatibilityChecker()
        for mode in CompatibilityMode.allCases {
            let changes = checker.check(candidate, against: previous, mode: mode)
            let ruleIDs = changes.map(\.ruleID).sorted()
            let expected = testCase.expected[mode] ?? []
            #expect(
                ruleIDs == expected,
                """
                \(mode.rawValue): expected \(expected), got:
                \(changes.map(\.textLine).joined(separator: "\n"))
                """)
        }
    }

    @Test("Without registered versions every mode accepts the candidate", arguments: CompatibilityMode.allCases)
    func noPreviousVersions(_ mode: CompatibilityMode) async throws {
        let candidate = try await loadSchema(classicTransitiveVersions[2])
        #expect(CompatibilityChecker().check(candidate, against: [], mode: mode).isEmpty)
    }

    @Test("With one registered version the transitive modes equal the plain ones")
    func singlePreviousVersion() async throws {
        let v1 = try await loadSchema(classicTransitiveVersions[0])
        let candidate = try await loadSchema(classicTransitiveVersions[2])
        let checker = CompatibilityChecker()
        let pairs: [(CompatibilityMode, CompatibilityMode)] = [
            (.backward, .backwardTransitive), (.forward, .forwardTransitive), (.full, .fullTransitive),
        ]
        for (plain, transitive) in pairs {
            let plainLines = checker.check(candidate, against: [v1], mode: plain).map(\.textLine).sorted()
            let transitiveLines = checker.check(candidate, against: [v1], mode: transitive).map(\.textLine).sorted()
            #expect(plainLines == transitiveLines, "\(plain.rawValue) vs \(transitive.rawValue)")
            #expect(!plainLines.isEmpty, "\(plain.rawValue) sees the type change against v1")
        }
    }

    @Test("The default category is WIRE_JSON")
    func defaultCategory() async throws {
        let schemas = try await loadSchemas(classicTransitiveVersions)
        let previous = Array(schemas.dropLast())
        for mode in CompatibilityMode.allCases {
            let byDefault = CompatibilityChecker().check(schemas[2], against: previous, mode: mode)
            let explicit = CompatibilityChecker(category: .wireJSON).check(schemas[2], against: previous, mode: mode)
            #expect(byDefault.map(\.textLine).sorted() == explicit.map(\.textLine).sorted(), "\(mode.rawValue)")
        }
    }
}

/// The classic transitive case: v1 `int32 score = 3`; v2 deletes field 3 without reserving it
/// (accepted under NONE); v3 re-adds it as `string score = 3`.
private let classicTransitiveVersions: [[String: String]] = [
    // v1
    ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
        message TipScore {
          string item_id = 1;
          float confidence = 2;
          int32 score = 3;
        }
        """)],
    // v2
    ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
        message TipScore {
          string item_id = 1;
          float confidence = 2;
        }
        """)],
    // v3, the candidate
    ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
        message TipScore {
          string item_id = 1;
          float confidence = 2;
          // Re-added as a string: data written by v1 as int32 no longer parses.
          string score = 3;
        }
        """)],
]

extension CompatibilityModeTests {
    static let cases: [ModeCase] = [
        // v2 deleted `int32 score = 3` without reserving it (accepted under NONE); v3 re-adds it as a string.
        // Against v2 that is an added field, and FORWARD drops v2's "deletion"; against v1 it is a type change,
        // reported once per direction (the candidate's comment line keeps the two locations apart).
        ModeCase(
            name: "re-adding a deleted field number with another type breaks only transitively",
            category: nil,
            versions: classicTransitiveVersions,
            expected: [
                .backwardTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .forwardTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .fullTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
            ]
        ),
        ModeCase(
            name: "the transitive case under WIRE",
            category: .wire,
            versions: classicTransitiveVersions,
            expected: [
                .backwardTransitive: ["FIELD_WIRE_COMPATIBLE_TYPE"],
                .forwardTransitive: ["FIELD_WIRE_COMPATIBLE_TYPE"],
                .fullTransitive: ["FIELD_WIRE_COMPATIBLE_TYPE", "FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        ModeCase(
            name: "the transitive case under FILE",
            category: .file,
            versions: classicTransitiveVersions,
            expected: [
                .backwardTransitive: ["FIELD_SAME_TYPE"],
                .forwardTransitive: ["FIELD_SAME_TYPE"],
                .fullTransitive: ["FIELD_SAME_TYPE", "FIELD_SAME_TYPE"],
            ]
        ),
        ModeCase(
            name: "candidate adds a field",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                      string model_version = 4;
                    }
                    """)],
            ],
            expected: [:]
        ),
        // New readers lose the field (BACKWARD); old readers skip what the candidate no longer writes
        // (FORWARD drops *_NO_DELETE*). v1 and v2 give the same two changes, reported once.
        ModeCase(
            name: "candidate deletes a field without reserving it",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }

                    message TipScoreBatch {
                      repeated TipScore scores = 1;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }

                    message TipScoreBatch {
                      repeated TipScore scores = 1;
                    }
                    """)],
            ],
            expected: [
                .backward: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .backwardTransitive: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .full: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .fullTransitive: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        // FORWARD sees v2's missing reservations as RESERVED_MESSAGE_NO_DELETE, which it drops.
        ModeCase(
            name: "candidate deletes a field reserving its number and name",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                      string model_version = 4;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 3;
                      reserved "confidence";
                      string item_id = 1;
                      int32 score = 2;
                      string model_version = 4;
                    }
                    """)],
            ],
            expected: [:]
        ),
        // v1 and v2 report the same change in each direction, once.
        ModeCase(
            name: "candidate widens int32 to int64: FULL sees both directions",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      // Widened: int64 values above 2^31 corrupt in int32 readers.
                      int64 score = 2;
                      float confidence = 3;
                    }
                    """)],
            ],
            expected: [
                .backward: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .backwardTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .forward: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .forwardTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .full: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .fullTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
            ]
        ),
        ModeCase(
            name: "candidate renames a field",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      // Renamed.
                      int32 tip_score = 2;
                      float confidence = 3;
                    }
                    """)],
            ],
            expected: [
                .backward: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .backwardTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .forward: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .forwardTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .full: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME", "FIELD_SAME_NAME"],
                .fullTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME", "FIELD_SAME_NAME"],
            ]
        ),
        ModeCase(
            name: "a rename accepted in v2 breaks only transitively",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      string note = 4;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      string comment = 4;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      // Free text from the labelling tool.
                      string comment = 4;
                      float confidence = 5;
                    }
                    """)],
            ],
            expected: [
                .backwardTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .forwardTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .fullTransitive: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME", "FIELD_SAME_NAME"],
            ]
        ),
        ModeCase(
            name: "an enum number deleted in v2 and reused in the candidate",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                      REACTION_KIND_SKIP = 2;
                    }
                    """)],
                // v2
                ["oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                      // Reuses the number of v1's REACTION_KIND_SKIP.
                      REACTION_KIND_SHARE = 2;
                    }
                    """)],
            ],
            expected: [
                .backwardTransitive: ["ENUM_VALUE_SAME_NAME"],
                .forwardTransitive: ["ENUM_VALUE_SAME_NAME"],
                .fullTransitive: ["ENUM_VALUE_SAME_NAME", "ENUM_VALUE_SAME_NAME"],
            ]
        ),
        // BACKWARD: v2's reserved range and name are gone (two changes); against v1 the field changed type.
        ModeCase(
            name: "candidate drops v2's reservation and re-adds the field as bytes",
            category: nil,
            versions: [
                // v1
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      string debug = 5;
                    }
                    """)],
                // v2
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 5;
                      reserved "debug";
                      string item_id = 1;
                    }
                    """)],
                // v3, the candidate
                ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      // Back, but as raw bytes.
                      bytes debug = 5;
                    }
                    """)],
            ],
            expected: [
                .backward: ["RESERVED_MESSAGE_NO_DELETE", "RESERVED_MESSAGE_NO_DELETE"],
                .backwardTransitive: [
                    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
                    "RESERVED_MESSAGE_NO_DELETE",
                    "RESERVED_MESSAGE_NO_DELETE",
                ],
                .forwardTransitive: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .full: ["RESERVED_MESSAGE_NO_DELETE", "RESERVED_MESSAGE_NO_DELETE"],
                .fullTransitive: [
                    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
                    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
                    "RESERVED_MESSAGE_NO_DELETE",
                    "RESERVED_MESSAGE_NO_DELETE",
                ],
            ]
        ),
        ModeCase(
            name: "candidate makes an rpc server-streaming",
            category: nil,
            versions: [
                // v1
                ["oo/ranking/v1/recommender.proto": proto3("oo.ranking.v1", """
                    message RecommendRequest {
                      string user_id = 1;
                    }

                    message RecommendResponse {
                      repeated string item_ids = 1;
                    }

                    service RecommenderService {
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                    }
                    """)],
                // v2
                ["oo/ranking/v1/recommender.proto": proto3("oo.ranking.v1", """
                    message RecommendRequest {
                      string user_id = 1;
                    }

                    message RecommendResponse {
                      repeated string item_ids = 1;
                    }

                    service RecommenderService {
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                      rpc RecommendMore(RecommendRequest) returns (RecommendResponse);
                    }
                    """)],
                // v3, the candidate
                ["oo/ranking/v1/recommender.proto": proto3("oo.ranking.v1", """
                    message RecommendRequest {
                      string user_id = 1;
                    }

                    message RecommendResponse {
                      repeated string item_ids = 1;
                    }

                    service RecommenderService {
                      // Streams pages of recommendations.
                      rpc Recommend(RecommendRequest) returns (stream RecommendResponse);
                      rpc RecommendMore(RecommendRequest) returns (RecommendResponse);
                    }
                    """)],
            ],
            expected: [
                .backward: ["RPC_SAME_SERVER_STREAMING"],
                .backwardTransitive: ["RPC_SAME_SERVER_STREAMING"],
                .forward: ["RPC_SAME_SERVER_STREAMING"],
                .forwardTransitive: ["RPC_SAME_SERVER_STREAMING"],
                .full: ["RPC_SAME_SERVER_STREAMING", "RPC_SAME_SERVER_STREAMING"],
                .fullTransitive: ["RPC_SAME_SERVER_STREAMING", "RPC_SAME_SERVER_STREAMING"],
            ]
        ),
    ]
}
