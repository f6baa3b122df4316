import SwiftProtobuf

/// How strict a breaking-change check is: buf's categories, strictest first. A check in
/// one category runs every rule listed with it (``BreakingRule/categories``).
public enum BreakingCategory: String, CaseIterable, Sendable, Codable {
    /// Generated source keeps compiling, file by file (the default).
    case file = "FILE"
    /// Generated source keeps compiling, package by package: elements may move between the
    /// files of a package.
    case package = "PACKAGE"
    /// The binary and the JSON encodings keep their meaning.
    case wireJSON = "WIRE_JSON"
    /// The binary encoding keeps its meaning.
    case wire = "WIRE"
}

/// One breaking-change rule: an id shared with `buf breaking` where the meaning is the same,
/// the categories that include it, and what it checks. `docs/schema-rules.md` explains
/// each with an example.
public struct BreakingRule: Sendable, Hashable {
    /// The rule id, e.g. `FIELD_SAME_TYPE`.
    public let id: String
    /// The categories whose checks run this rule.
    public let categories: Set<BreakingCategory>
    /// What the rule checks, in one sentence.
    public let purpose: String

    init(_ id: String, _ categories: Set<BreakingCategory>, _ purpose: String) {
        self.id = id
        self.categories = categories
        self.purpose = purpose
    }

    /// Every rule this checker implements.
    public static let all: [BreakingRule] = deletionRules + fieldRules + typeRules + fileRules + rpcRules + reservationRules

    /// The rule with `id`, if there is one.
    public static func named(_ id: String) -> BreakingRule? { byID[id] }

    private static let byID = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    private static let fileAndPackage: Set<BreakingCategory> = [.file, .package]
    private static let source: Set<BreakingCategory> = [.file, .package, .wireJSON]
    private static let every: Set<BreakingCategory> = Set(BreakingCategory.allCases)

    private static let deletionRules: [BreakingRule] = [
        BreakingRule("FILE_NO_DELETE", [.file], "Files are not deleted."),
        BreakingRule("MESSAGE_NO_DELETE", [.file], "Messages are not deleted from a given file."),
        BreakingRule("ENUM_NO_DELETE", [.file], "Enums are not deleted from a given file."),
        BreakingRule("SERVICE_NO_DELETE", [.file], "Services are not deleted from a given file."),
        BreakingRule("EXTENSION_NO_DELETE", [.file], "Extensions are not deleted from a given file."),
        BreakingRule("PACKAGE_NO_DELETE", [.package], "Packages are not deleted."),
        BreakingRule("PACKAGE_MESSAGE_NO_DELETE", [.package], "Messages are not deleted from a given package."),
        BreakingRule("PACKAGE_ENUM_NO_DELETE", [.package], "Enums are not deleted from a given package."),
        BreakingRule("PACKAGE_SERVICE_NO_DELETE", [.package], "Services are not deleted from a given package."),
        BreakingRule("PACKAGE_EXTENSION_NO_DELETE", [.package], "Extensions are not deleted from a given package."),
        BreakingRule("RPC_NO_DELETE", fileAndPackage, "RPCs are not deleted from a given service."),
        BreakingRule("FIELD_NO_DELETE", fileAndPackage, "Fields are not deleted from a given message."),
        BreakingRule("ENUM_VALUE_NO_DELETE", fileAndPackage, "Enum values are not deleted from a given enum."),
        BreakingRule("ONEOF_NO_DELETE", fileAndPackage, "Oneofs are not deleted from a given message."),
        BreakingRule("EXTENSION_MESSAGE_NO_DELETE", fileAndPackage, "Extension ranges are not deleted from a given message."),
        BreakingRule("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", [.wireJSON], "Fields are not deleted unless their name is reserved."),
        BreakingRule("ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", [.wireJSON], "Enum values are not deleted unless their name is reserved."),
        BreakingRule("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", [.wireJSON, .wire], "Fields are not deleted unless their number is reserved."),
        BreakingRule("ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED", [.wireJSON, .wire], "Enum values are not deleted unless their number is reserved."),
    ]

    private static let fieldRules: [BreakingRule] = [
        BreakingRule("FIELD_SAME_CARDINALITY", fileAndPackage, "Fields keep their cardinality (implicit, optional, required, repeated, map)."),
        BreakingRule("FIELD_SAME_CPP_STRING_TYPE", fileAndPackage, "Fields keep their ctype option."),
        BreakingRule("FIELD_SAME_JAVA_UTF8_VALIDATION", fileAndPackage, "String fields keep their Java UTF-8 validation (java_string_check_utf8)."),
        BreakingRule("FIELD_SAME_JSTYPE", fileAndPackage, "Fields keep their jstype option."),
        BreakingRule("FIELD_SAME_UTF8_VALIDATION", fileAndPackage, "String fields keep their UTF-8 validation (proto3 verifies, proto2 does not)."),
        BreakingRule("ENUM_SAME_TYPE", fileAndPackage, "Enums stay open (proto3) or closed (proto2)."),
        BreakingRule("MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR", fileAndPackage, "Messages do not turn on no_standard_descriptor_accessor."),
        BreakingRule("ENUM_VALUE_SAME_NAME", source, "Enum values keep their names."),
        BreakingRule("ENUM_SAME_JSON_FORMAT", source, "Enums keep their JSON support (proto3 ALLOW, proto2 LEGACY_BEST_EFFORT)."),
        BreakingRule("MESSAGE_SAME_JSON_FORMAT", source, "Messages keep their JSON support (proto3 ALLOW, proto2 LEGACY_BEST_EFFORT)."),
        BreakingRule("FIELD_SAME_NAME", source, "Fields keep their names."),
        BreakingRule("FIELD_SAME_JSON_NAME", source, "Fields keep their JSON names."),
        BreakingRule("FIELD_SAME_DEFAULT", every, "Fields keep their default values."),
        BreakingRule("FIELD_SAME_ONEOF", every, "Fields stay in (or out of) the same oneof."),
        BreakingRule("MESSAGE_SAME_REQUIRED_FIELDS", every, "Messages neither gain nor lose required fields."),
    ]

