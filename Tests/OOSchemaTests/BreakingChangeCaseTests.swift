import Foundation
import OOSchema
import Testing

/// One schema change: the files before and after, and the rule ids each category must report.
struct BreakingCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// The old version's files, path (relative to the import root) -> contents.
    var old: [String: String]
    /// The new version's files.
    var new: [String: String]
    /// Sorted rule ids per category, repeated when a rule fires more than once. A category missing
    /// here expects no breaking change.
    var expected: [BreakingCategory: [String]]

    var testDescription: String { name }
}

/// The breaking-change rules, one schema change per case, checked in all four categories.
///
/// Expectations come from `buf breaking` (v1.75) per category, adjusted where we are deliberately
/// stricter than buf (field types in WIRE; see docs/schema-rules.md) or where buf misses a
/// change (a package's last enum or extension deleted); those cases say so in a comment.
@Suite("Breaking-change rules", .serialized)
struct BreakingChangeCaseTests {
    @Test("Each category reports exactly the expected rules", arguments: BreakingChangeCaseTests.cases)
    func reportsExpectedRules(_ testCase: BreakingCase) async throws {
        let oldSchema = try await loadSchema(testCase.old)
        let newSchema = try await loadSchema(testCase.new)
        for category in BreakingCategory.allCases {
            let changes = BreakingChecker(category: category).check(newSchema, against: oldSchema)
            let ruleIDs = changes.map(\.ruleID).sorted()
            let expected = testCase.expected[category] ?? []
            #expect(
                ruleIDs == expected,
                """
                \(category.rawValue): expected \(expected), got:
                \(changes.map(\.textLine).joined(separator: "\n"))
                """)
        }
    }

    @Test("The table uses every rule only in its categories, sorted")
    func tableIsConsistent() {
        var names: Set<String> = []
        for testCase in Self.cases {
            #expect(names.insert(testCase.name).inserted, "duplicate case name: \(testCase.name)")
            for (category, ruleIDs) in testCase.expected {
                #expect(!ruleIDs.isEmpty, "\(testCase.name): empty list for \(category.rawValue); leave it out")
                #expect(ruleIDs == ruleIDs.sorted(), "\(testCase.name): \(category.rawValue) list is not sorted")
                for ruleID in ruleIDs {
                    #expect(
                        Self.ruleCategories[ruleID]?.contains(category) == true,
                        "\(testCase.name): \(ruleID) is not a \(category.rawValue) rule")
                }
            }
        }
    }

    @Test("Every rule that can fire with proto2/proto3 fires in some case")
    func tableCoversEveryRule() {
        let fired = Set(Self.cases.flatMap { $0.expected.values.joined() })
        #expect(Set(Self.ruleCategories.keys).subtracting(fired).sorted() == [])
    }

    @Test("The checker's rule catalog is exactly the documented table")
    func catalogMatchesTable() {
        let catalog = Dictionary(uniqueKeysWithValues: BreakingRule.all.map { ($0.id, $0.categories) })
        #expect(catalog == Self.ruleCategories)
    }
}

// MARK: - Fixtures

/// `oo/events/v1/tip_score.proto` as most cases start from.
private let tipScoreBase = proto3("oo.events.v1", """
    message TipScore {
      string item_id = 1;
      int32 score = 2;
    }
    """)

/// `oo/events/v1/reaction.proto` as the enum-value cases start from.
private let reactionBase = proto3("oo.events.v1", """
    enum ReactionKind {
      REACTION_KIND_UNSPECIFIED = 0;
      REACTION_KIND_LIKE = 1;
      REACTION_KIND_SKIP = 2;
    }

    message Reaction {
      string item_id = 1;
      ReactionKind kind = 2;
    }
    """)

/// The request and response messages of `oo/ranking/v1/recommender.proto`.
private let recommenderMessages = """
    message RecommendRequest {
      string user_id = 1;
    }

    message RecommendResponse {
      repeated string item_ids = 1;
    }

    message FeedbackRequest {
      string item_id = 1;
    }

    message FeedbackResponse {}
    """

/// `oo/ranking/v1/recommender.proto`: the messages, then `extra` (if any), then RecommenderService
/// with `rpcs` (lines already indented by two spaces).
private func recommender(rpcs: String, extra: String = "") -> String {
    let service = "service RecommenderService {\n" + rpcs + "\n}"
    return proto3("oo.ranking.v1", recommenderMessages + "\n\n" + (extra.isEmpty ? "" : extra + "\n\n") + service)
}

/// RecommenderService with its two rpcs, Recommend and Feedback.
private let recommenderBase = recommender(rpcs: """
      rpc Recommend(RecommendRequest) returns (RecommendResponse);
      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
    """)

/// `oo/events/v1/tip_score.proto` whose field 2, `score`, has type `scoreType`; `extra` follows the message.
private func tipScore(scoreType: String, extra: String = "") -> [String: String] {
    let message = "message TipScore {\n  string item_id = 1;\n  \(scoreType) score = 2;\n}"
    return ["oo/events/v1/tip_score.proto": proto3("oo.events.v1", message + (extra.isEmpty ? "" : "\n\n" + extra))]
}

// MARK: - Cases

extension BreakingChangeCaseTests {
    /// All 97 cases.
    static let cases: [BreakingCase] = [
        compatibleCases, fileAndPackageCases, elementDeletionCases, extensionCases,
        fieldDeletionCases, enumValueCases, nameCases, oneofCases,
        cardinalityCases, typeCases, fieldOptionCases, rpcCases,
    ].flatMap { $0 }

    /// Changes no category reports, and deletions that keep the wire format (reported by FILE and PACKAGE only).
    static let compatibleCases: [BreakingCase] = [
        BreakingCase(
            name: "add a field",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add a message",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }

                    message TipScoreBatch {
                      repeated TipScore scores = 1;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add an enum value",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                      REACTION_KIND_SKIP = 2;
                      REACTION_KIND_SHARE = 3;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add an rpc",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                      rpc RecommendStream(RecommendRequest) returns (stream RecommendResponse);
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add a service",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    """, extra: """
                    service FeedbackService {
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add a comment",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    // A model's score for one item, logged by serving and read by training.
                    message TipScore {
                      string item_id = 1;
                      // The score in basis points.
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "reorder fields and messages",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                      float confidence = 3;
                    }

                    message TipScoreBatch {
                      repeated TipScore scores = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScoreBatch {
                      repeated TipScore scores = 1;
                    }

                    message TipScore {
                      float confidence = 3;
                      int32 score = 2;
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add a file to the package",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": tipScoreBase,
                "oo/events/v1/reaction.proto": reactionBase,
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "add reserved numbers and names",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 3, 10 to 12;
                      reserved "model_version";
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
        BreakingCase(
            name: "split a reserved range without unreserving",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 4 to 8;
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 4 to 5, 6 to 8;
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
        // An unset file option equals its default, so spelling the default out changes nothing.
        BreakingCase(
            name: "set a file option to its default",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option cc_enable_arenas = true;
                    option java_multiple_files = false;
                    option optimize_for = SPEED;

                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
        // Safe on the wire and in JSON, but the generated accessor is gone.
        BreakingCase(
            name: "delete a field reserving its number and name",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 2;
                      reserved "score";
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE"],
                .package: ["FIELD_NO_DELETE"],
            ]
        ),
        // Safe on the wire and in JSON, but the generated constant is gone.
        BreakingCase(
            name: "delete an enum value reserving its number and name",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      reserved 2;
                      reserved "REACTION_KIND_SKIP";
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_VALUE_NO_DELETE"],
                .package: ["ENUM_VALUE_NO_DELETE"],
            ]
        ),
    ]

    /// Files, packages, syntax and file options.
    static let fileAndPackageCases: [BreakingCase] = [
        // buf 1.75 omits PACKAGE_ENUM_NO_DELETE here: it skips a package with no enum left at all. We
        // compare whole packages.
        BreakingCase(
            name: "delete a file whose package keeps another file",
            old: [
                "oo/events/v1/tip_score.proto": tipScoreBase,
                "oo/events/v1/reaction.proto": reactionBase,
            ],
            new: ["oo/events/v1/tip_score.proto": tipScoreBase],
            expected: [
                .file: ["FILE_NO_DELETE"],
                .package: ["PACKAGE_ENUM_NO_DELETE", "PACKAGE_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete the only file of a package",
            old: [
                "oo/events/v1/tip_score.proto": tipScoreBase,
                "oo/ranking/v1/recommender.proto": recommenderBase,
            ],
            new: ["oo/events/v1/tip_score.proto": tipScoreBase],
            expected: [
                .file: ["FILE_NO_DELETE"],
                .package: ["PACKAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "rename a file within its package",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: ["oo/events/v1/tip.proto": tipScoreBase],
            expected: [
                .file: ["FILE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "move a message to another file of the same package",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }

                    message Reaction {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": tipScoreBase,
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_DELETE"],
            ]
        ),
        // Within a file, elements match by their name in the file's package (as buf): the package change is
        // FILE_SAME_PACKAGE, not a deletion of every message.
        BreakingCase(
            name: "change a file's package",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v2", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FILE_SAME_PACKAGE"],
                .package: ["FILE_SAME_PACKAGE", "PACKAGE_NO_DELETE"],
                .wireJSON: ["FILE_SAME_PACKAGE"],
                .wire: ["FILE_SAME_PACKAGE"],
            ]
        ),
        // As buf: the syntax decides JSON support (proto3 ALLOW, proto2 LEGACY_BEST_EFFORT) and Java's UTF-8
        // check (always for proto3 strings), so those rules fire too.
        BreakingCase(
            name: "change syntax proto3 -> proto2",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto2("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      optional string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: [
                    "ENUM_SAME_JSON_FORMAT", "ENUM_SAME_TYPE", "FIELD_SAME_CARDINALITY", "FIELD_SAME_JAVA_UTF8_VALIDATION",
                    "FIELD_SAME_UTF8_VALIDATION", "FILE_SAME_SYNTAX", "MESSAGE_SAME_JSON_FORMAT",
                ],
                .package: [
                    "ENUM_SAME_JSON_FORMAT", "ENUM_SAME_TYPE", "FIELD_SAME_CARDINALITY", "FIELD_SAME_JAVA_UTF8_VALIDATION",
                    "FIELD_SAME_UTF8_VALIDATION", "FILE_SAME_SYNTAX", "MESSAGE_SAME_JSON_FORMAT",
                ],
                .wireJSON: ["ENUM_SAME_JSON_FORMAT", "MESSAGE_SAME_JSON_FORMAT"],
            ]
        ),
        BreakingCase(
            name: "change go_package",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option go_package = "github.com/oo/mesh/gen/events/v1;eventsv1";

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option go_package = "github.com/oo/mesh/gen/go/events/v1;eventsv1";

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FILE_SAME_GO_PACKAGE"],
                .package: ["FILE_SAME_GO_PACKAGE"],
            ]
        ),
        BreakingCase(
            name: "add java_package",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option java_package = "com.oo.events.v1";

                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FILE_SAME_JAVA_PACKAGE"],
                .package: ["FILE_SAME_JAVA_PACKAGE"],
            ]
        ),
        BreakingCase(
            name: "change swift_prefix",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option swift_prefix = "OOEvents";

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option swift_prefix = "OOEv";

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FILE_SAME_SWIFT_PREFIX"],
                .package: ["FILE_SAME_SWIFT_PREFIX"],
            ]
        ),
        BreakingCase(
            name: "change every other file option",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    option cc_enable_arenas = false;
                    option cc_generic_services = true;
                    option csharp_namespace = "OO.Events.V1";
                    option java_generic_services = true;
                    option java_multiple_files = true;
                    option java_outer_classname = "TipScoreProto";
                    option objc_class_prefix = "OOE";
                    option optimize_for = LITE_RUNTIME;
                    option php_class_prefix = "OOE";
                    option php_metadata_namespace = "OOEventsMeta";
                    option php_namespace = "OOEventsV1";
                    option py_generic_services = true;
                    option ruby_package = "OO::Events::V1";

                    message TipScore {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: [
                    "FILE_SAME_CC_ENABLE_ARENAS",
                    "FILE_SAME_CC_GENERIC_SERVICES",
                    "FILE_SAME_CSHARP_NAMESPACE",
                    "FILE_SAME_JAVA_GENERIC_SERVICES",
                    "FILE_SAME_JAVA_MULTIPLE_FILES",
                    "FILE_SAME_JAVA_OUTER_CLASSNAME",
                    "FILE_SAME_OBJC_CLASS_PREFIX",
                    "FILE_SAME_OPTIMIZE_FOR",
                    "FILE_SAME_PHP_CLASS_PREFIX",
                    "FILE_SAME_PHP_METADATA_NAMESPACE",
                    "FILE_SAME_PHP_NAMESPACE",
                    "FILE_SAME_PY_GENERIC_SERVICES",
                    "FILE_SAME_RUBY_PACKAGE",
                ],
                .package: [
                    "FILE_SAME_CC_ENABLE_ARENAS",
                    "FILE_SAME_CC_GENERIC_SERVICES",
                    "FILE_SAME_CSHARP_NAMESPACE",
                    "FILE_SAME_JAVA_GENERIC_SERVICES",
                    "FILE_SAME_JAVA_MULTIPLE_FILES",
                    "FILE_SAME_JAVA_OUTER_CLASSNAME",
                    "FILE_SAME_OBJC_CLASS_PREFIX",
                    "FILE_SAME_OPTIMIZE_FOR",
                    "FILE_SAME_PHP_CLASS_PREFIX",
                    "FILE_SAME_PHP_METADATA_NAMESPACE",
                    "FILE_SAME_PHP_NAMESPACE",
                    "FILE_SAME_PY_GENERIC_SERVICES",
                    "FILE_SAME_RUBY_PACKAGE",
                ],
            ]
        ),
        BreakingCase(
            name: "turn on java_string_check_utf8 (proto2)",
            old: [
                "oo/events/v1/reaction.proto": proto2("oo.events.v1", """
                    message Reaction {
                      optional string item_id = 1;
                      optional string surface = 2;
                      optional int32 position = 3;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto2("oo.events.v1", """
                    option java_string_check_utf8 = true;

                    message Reaction {
                      optional string item_id = 1;
                      optional string surface = 2;
                      optional int32 position = 3;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_JAVA_UTF8_VALIDATION", "FIELD_SAME_JAVA_UTF8_VALIDATION"],
                .package: ["FIELD_SAME_JAVA_UTF8_VALIDATION", "FIELD_SAME_JAVA_UTF8_VALIDATION"],
            ]
        ),
        // Java already checks proto3 strings, so the option changes nothing: compatible (as buf).
        BreakingCase(
            name: "turn on java_string_check_utf8 (proto3)",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      string item_id = 1;
                      int32 position = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    option java_string_check_utf8 = true;

                    message Reaction {
                      string item_id = 1;
                      int32 position = 2;
                    }
                    """),
            ],
            expected: [:]
        ),
    ]

    /// Messages, enums and services, top-level and nested.
    static let elementDeletionCases: [BreakingCase] = [
        BreakingCase(
            name: "delete a top-level message",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                    }

                    message TipScoreBatch {
                      repeated string item_ids = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_DELETE"],
                .package: ["PACKAGE_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "rename a message",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScoreEvent {
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_DELETE"],
                .package: ["PACKAGE_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete a nested message",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      message Window {
                        int64 start_ms = 1;
                        int64 end_ms = 2;
                      }
                      repeated float values = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      repeated float values = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_DELETE"],
                .package: ["PACKAGE_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete a message that has a nested message",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      message Window {
                        int64 start_ms = 1;
                      }
                      repeated float values = 1;
                    }

                    message FeatureSnapshot {
                      string user_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureSnapshot {
                      string user_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_DELETE", "MESSAGE_NO_DELETE"],
                .package: ["PACKAGE_MESSAGE_NO_DELETE", "PACKAGE_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete a top-level enum",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                    }

                    enum Surface {
                      SURFACE_UNSPECIFIED = 0;
                    }

                    message Reaction {
                      ReactionKind kind = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                    }

                    message Reaction {
                      ReactionKind kind = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_NO_DELETE"],
                .package: ["PACKAGE_ENUM_NO_DELETE"],
            ]
        ),
        // buf 1.75 omits PACKAGE_ENUM_NO_DELETE here: the package has no enum left at all, and buf then skips it.
        BreakingCase(
            name: "delete a nested enum",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      enum Encoding {
                        ENCODING_UNSPECIFIED = 0;
                        ENCODING_DENSE = 1;
                      }
                      repeated float values = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      repeated float values = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_NO_DELETE"],
                .package: ["PACKAGE_ENUM_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete a service",
            old: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                    """, extra: """
                    service FeedbackService {
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    }
                    """),
            ],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                    """),
            ],
            expected: [
                .file: ["SERVICE_NO_DELETE"],
                .package: ["PACKAGE_SERVICE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete an rpc",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_NO_DELETE"],
                .package: ["RPC_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "set no_standard_descriptor_accessor",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      option no_standard_descriptor_accessor = true;
                      string item_id = 1;
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR"],
                .package: ["MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR"],
            ]
        ),
    ]

    /// Extensions and extension ranges (proto2).
    static let extensionCases: [BreakingCase] = [
        BreakingCase(
            name: "delete an extension (proto2)",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }

                    extend TipScore {
                      optional string debug_note = 100;
                      optional int32 experiment_arm = 101;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }

                    extend TipScore {
                      optional int32 experiment_arm = 101;
                    }
                    """),
            ],
            expected: [
                .file: ["EXTENSION_NO_DELETE"],
                .package: ["PACKAGE_EXTENSION_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete an extension range (proto2)",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["EXTENSION_MESSAGE_NO_DELETE"],
                .package: ["EXTENSION_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "shrink an extension range (proto2)",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 149;
                    }
                    """),
            ],
            expected: [
                .file: ["EXTENSION_MESSAGE_NO_DELETE"],
                .package: ["EXTENSION_MESSAGE_NO_DELETE"],
            ]
        ),
        // buf 1.75 omits PACKAGE_EXTENSION_NO_DELETE here: the package has no extension left, and buf then skips it.
        BreakingCase(
            name: "delete a package's last extension (proto2)",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }

                    extend TipScore {
                      optional string debug_note = 100;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      extensions 100 to 199;
                    }
                    """),
            ],
            expected: [
                .file: ["EXTENSION_NO_DELETE"],
                .package: ["PACKAGE_EXTENSION_NO_DELETE"],
            ]
        ),
    ]

    /// Field deletion with and without reservation, and reservations themselves.
    static let fieldDeletionCases: [BreakingCase] = [
        BreakingCase(
            name: "delete a field without reserving it",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE"],
                .package: ["FIELD_NO_DELETE"],
                .wireJSON: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .wire: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete a field reserving only its number",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 2;
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE"],
                .package: ["FIELD_NO_DELETE"],
                .wireJSON: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete a field reserving only its name",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved "score";
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE"],
                .package: ["FIELD_NO_DELETE"],
                .wireJSON: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .wire: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete a field of a nested message",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      message Window {
                        int64 start_ms = 1;
                        int64 end_ms = 2;
                      }
                      Window window = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      message Window {
                        int64 start_ms = 1;
                      }
                      Window window = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE"],
                .package: ["FIELD_NO_DELETE"],
                .wireJSON: ["FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .wire: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete a reserved number",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 3;
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_MESSAGE_NO_DELETE"],
                .package: ["RESERVED_MESSAGE_NO_DELETE"],
                .wireJSON: ["RESERVED_MESSAGE_NO_DELETE"],
                .wire: ["RESERVED_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "delete a reserved name",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved "model_version";
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_MESSAGE_NO_DELETE"],
                .package: ["RESERVED_MESSAGE_NO_DELETE"],
                .wireJSON: ["RESERVED_MESSAGE_NO_DELETE"],
                .wire: ["RESERVED_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "shrink a reserved range",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 4 to 8;
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 4 to 6;
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_MESSAGE_NO_DELETE"],
                .package: ["RESERVED_MESSAGE_NO_DELETE"],
                .wireJSON: ["RESERVED_MESSAGE_NO_DELETE"],
                .wire: ["RESERVED_MESSAGE_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "reuse a reserved number for a new field",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      reserved 3;
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      string model_version = 3;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_MESSAGE_NO_DELETE"],
                .package: ["RESERVED_MESSAGE_NO_DELETE"],
                .wireJSON: ["RESERVED_MESSAGE_NO_DELETE"],
                .wire: ["RESERVED_MESSAGE_NO_DELETE"],
            ]
        ),
    ]

    /// Enum values and enum reservations.
    static let enumValueCases: [BreakingCase] = [
        BreakingCase(
            name: "delete an enum value without reserving it",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_VALUE_NO_DELETE"],
                .package: ["ENUM_VALUE_NO_DELETE"],
                .wireJSON: [
                    "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
                    "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
                ],
                .wire: ["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete an enum value reserving only its number",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      reserved 2;
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_VALUE_NO_DELETE"],
                .package: ["ENUM_VALUE_NO_DELETE"],
                .wireJSON: ["ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "delete an enum value reserving only its name",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      reserved "REACTION_KIND_SKIP";
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_VALUE_NO_DELETE"],
                .package: ["ENUM_VALUE_NO_DELETE"],
                .wireJSON: ["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"],
                .wire: ["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"],
            ]
        ),
        BreakingCase(
            name: "rename an enum value",
            old: ["oo/events/v1/reaction.proto": reactionBase],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_LIKE = 1;
                      REACTION_KIND_DISMISS = 2;
                    }

                    message Reaction {
                      string item_id = 1;
                      ReactionKind kind = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["ENUM_VALUE_SAME_NAME"],
                .package: ["ENUM_VALUE_SAME_NAME"],
                .wireJSON: ["ENUM_VALUE_SAME_NAME"],
            ]
        ),
        BreakingCase(
            name: "delete a reserved enum number and name",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      reserved 3;
                      reserved "REACTION_KIND_HIDE";
                      REACTION_KIND_UNSPECIFIED = 0;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_ENUM_NO_DELETE", "RESERVED_ENUM_NO_DELETE"],
                .package: ["RESERVED_ENUM_NO_DELETE", "RESERVED_ENUM_NO_DELETE"],
                .wireJSON: ["RESERVED_ENUM_NO_DELETE", "RESERVED_ENUM_NO_DELETE"],
                .wire: ["RESERVED_ENUM_NO_DELETE", "RESERVED_ENUM_NO_DELETE"],
            ]
        ),
        BreakingCase(
            name: "reuse a reserved enum number",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      reserved 3;
                      REACTION_KIND_UNSPECIFIED = 0;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    enum ReactionKind {
                      REACTION_KIND_UNSPECIFIED = 0;
                      REACTION_KIND_SHARE = 3;
                    }
                    """),
            ],
            expected: [
                .file: ["RESERVED_ENUM_NO_DELETE"],
                .package: ["RESERVED_ENUM_NO_DELETE"],
                .wireJSON: ["RESERVED_ENUM_NO_DELETE"],
                .wire: ["RESERVED_ENUM_NO_DELETE"],
            ]
        ),
    ]