    private static let typeRules: [BreakingRule] = [
        BreakingRule("FIELD_SAME_TYPE", fileAndPackage, "Fields keep their types."),
        BreakingRule("FIELD_WIRE_JSON_COMPATIBLE_TYPE", [.wireJSON],
                     "Fields keep their types (stricter than buf: no change of type keeps every value in binary and JSON)."),
        BreakingRule("FIELD_WIRE_COMPATIBLE_TYPE", [.wire],
                     "Fields keep their types (stricter than buf: the changes buf allows truncate or reinterpret values)."),
        BreakingRule("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", [.wireJSON],
                     "Fields do not change between singular, repeated, map and required."),
        BreakingRule("FIELD_WIRE_COMPATIBLE_CARDINALITY", [.wire],
                     "Fields do not change between singular, repeated (or map) and required."),
    ]

    private static let fileRules: [BreakingRule] = [
        BreakingRule("FILE_SAME_PACKAGE", every, "Files keep their package."),
        BreakingRule("FILE_SAME_SYNTAX", fileAndPackage, "Files keep their syntax."),
    ] + FileOptionRule.all.map { BreakingRule($0.id, fileAndPackage, "Files keep their \($0.option) option.") }

    private static let rpcRules: [BreakingRule] = [
        BreakingRule("RPC_SAME_CLIENT_STREAMING", every, "RPCs keep their client streaming."),
        BreakingRule("RPC_SAME_SERVER_STREAMING", every, "RPCs keep their server streaming."),
        BreakingRule("RPC_SAME_REQUEST_TYPE", every, "RPCs keep their request type."),
        BreakingRule("RPC_SAME_RESPONSE_TYPE", every, "RPCs keep their response type."),
        BreakingRule("RPC_SAME_IDEMPOTENCY_LEVEL", every, "RPCs keep their idempotency_level option."),
    ]

    private static let reservationRules: [BreakingRule] = [
        BreakingRule("RESERVED_MESSAGE_NO_DELETE", every, "Reserved ranges and names are not deleted from a given message."),
        BreakingRule("RESERVED_ENUM_NO_DELETE", every, "Reserved ranges and names are not deleted from a given enum."),
    ]
}

/// A file option whose change breaks generated code, and how to read it.
struct FileOptionRule: Sendable {
    let id: String
    let option: String
    /// The option's field number in `FileOptions` (for its source position).
    let number: Int32
    let value: @Sendable (Google_Protobuf_FileOptions) -> String

    static let all: [FileOptionRule] = [
        FileOptionRule(id: "FILE_SAME_JAVA_PACKAGE", option: "java_package", number: 1) { $0.javaPackage },
        FileOptionRule(id: "FILE_SAME_JAVA_OUTER_CLASSNAME", option: "java_outer_classname", number: 8) { $0.javaOuterClassname },
        FileOptionRule(id: "FILE_SAME_OPTIMIZE_FOR", option: "optimize_for", number: 9) { "\($0.optimizeFor)" },
        FileOptionRule(id: "FILE_SAME_JAVA_MULTIPLE_FILES", option: "java_multiple_files", number: 10) { "\($0.javaMultipleFiles)" },
        FileOptionRule(id: "FILE_SAME_GO_PACKAGE", option: "go_package", number: 11) { $0.goPackage },
        FileOptionRule(id: "FILE_SAME_CC_GENERIC_SERVICES", option: "cc_generic_services", number: 16) { "\($0.ccGenericServices)" },
        FileOptionRule(id: "FILE_SAME_JAVA_GENERIC_SERVICES", option: "java_generic_services", number: 17) { "\($0.javaGenericServices)" },
        FileOptionRule(id: "FILE_SAME_PY_GENERIC_SERVICES", option: "py_generic_services", number: 18) { "\($0.pyGenericServices)" },
        FileOptionRule(id: "FILE_SAME_CC_ENABLE_ARENAS", option: "cc_enable_arenas", number: 31) { "\($0.ccEnableArenas)" },
        FileOptionRule(id: "FILE_SAME_OBJC_CLASS_PREFIX", option: "objc_class_prefix", number: 36) { $0.objcClassPrefix },
        FileOptionRule(id: "FILE_SAME_CSHARP_NAMESPACE", option: "csharp_namespace", number: 37) { $0.csharpNamespace },
        FileOptionRule(id: "FILE_SAME_SWIFT_PREFIX", option: "swift_prefix", number: 39) { $0.swiftPrefix },
        FileOptionRule(id: "FILE_SAME_PHP_CLASS_PREFIX", option: "php_class_prefix", number: 40) { $0.phpClassPrefix },
        FileOptionRule(id: "FILE_SAME_PHP_NAMESPACE", option: "php_namespace", number: 41) { $0.phpNamespace },
        FileOptionRule(id: "FILE_SAME_PHP_METADATA_NAMESPACE", option: "php_metadata_namespace", number: 44) { $0.phpMetadataNamespace },
        FileOptionRule(id: "FILE_SAME_RUBY_PACKAGE", option: "ruby_package", number: 45) { $0.rubyPackage },
    ]
}