    /// Field names and JSON names.
    static let nameCases: [BreakingCase] = [
        BreakingCase(
            name: "rename a field",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 tip_score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .package: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
                .wireJSON: ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
            ]
        ),
        BreakingCase(
            name: "rename a field keeping its json_name",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 tip_score = 2 [json_name = "score"];
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_NAME"],
                .package: ["FIELD_SAME_NAME"],
                .wireJSON: ["FIELD_SAME_NAME"],
            ]
        ),
        BreakingCase(
            name: "set a json_name",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      int32 score = 2 [json_name = "tipScore"];
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_JSON_NAME"],
                .package: ["FIELD_SAME_JSON_NAME"],
                .wireJSON: ["FIELD_SAME_JSON_NAME"],
            ]
        ),
    ]

    /// Oneofs.
    static let oneofCases: [BreakingCase] = [
        BreakingCase(
            name: "move a field into a oneof",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      TipScore tip = 1;
                      oneof target {
                        Item item = 2;
                      }
                    }

                    message TipScore {}

                    message Item {}
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      oneof target {
                        TipScore tip = 1;
                        Item item = 2;
                      }
                    }

                    message TipScore {}

                    message Item {}
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_ONEOF"],
                .package: ["FIELD_SAME_ONEOF"],
                .wireJSON: ["FIELD_SAME_ONEOF"],
                .wire: ["FIELD_SAME_ONEOF"],
            ]
        ),
        BreakingCase(
            name: "move a field between oneofs",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      oneof target {
                        string item_id = 1;
                        string creator_id = 2;
                      }
                      oneof context {
                        string query = 3;
                      }
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      oneof target {
                        string item_id = 1;
                      }
                      oneof context {
                        string creator_id = 2;
                        string query = 3;
                      }
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_ONEOF"],
                .package: ["FIELD_SAME_ONEOF"],
                .wireJSON: ["FIELD_SAME_ONEOF"],
                .wire: ["FIELD_SAME_ONEOF"],
            ]
        ),
        BreakingCase(
            name: "delete a oneof, keeping its fields",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      oneof target {
                        Item item = 1;
                        Creator creator = 2;
                      }
                    }

                    message Item {}

                    message Creator {}
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      Item item = 1;
                      Creator creator = 2;
                    }

                    message Item {}

                    message Creator {}
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_ONEOF", "FIELD_SAME_ONEOF", "ONEOF_NO_DELETE"],
                .package: ["FIELD_SAME_ONEOF", "FIELD_SAME_ONEOF", "ONEOF_NO_DELETE"],
                .wireJSON: ["FIELD_SAME_ONEOF", "FIELD_SAME_ONEOF"],
                .wire: ["FIELD_SAME_ONEOF", "FIELD_SAME_ONEOF"],
            ]
        ),
        // Implicit presence -> explicit (a oneof member): FIELD_SAME_CARDINALITY in FILE and PACKAGE only.
        BreakingCase(
            name: "move a proto3 scalar field into a oneof",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      string item_id = 1;
                      oneof target {
                        string creator_id = 2;
                      }
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      oneof target {
                        string item_id = 1;
                        string creator_id = 2;
                      }
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY", "FIELD_SAME_ONEOF"],
                .package: ["FIELD_SAME_CARDINALITY", "FIELD_SAME_ONEOF"],
                .wireJSON: ["FIELD_SAME_ONEOF"],
                .wire: ["FIELD_SAME_ONEOF"],
            ]
        ),
    ]

    /// Cardinality (implicit and explicit presence, repeated, map, required) and proto2 defaults.
    static let cardinalityCases: [BreakingCase] = [
        // The synthetic oneof of a proto3 `optional` field is no oneof: no FIELD_SAME_ONEOF or ONEOF_NO_DELETE.
        BreakingCase(
            name: "proto3 implicit field -> optional",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      optional int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY"],
                .package: ["FIELD_SAME_CARDINALITY"],
            ]
        ),
        BreakingCase(
            name: "proto3 optional field -> implicit",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      optional int32 score = 2;
                    }
                    """),
            ],
            new: ["oo/events/v1/tip_score.proto": tipScoreBase],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY"],
                .package: ["FIELD_SAME_CARDINALITY"],
            ]
        ),
        BreakingCase(
            name: "singular -> repeated",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1;
                      repeated int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY"],
                .package: ["FIELD_SAME_CARDINALITY"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"],
                .wire: ["FIELD_WIRE_COMPATIBLE_CARDINALITY"],
            ]
        ),
        BreakingCase(
            name: "repeated message -> singular",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      repeated Window windows = 1;
                    }

                    message Window {
                      int64 start_ms = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      Window windows = 1;
                    }

                    message Window {
                      int64 start_ms = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY"],
                .package: ["FIELD_SAME_CARDINALITY"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"],
                .wire: ["FIELD_WIRE_COMPATIBLE_CARDINALITY"],
            ]
        ),
        BreakingCase(
            name: "proto2 optional -> required",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      optional int32 score = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      required string item_id = 1;
                      optional int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
                .package: ["FIELD_SAME_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
                .wire: ["FIELD_WIRE_COMPATIBLE_CARDINALITY", "MESSAGE_SAME_REQUIRED_FIELDS"],
            ]
        ),
        BreakingCase(
            name: "proto2 add a required field",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      required int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["MESSAGE_SAME_REQUIRED_FIELDS"],
                .package: ["MESSAGE_SAME_REQUIRED_FIELDS"],
                .wireJSON: ["MESSAGE_SAME_REQUIRED_FIELDS"],
                .wire: ["MESSAGE_SAME_REQUIRED_FIELDS"],
            ]
        ),
        BreakingCase(
            name: "proto2 delete a required field",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      required int32 score = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_NO_DELETE", "MESSAGE_SAME_REQUIRED_FIELDS"],
                .package: ["FIELD_NO_DELETE", "MESSAGE_SAME_REQUIRED_FIELDS"],
                .wireJSON: [
                    "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                    "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                    "MESSAGE_SAME_REQUIRED_FIELDS",
                ],
                .wire: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", "MESSAGE_SAME_REQUIRED_FIELDS"],
            ]
        ),
        BreakingCase(
            name: "proto2 change a default",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      optional int32 score = 2 [default = 50];
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional string item_id = 1;
                      optional int32 score = 2 [default = 100];
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_DEFAULT"],
                .package: ["FIELD_SAME_DEFAULT"],
                .wireJSON: ["FIELD_SAME_DEFAULT"],
                .wire: ["FIELD_SAME_DEFAULT"],
            ]
        ),
        BreakingCase(
            name: "proto2 add a default",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional int32 score = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional int32 score = 2 [default = 50];
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_DEFAULT"],
                .package: ["FIELD_SAME_DEFAULT"],
                .wireJSON: ["FIELD_SAME_DEFAULT"],
                .wire: ["FIELD_SAME_DEFAULT"],
            ]
        ),
        // The effective default stays 0: not a change.
        BreakingCase(
            name: "proto2 add a default equal to the zero value",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional int32 score = 2;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional int32 score = 2 [default = 0];
                    }
                    """),
            ],
            expected: [:]
        ),
        // Same entry type, map -> repeated: the binary encoding is the same, but JSON writes a map as an object
        // and a repeated field as an array (as buf).
        BreakingCase(
            name: "map -> repeated entry message",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      map<string, float> weights = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      message WeightsEntry {
                        string key = 1;
                        float value = 2;
                      }
                      repeated WeightsEntry weights = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY"],
                .package: ["FIELD_SAME_CARDINALITY"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"],
            ]
        ),
    ]

    /// Field types. Stricter than buf (docs/schema-rules.md): WIRE_JSON and WIRE report every type change;
    /// buf accepts e.g. int32 -> int64 or string -> bytes on the wire.
    static let typeCases: [BreakingCase] = [
        BreakingCase(
            name: "field type int32 -> int64",
            old: tipScore(scoreType: "int32"),
            new: tipScore(scoreType: "int64"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type uint32 -> int32",
            old: tipScore(scoreType: "uint32"),
            new: tipScore(scoreType: "int32"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type int64 -> uint64",
            old: tipScore(scoreType: "int64"),
            new: tipScore(scoreType: "uint64"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type bool -> int32",
            old: tipScore(scoreType: "bool"),
            new: tipScore(scoreType: "int32"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type sint32 -> sint64",
            old: tipScore(scoreType: "sint32"),
            new: tipScore(scoreType: "sint64"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type fixed32 -> sfixed32",
            old: tipScore(scoreType: "fixed32"),
            new: tipScore(scoreType: "sfixed32"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type fixed64 -> sfixed64",
            old: tipScore(scoreType: "fixed64"),
            new: tipScore(scoreType: "sfixed64"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type string -> bytes",
            old: tipScore(scoreType: "string"),
            new: tipScore(scoreType: "bytes"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type int32 -> string",
            old: tipScore(scoreType: "int32"),
            new: tipScore(scoreType: "string"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type int32 -> sint32",
            old: tipScore(scoreType: "int32"),
            new: tipScore(scoreType: "sint32"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type float -> double",
            old: tipScore(scoreType: "float"),
            new: tipScore(scoreType: "double"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type int32 -> open enum",
            old: tipScore(scoreType: "int32", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            new: tipScore(scoreType: "Band", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type open enum -> int32",
            old: tipScore(scoreType: "Band", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            new: tipScore(scoreType: "int32", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type int64 -> open enum",
            old: tipScore(scoreType: "int64", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            new: tipScore(scoreType: "Band", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                  BAND_HIGH = 1;
                }
                """),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type enum -> another enum",
            old: tipScore(scoreType: "Band", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                }

                enum Tier {
                  TIER_UNSPECIFIED = 0;
                }
                """),
            new: tipScore(scoreType: "Tier", extra: """
                enum Band {
                  BAND_UNSPECIFIED = 0;
                }

                enum Tier {
                  TIER_UNSPECIFIED = 0;
                }
                """),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        // A closed enum drops unknown numbers, so WIRE reports this one.
        BreakingCase(
            name: "int32 -> closed proto2 enum",
            old: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional int32 band = 2;
                    }

                    enum Band {
                      BAND_LOW = 0;
                      BAND_HIGH = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto2("oo.events.v1", """
                    message TipScore {
                      optional Band band = 2;
                    }

                    enum Band {
                      BAND_LOW = 0;
                      BAND_HIGH = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "change a field's message type",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      TipScore tip = 1;
                    }

                    message TipScore {
                      string item_id = 1;
                    }

                    message TipScoreV2 {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      TipScoreV2 tip = 1;
                    }

                    message TipScore {
                      string item_id = 1;
                    }

                    message TipScoreV2 {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        // A proto3 message field has explicit presence, a proto3 bytes field implicit: FIELD_SAME_CARDINALITY too.
        BreakingCase(
            name: "message field -> bytes",
            old: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      TipScore tip = 1;
                    }

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/reaction.proto": proto3("oo.events.v1", """
                    message Reaction {
                      bytes tip = 1;
                    }

                    message TipScore {
                      string item_id = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CARDINALITY", "FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_CARDINALITY", "FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "field type bytes -> string",
            old: tipScore(scoreType: "bytes"),
            new: tipScore(scoreType: "string"),
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
        // buf accepts a same-named enum with the same values in WIRE and WIRE_JSON; we report any change of
        // the enum's full name.
        BreakingCase(
            name: "enum type -> same-named enum of another package",
            old: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    import "oo/common/v1/band.proto";

                    message TipScore {
                      Band band = 2;
                    }

                    enum Band {
                      BAND_UNSPECIFIED = 0;
                      BAND_HIGH = 1;
                    }
                    """),
                "oo/common/v1/band.proto": proto3("oo.common.v1", """
                    enum Band {
                      BAND_UNSPECIFIED = 0;
                      BAND_HIGH = 1;
                    }
                    """),
            ],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    import "oo/common/v1/band.proto";

                    message TipScore {
                      oo.common.v1.Band band = 2;
                    }

                    enum Band {
                      BAND_UNSPECIFIED = 0;
                      BAND_HIGH = 1;
                    }
                    """),
                "oo/common/v1/band.proto": proto3("oo.common.v1", """
                    enum Band {
                      BAND_UNSPECIFIED = 0;
                      BAND_HIGH = 1;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_TYPE"],
                .package: ["FIELD_SAME_TYPE"],
                .wireJSON: ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
                .wire: ["FIELD_WIRE_COMPATIBLE_TYPE"],
            ]
        ),
    ]

    /// Field options.
    static let fieldOptionCases: [BreakingCase] = [
        BreakingCase(
            name: "set ctype = CORD",
            old: ["oo/events/v1/tip_score.proto": tipScoreBase],
            new: [
                "oo/events/v1/tip_score.proto": proto3("oo.events.v1", """
                    message TipScore {
                      string item_id = 1 [ctype = CORD];
                      int32 score = 2;
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_CPP_STRING_TYPE"],
                .package: ["FIELD_SAME_CPP_STRING_TYPE"],
            ]
        ),
        BreakingCase(
            name: "set jstype = JS_STRING",
            old: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      int64 user_id = 1;
                    }
                    """),
            ],
            new: [
                "oo/features/v1/feature_vector.proto": proto3("oo.features.v1", """
                    message FeatureVector {
                      int64 user_id = 1 [jstype = JS_STRING];
                    }
                    """),
            ],
            expected: [
                .file: ["FIELD_SAME_JSTYPE"],
                .package: ["FIELD_SAME_JSTYPE"],
            ]
        ),
    ]

    /// RPCs.
    static let rpcCases: [BreakingCase] = [
        BreakingCase(
            name: "make an rpc client-streaming",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                      rpc Feedback(stream FeedbackRequest) returns (FeedbackResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_SAME_CLIENT_STREAMING"],
                .package: ["RPC_SAME_CLIENT_STREAMING"],
                .wireJSON: ["RPC_SAME_CLIENT_STREAMING"],
                .wire: ["RPC_SAME_CLIENT_STREAMING"],
            ]
        ),
        BreakingCase(
            name: "make an rpc server-streaming",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (stream RecommendResponse);
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_SAME_SERVER_STREAMING"],
                .package: ["RPC_SAME_SERVER_STREAMING"],
                .wireJSON: ["RPC_SAME_SERVER_STREAMING"],
                .wire: ["RPC_SAME_SERVER_STREAMING"],
            ]
        ),
        BreakingCase(
            name: "change an rpc's request type",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(FeedbackRequest) returns (RecommendResponse);
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_SAME_REQUEST_TYPE"],
                .package: ["RPC_SAME_REQUEST_TYPE"],
                .wireJSON: ["RPC_SAME_REQUEST_TYPE"],
                .wire: ["RPC_SAME_REQUEST_TYPE"],
            ]
        ),
        BreakingCase(
            name: "change an rpc's response type",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse);
                      rpc Feedback(FeedbackRequest) returns (RecommendResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_SAME_RESPONSE_TYPE"],
                .package: ["RPC_SAME_RESPONSE_TYPE"],
                .wireJSON: ["RPC_SAME_RESPONSE_TYPE"],
                .wire: ["RPC_SAME_RESPONSE_TYPE"],
            ]
        ),
        BreakingCase(
            name: "set an rpc's idempotency level",
            old: ["oo/ranking/v1/recommender.proto": recommenderBase],
            new: [
                "oo/ranking/v1/recommender.proto": recommender(rpcs: """
                      rpc Recommend(RecommendRequest) returns (RecommendResponse) {
                        option idempotency_level = NO_SIDE_EFFECTS;
                      }
                      rpc Feedback(FeedbackRequest) returns (FeedbackResponse);
                    """),
            ],
            expected: [
                .file: ["RPC_SAME_IDEMPOTENCY_LEVEL"],
                .package: ["RPC_SAME_IDEMPOTENCY_LEVEL"],
                .wireJSON: ["RPC_SAME_IDEMPOTENCY_LEVEL"],
                .wire: ["RPC_SAME_IDEMPOTENCY_LEVEL"],
            ]
        ),
    ]
}

extension BreakingChangeCaseTests {
    /// The rule table of docs/schema-rules.md: every rule, and its categories (the catalog in
    /// `BreakingRule.all` must match it).
    static let ruleCategories: [String: Set<BreakingCategory>] = {
        var table: [String: Set<BreakingCategory>] = [:]
        func add(_ categories: Set<BreakingCategory>, _ ids: [String]) {
            for id in ids { table[id] = categories }
        }
        add([.file], [
            "FILE_NO_DELETE",
            "MESSAGE_NO_DELETE",
            "ENUM_NO_DELETE",
            "SERVICE_NO_DELETE",
            "EXTENSION_NO_DELETE",
        ])
        add([.package], [
            "PACKAGE_NO_DELETE",
            "PACKAGE_MESSAGE_NO_DELETE",
            "PACKAGE_ENUM_NO_DELETE",
            "PACKAGE_SERVICE_NO_DELETE",
            "PACKAGE_EXTENSION_NO_DELETE",
        ])
        add([.file, .package], [
            "RPC_NO_DELETE",
            "FIELD_NO_DELETE",
            "ENUM_VALUE_NO_DELETE",
            "ONEOF_NO_DELETE",
            "EXTENSION_MESSAGE_NO_DELETE",
            "FIELD_SAME_TYPE",
            "FIELD_SAME_CARDINALITY",
            "FIELD_SAME_CPP_STRING_TYPE",
            "FIELD_SAME_JAVA_UTF8_VALIDATION",
            "FIELD_SAME_JSTYPE",
            "FIELD_SAME_UTF8_VALIDATION",
            "ENUM_SAME_TYPE",
            "FILE_SAME_SYNTAX",
            "FILE_SAME_GO_PACKAGE",
            "FILE_SAME_JAVA_PACKAGE",
            "FILE_SAME_JAVA_MULTIPLE_FILES",
            "FILE_SAME_JAVA_OUTER_CLASSNAME",
            "FILE_SAME_JAVA_GENERIC_SERVICES",
            "FILE_SAME_CC_ENABLE_ARENAS",
            "FILE_SAME_CC_GENERIC_SERVICES",
            "FILE_SAME_CSHARP_NAMESPACE",
            "FILE_SAME_OBJC_CLASS_PREFIX",
            "FILE_SAME_OPTIMIZE_FOR",
            "FILE_SAME_PHP_CLASS_PREFIX",
            "FILE_SAME_PHP_METADATA_NAMESPACE",
            "FILE_SAME_PHP_NAMESPACE",
            "FILE_SAME_PY_GENERIC_SERVICES",
            "FILE_SAME_RUBY_PACKAGE",
            "FILE_SAME_SWIFT_PREFIX",
            "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
        ])
        add([.file, .package, .wireJSON], [
            "ENUM_SAME_JSON_FORMAT",
            "MESSAGE_SAME_JSON_FORMAT",
            "ENUM_VALUE_SAME_NAME",
            "FIELD_SAME_NAME",
            "FIELD_SAME_JSON_NAME",
        ])
        add([.file, .package, .wireJSON, .wire], [
            "FIELD_SAME_DEFAULT",
            "FIELD_SAME_ONEOF",
            "FILE_SAME_PACKAGE",
            "MESSAGE_SAME_REQUIRED_FIELDS",
            "RESERVED_MESSAGE_NO_DELETE",
            "RESERVED_ENUM_NO_DELETE",
            "RPC_SAME_CLIENT_STREAMING",
            "RPC_SAME_SERVER_STREAMING",
            "RPC_SAME_REQUEST_TYPE",
            "RPC_SAME_RESPONSE_TYPE",
            "RPC_SAME_IDEMPOTENCY_LEVEL",
        ])
        add([.wireJSON], [
            "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
            "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        ])
        add([.wireJSON, .wire], [
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
        ])
        add([.wire], [
            "FIELD_WIRE_COMPATIBLE_TYPE",
            "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        ])
        return table
    }()
}
