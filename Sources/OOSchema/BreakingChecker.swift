import SwiftProtobuf

/// Finds the breaking changes between two versions of a schema, under one category's
/// rules. Elements are matched as buf matches them: files by path, packages by name,
/// messages, enums and services by full name, fields and enum values by number, oneofs
/// and RPCs by name.
public struct BreakingChecker: Sendable {
    /// The category whose rules run.
    public let category: BreakingCategory
    let enabled: Set<String>

    /// A checker running the rules of `category` (default FILE, the strictest).
    public init(category: BreakingCategory = .file) {
        self.category = category
        self.enabled = Set(BreakingRule.all.filter { $0.categories.contains(category) }.map(\.id))
    }

    /// The same checker without the rules `excluded` picks.
    func excluding(_ excluded: (String) -> Bool) -> BreakingChecker {
        BreakingChecker(category: category, enabled: enabled.filter { !excluded($0) })
    }

    private init(category: BreakingCategory, enabled: Set<String>) {
        self.category = category
        self.enabled = enabled
    }

    /// Every breaking change from `old` to `new`, sorted by location, then rule.
    public func check(_ new: SchemaSet, against old: SchemaSet) -> [BreakingChange] {
        var run = CheckRun(old: old, new: new, enabled: enabled)
        run.checkFiles()
        run.checkPackages()
        run.checkMessages()
        run.checkEnums()
        run.checkServices()
        return run.changes.sorted { ($0.location, $0.ruleID, $0.message) < ($1.location, $1.ruleID, $1.message) }
    }
}

/// One comparison in progress: the two schemas and the changes found so far.
private struct CheckRun {
    let old: SchemaSet
    let new: SchemaSet
    let enabled: Set<String>
    var changes: [BreakingChange] = []

    mutating func report(_ rule: String, _ location: SourceLocation, _ message: String) {
        if enabled.contains(rule) { changes.append(BreakingChange(ruleID: rule, location: location, message: message)) }
    }

    // MARK: Files

    mutating func checkFiles() {
        for oldFile in old.files {
            guard let newInfo = new.filesByName[oldFile.name] else {
                if let own = old.ownFiles, !own.contains(oldFile.name) { continue }  // an import no longer used
                report("FILE_NO_DELETE", SourceLocation(file: oldFile.name, line: 1, column: 1),
                       "Previously present file \"\(oldFile.name)\" was deleted.")
                continue
            }
            let newFile = newInfo.proto
            if oldFile.package != newFile.package {
                report("FILE_SAME_PACKAGE", newInfo.location([2]),
                       "File \"\(newFile.name)\" changed its package from \"\(oldFile.package)\" to \"\(newFile.package)\": every type in it has a new full name.")
            }
            let oldSyntax = oldFile.syntax.isEmpty ? "proto2" : oldFile.syntax
            let newSyntax = newFile.syntax.isEmpty ? "proto2" : newFile.syntax
            if oldSyntax != newSyntax {
                report("FILE_SAME_SYNTAX", newInfo.location([12]),
                       "File \"\(newFile.name)\" changed its syntax from \"\(oldSyntax)\" to \"\(newSyntax)\".")
            }
            for rule in FileOptionRule.all {
                let before = rule.value(oldFile.options), after = rule.value(newFile.options)
                if before != after {
                    report(rule.id, newInfo.location([8, rule.number]),
                           "File option \"\(rule.option)\" changed from \"\(before)\" to \"\(after)\".")
                }
            }
            checkDeletions(in: oldFile, newFile: newInfo)
        }
    }

    /// Messages, enums, services and extensions of `oldFile` that `newFile` lost.
    private mutating func checkDeletions(in oldFile: Google_Protobuf_FileDescriptorProto, newFile: FileInfo) {
        let scope = oldFile.package.isEmpty ? "" : oldFile.package + "."
        // Elements are matched by their name within the file's package, as buf does: a
        // package change is FILE_SAME_PACKAGE, not a deletion of everything in the file.
        let newScope = newFile.proto.package.isEmpty ? "" : newFile.proto.package + "."
        func renamed(_ name: String) -> String { newScope + name.dropFirst(scope.count) }
        func stillHere(_ name: String, _ info: FileInfo?) -> Bool { info?.name == newFile.name }
        // Where to report the loss of something declared in `parent` (nil: the file itself).
        func place(_ parent: String?) -> SourceLocation {
            if let parent, let message = new.messages[renamed(parent)], message.file.name == newFile.name {
                return message.file.location(message.path)
            }
            return SourceLocation(file: newFile.name, line: 1, column: 1)
        }
        var pending: [(Google_Protobuf_DescriptorProto, parent: String?)] = oldFile.messageType.map { ($0, nil) }
        for proto in oldFile.enumType where !stillHere(scope + proto.name, new.enums[renamed(scope + proto.name)]?.file) {
            report("ENUM_NO_DELETE", place(nil), "Previously present enum \"\(scope + proto.name)\" was deleted from file \"\(newFile.name)\".")
        }
        for field in oldFile.extension where new.extensions[renamed(scope + field.name)] == nil {
            report("EXTENSION_NO_DELETE", place(nil), "Previously present extension \"\(scope + field.name)\" was deleted from file \"\(newFile.name)\".")
        }
        for service in oldFile.service where !stillHere(scope + service.name, new.services[renamed(scope + service.name)]?.file) {
            report("SERVICE_NO_DELETE", place(nil), "Previously present service \"\(scope + service.name)\" was deleted from file \"\(newFile.name)\".")
        }
        while let (message, parent) = pending.popLast() {
            let fullName = (parent.map { $0 + "." } ?? scope) + message.name
            if !message.options.mapEntry, !stillHere(fullName, new.messages[renamed(fullName)]?.file) {
                report("MESSAGE_NO_DELETE", place(parent),
                       "Previously present message \"\(fullName)\" was deleted from file \"\(newFile.name)\".")
            }
            for nested in message.enumType where !stillHere(fullName + "." + nested.name, new.enums[renamed(fullName + "." + nested.name)]?.file) {
                report("ENUM_NO_DELETE", place(fullName),
                       "Previously present enum \"\(fullName).\(nested.name)\" was deleted from file \"\(newFile.name)\".")
            }
            for field in message.extension where new.extensions[renamed(fullName + "." + field.name)] == nil {
                report("EXTENSION_NO_DELETE", place(fullName),
                       "Previously present extension \"\(fullName).\(field.name)\" was deleted from file \"\(newFile.name)\".")
            }
            pending.append(contentsOf: message.nestedType.map { ($0, fullName) })
        }
    }

    // MARK: Packages

    mutating func checkPackages() {
        guard enabled.contains(where: { $0.hasPrefix("PACKAGE_") }) else { return }
        // Each kind of element grouped by package once (not scanned once per package).
        func byPackage<Element>(_ elements: some Sequence<Element>, _ package: (Element) -> String) -> [String: [Element]] {
            Dictionary(grouping: elements, by: package)
        }
        let messagesByPackage = byPackage(old.messages.values) { $0.file.proto.package }
        let enumsByPackage = byPackage(old.enums.values) { $0.file.proto.package }
        let servicesByPackage = byPackage(old.services.values) { $0.file.proto.package }
        let extensionsByPackage = byPackage(old.extensions) { $0.value.file.proto.package }
        for (package, oldFiles) in old.packages.sorted(by: { $0.key < $1.key }) {
            guard let newFiles = new.packages[package] else {
                report("PACKAGE_NO_DELETE", SourceLocation(file: oldFiles[0], line: 1, column: 1),
                       "Previously present package \"\(package)\" was deleted.")
                continue
            }
            let place = SourceLocation(file: newFiles[0], line: 1, column: 1)
            func lost(_ kind: String, _ rule: String, _ names: some Sequence<String>) -> [(String, String)] {
                names.sorted().map { (rule, "Previously present \(kind) \"\($0)\" was deleted from package \"\(package)\".") }
            }
            var missing: [(String, String)] = []
            missing += lost("message", "PACKAGE_MESSAGE_NO_DELETE", (messagesByPackage[package] ?? []).filter {
                !$0.proto.options.mapEntry && new.messages[$0.fullName] == nil
            }.map(\.fullName))
            missing += lost("enum", "PACKAGE_ENUM_NO_DELETE", (enumsByPackage[package] ?? []).filter {
                new.enums[$0.fullName] == nil
            }.map(\.fullName))
            missing += lost("service", "PACKAGE_SERVICE_NO_DELETE", (servicesByPackage[package] ?? []).filter {
                new.services[$0.fullName] == nil
            }.map(\.fullName))
            missing += lost("extension", "PACKAGE_EXTENSION_NO_DELETE", (extensionsByPackage[package] ?? []).filter {
                new.extensions[$0.key] == nil
            }.map(\.key))
            for (rule, message) in missing { report(rule, place, message) }
        }
    }

    // MARK: Messages and fields

    mutating func checkMessages() {
        for (name, oldMessage) in old.messages {
            guard let newMessage = new.messages[name] else { continue }
            checkMessage(oldMessage, newMessage)
        }
    }

    private mutating func checkMessage(_ oldInfo: MessageInfo, _ newInfo: MessageInfo) {
        let oldMessage = oldInfo.proto, newMessage = newInfo.proto
        let name = newInfo.fullName
        let here = newInfo.file.location(newInfo.path)
        let newFields = Dictionary(newMessage.field.enumerated().map { ($1.number, $0) }, uniquingKeysWith: { first, _ in first })
        let reservedNumbers = newMessage.reservedRange.compactMap { $0.start < $0.end ? $0.start..<$0.end : nil }
        let reservedNames = Set(newMessage.reservedName)

        for oldField in oldMessage.field {
            guard let index = newFields[oldField.number] else {
                let what = "Previously present field \(oldField.number) \"\(oldField.name)\" on message \"\(name)\" was deleted"
                report("FIELD_NO_DELETE", here, what + ".")
                if !reservedNumbers.contains(where: { $0.contains(oldField.number) }) {
                    report("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", here,
                           what + " without reserving the number \(oldField.number): a new field reusing it would misread old data.")
                }
                if !reservedNames.contains(oldField.name) {
                    report("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", here,
                           what + " without reserving the name \"\(oldField.name)\": a new field reusing it would misread old JSON.")
                }
                continue
            }
            checkField(oldField, in: oldInfo, newMessage.field[index], in: newInfo, path: newInfo.path + [2, Int32(index)])
        }

        let newOneofs = Set(realOneofs(newMessage))
        for oneof in realOneofs(oldMessage) where !newOneofs.contains(oneof) {
            report("ONEOF_NO_DELETE", here, "Previously present oneof \"\(oneof)\" on message \"\(name)\" was deleted.")
        }
        let extensionRanges = sortedSpans(newMessage.extensionRange.map { ($0.start, $0.end, false) })
        for span in spans(oldMessage.extensionRange.map { ($0.start, $0.end, false) }) where !covered(span, by: extensionRanges) {
            report("EXTENSION_MESSAGE_NO_DELETE", here,
                   "Previously present extension range \(describe(span)) on message \"\(name)\" was deleted.")
        }
        let reservedSpans = sortedSpans(newMessage.reservedRange.map { ($0.start, $0.end, false) })
        for span in spans(oldMessage.reservedRange.map { ($0.start, $0.end, false) }) where !covered(span, by: reservedSpans) {
            report("RESERVED_MESSAGE_NO_DELETE", newInfo.file.location(newInfo.path + [9]),
                   "Previously present reserved range \(describe(span)) on message \"\(name)\" was deleted: its numbers may be reused.")
        }
        for reserved in oldMessage.reservedName where !reservedNames.contains(reserved) {
            report("RESERVED_MESSAGE_NO_DELETE", newInfo.file.location(newInfo.path + [10]),
                   "Previously present reserved name \"\(reserved)\" on message \"\(name)\" was deleted: it may be reused.")
        }
        let oldRequired = Set(oldMessage.field.filter { $0.label == .required }.map(\.number))
        let newRequired = Set(newMessage.field.filter { $0.label == .required }.map(\.number))
        for number in newRequired.subtracting(oldRequired).sorted() {
            report("MESSAGE_SAME_REQUIRED_FIELDS", here,
                   "Message \"\(name)\" has a new required field \(number): data written without it no longer parses.")
        }
        for number in oldRequired.subtracting(newRequired).sorted() {
            report("MESSAGE_SAME_REQUIRED_FIELDS", here,
                   "Message \"\(name)\" no longer requires field \(number): old readers reject data without it.")
        }
        // JSON support narrows from ALLOW (proto3) to LEGACY_BEST_EFFORT (proto2); map entries
        // are the map field's business.
        if oldInfo.file.isProto3, !newInfo.file.isProto3, !newMessage.options.mapEntry {
            report("MESSAGE_SAME_JSON_FORMAT", here,
                   "Message \"\(name)\" changed its JSON support from \(jsonFormat(oldInfo.file)) to \(jsonFormat(newInfo.file)) (the file's syntax changed).")
        }
        if !oldMessage.options.noStandardDescriptorAccessor, newMessage.options.noStandardDescriptorAccessor {
            report("MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR", newInfo.file.location(newInfo.path + [7]),
                   "Message \"\(name)\" turned on no_standard_descriptor_accessor: generated code loses descriptor().")
        }
    }

    private mutating func checkField(
        _ oldField: Google_Protobuf_FieldDescriptorProto, in oldMessage: MessageInfo,
        _ newField: Google_Protobuf_FieldDescriptorProto, in newMessage: MessageInfo, path: [Int32]
    ) {
        let file = newMessage.file
        let what = "Field \(newField.number) \"\(newField.name)\" on message \"\(newMessage.fullName)\""
        // A map entry has no source of its own: point at the map field that declares it.
        let mapField = newMessage.proto.options.mapEntry ? mapFieldPath(of: newMessage) : nil
        func location(_ subpath: [Int32]) -> SourceLocation { file.location(mapField ?? (path + subpath)) }
        if oldField.name != newField.name {
            report("FIELD_SAME_NAME", location([1]),
                   "\(what) changed name from \"\(oldField.name)\" to \"\(newField.name)\".")
        }
        let oldJSON = jsonName(oldField), newJSON = jsonName(newField)
        if oldJSON != newJSON {
            report("FIELD_SAME_JSON_NAME", location([10]),
                   "\(what) changed its JSON name from \"\(oldJSON)\" to \"\(newJSON)\": JSON written with the old name is ignored.")
        }

        let oldType = typeName(oldField), newType = typeName(newField)
        if oldType != newType {
            let at = location([newField.hasTypeName ? 6 : 5])
            let change = "\(what) changed type from \"\(oldType)\" to \"\(newType)\""
            report("FIELD_SAME_TYPE", at, change + ".")
            report("FIELD_WIRE_JSON_COMPATIBLE_TYPE", at, change + ": readers of data written with the other type misread it.")
            report("FIELD_WIRE_COMPATIBLE_TYPE", at, change + ": " + wireConsequence(oldField.type, newField.type))
        }

        let oldCardinality = cardinality(oldField, in: old, proto3: oldMessage.file.isProto3)
        let newCardinality = cardinality(newField, in: new, proto3: file.isProto3)
        // A map entry's key and value have no cardinality of their own (it is the map's).
        if oldCardinality != newCardinality, !newMessage.proto.options.mapEntry {
            let at = location([4])
            report("FIELD_SAME_CARDINALITY", at,
                   "\(what) changed cardinality from \"\(oldCardinality.rawValue)\" to \"\(newCardinality.rawValue)\".")
            let change = "\(what) changed from \(oldCardinality.jsonShape) to \(newCardinality.jsonShape)"
            let consequence = oldCardinality.wireShape == .required || newCardinality.wireShape == .required
                ? ": data without the field no longer parses for a reader that requires it."
                : oldCardinality.wireShape == newCardinality.wireShape
                    ? ": JSON writes a map as an object and a repeated field as an array."
                    : ": a singular reader keeps only the last of a repeated field's values."
            if oldCardinality.jsonShape != newCardinality.jsonShape {
                report("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", at, change + consequence)
            }
            if oldCardinality.wireShape != newCardinality.wireShape {
                report("FIELD_WIRE_COMPATIBLE_CARDINALITY", at, change + consequence)
            }
        }

        let oldOneof = oneofName(oldField, oldMessage.proto), newOneof = oneofName(newField, newMessage.proto)
        if oldOneof != newOneof {
            report("FIELD_SAME_ONEOF", location([]),
                   "\(what) moved from \(oldOneof.map { "oneof \"\($0)\"" } ?? "no oneof") to \(newOneof.map { "oneof \"\($0)\"" } ?? "no oneof"): setting a field of a oneof clears the others.")
        }
        let oldDefault = effectiveDefault(oldField, in: old), newDefault = effectiveDefault(newField, in: new)
        if oldType == newType, oldDefault != newDefault {  // a type change is reported as such
            report("FIELD_SAME_DEFAULT", location([7]),
                   "\(what) changed its default from \"\(oldDefault)\" to \"\(newDefault)\": readers disagree on the value of an absent field.")
        }
        if oldField.options.ctype != newField.options.ctype {
            report("FIELD_SAME_CPP_STRING_TYPE", location([8]),
                   "\(what) changed its ctype from \(oldField.options.ctype) to \(newField.options.ctype).")
        }
        if oldField.options.jstype != newField.options.jstype {
            report("FIELD_SAME_JSTYPE", location([8]),
                   "\(what) changed its jstype from \(oldField.options.jstype) to \(newField.options.jstype).")
        }
        if oldField.type == .string, newField.type == .string {
            if oldMessage.file.isProto3 != file.isProto3 {
                report("FIELD_SAME_UTF8_VALIDATION", location([]),
                       "\(what) changed its UTF-8 validation (the file's syntax changed): invalid UTF-8 \(file.isProto3 ? "no longer parses" : "is no longer rejected").")
            }
            // Java checks proto3 strings always, proto2 strings when java_string_check_utf8 is set.
            let oldJava = oldMessage.file.isProto3 || oldMessage.file.proto.options.javaStringCheckUtf8
            let newJava = file.isProto3 || file.proto.options.javaStringCheckUtf8
            if oldJava != newJava {
                report("FIELD_SAME_JAVA_UTF8_VALIDATION", location([]),
                       "\(what) changed its Java UTF-8 validation (java_string_check_utf8).")
            }
        }
    }

    /// The source path of the map field whose entry message is `entry`.
    private func mapFieldPath(of entry: MessageInfo) -> [Int32]? {
        guard let dot = entry.fullName.lastIndex(of: "."), let parent = new.messages[String(entry.fullName[..<dot])],
              let index = parent.proto.field.firstIndex(where: { strip($0.typeName) == entry.fullName }) else { return nil }
        return parent.path + [2, Int32(index)]
    }

    // MARK: Enums

    mutating func checkEnums() {
        for (name, oldInfo) in old.enums {
            guard let newInfo = new.enums[name] else { continue }
            let here = newInfo.file.location(newInfo.path)
            let oldEnum = oldInfo.proto, newEnum = newInfo.proto
            var newNames: [Int32: Set<String>] = [:]
            var newIndex: [Int32: Int] = [:]
            for (index, value) in newEnum.value.enumerated() {
                newNames[value.number, default: []].insert(value.name)
                if newIndex[value.number] == nil { newIndex[value.number] = index }
            }
            let reservedNumbers = newEnum.reservedRange.compactMap { $0.start <= $0.end ? $0.start...$0.end : nil }
            let reservedNames = Set(newEnum.reservedName)
            var oldNamesByNumber: [Int32: Set<String>] = [:]
            for value in oldEnum.value { oldNamesByNumber[value.number, default: []].insert(value.name) }
            var seen = Set<Int32>()
            for value in oldEnum.value where seen.insert(value.number).inserted {
                guard let names = newNames[value.number] else {
                    let what = "Previously present enum value \(value.number) \"\(value.name)\" on enum \"\(name)\" was deleted"
                    report("ENUM_VALUE_NO_DELETE", here, what + ".")
                    if !reservedNumbers.contains(where: { $0.contains(value.number) }) {
                        report("ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED", here,
                               what + " without reserving the number \(value.number): a new value reusing it would misread old data.")
                    }
                    if !reservedNames.contains(value.name) {
                        report("ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", here,
                               what + " without reserving the name \"\(value.name)\": old JSON with it no longer parses.")
                    }
                    continue
                }
                let oldNames = oldNamesByNumber[value.number] ?? []
                if !oldNames.isSubset(of: names) {
                    report("ENUM_VALUE_SAME_NAME", newInfo.file.location(newInfo.path + [2, Int32(newIndex[value.number]!), 1]),
                           "Enum value \(value.number) on enum \"\(name)\" changed name from \"\(oldNames.sorted().joined(separator: "\", \""))\" to \"\(names.sorted().joined(separator: "\", \""))\": JSON written with the old name no longer parses.")
                }
            }
            // Enum reserved ranges include their end.
            let reservedSpans = sortedSpans(newEnum.reservedRange.map { ($0.start, $0.end, true) })
            for span in spans(oldEnum.reservedRange.map { ($0.start, $0.end, true) }) where !covered(span, by: reservedSpans) {
                report("RESERVED_ENUM_NO_DELETE", newInfo.file.location(newInfo.path + [4]),
                       "Previously present reserved range \(describe(span)) on enum \"\(name)\" was deleted: its numbers may be reused.")
            }
            for reserved in oldEnum.reservedName where !reservedNames.contains(reserved) {
                report("RESERVED_ENUM_NO_DELETE", newInfo.file.location(newInfo.path + [5]),
                       "Previously present reserved name \"\(reserved)\" on enum \"\(name)\" was deleted: it may be reused.")
            }
            if oldInfo.file.isProto3, !newInfo.file.isProto3 {
                report("ENUM_SAME_JSON_FORMAT", here,
                       "Enum \"\(name)\" changed its JSON support from \(jsonFormat(oldInfo.file)) to \(jsonFormat(newInfo.file)) (the file's syntax changed).")
            }
            if oldInfo.file.isProto3 != newInfo.file.isProto3 {
                report("ENUM_SAME_TYPE", here,
                       "Enum \"\(name)\" changed from \(oldInfo.file.isProto3 ? "open" : "closed") to \(newInfo.file.isProto3 ? "open" : "closed"): unknown values are now \(newInfo.file.isProto3 ? "kept in the field" : "moved to unknown fields").")
            }
        }
    }

    // MARK: Services

    mutating func checkServices() {
        for (name, oldInfo) in old.services {
            guard let newInfo = new.services[name] else { continue }
            let here = newInfo.file.location(newInfo.path)
            let newMethods = Dictionary(newInfo.proto.method.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
            for oldMethod in oldInfo.proto.method {
                guard let index = newMethods[oldMethod.name] else {
                    report("RPC_NO_DELETE", here, "Previously present RPC \"\(oldMethod.name)\" on service \"\(name)\" was deleted.")
                    continue
                }
                let newMethod = newInfo.proto.method[index]
                let path = newInfo.path + [2, Int32(index)]
                let what = "RPC \"\(newMethod.name)\" on service \"\(name)\""
                if oldMethod.clientStreaming != newMethod.clientStreaming {
                    report("RPC_SAME_CLIENT_STREAMING", newInfo.file.location(path + [5]),
                           "\(what) changed from \(oldMethod.clientStreaming ? "client streaming" : "a single request") to \(newMethod.clientStreaming ? "client streaming" : "a single request").")
                }
                if oldMethod.serverStreaming != newMethod.serverStreaming {
                    report("RPC_SAME_SERVER_STREAMING", newInfo.file.location(path + [6]),
                           "\(what) changed from \(oldMethod.serverStreaming ? "server streaming" : "a single response") to \(newMethod.serverStreaming ? "server streaming" : "a single response").")
                }
                if oldMethod.inputType != newMethod.inputType {
                    report("RPC_SAME_REQUEST_TYPE", newInfo.file.location(path + [2]),
                           "\(what) changed its request type from \"\(strip(oldMethod.inputType))\" to \"\(strip(newMethod.inputType))\".")
                }
                if oldMethod.outputType != newMethod.outputType {
                    report("RPC_SAME_RESPONSE_TYPE", newInfo.file.location(path + [3]),
                           "\(what) changed its response type from \"\(strip(oldMethod.outputType))\" to \"\(strip(newMethod.outputType))\".")
                }
                if oldMethod.options.idempotencyLevel != newMethod.options.idempotencyLevel {
                    report("RPC_SAME_IDEMPOTENCY_LEVEL", newInfo.file.location(path + [4]),
                           "\(what) changed its idempotency_level from \(oldMethod.options.idempotencyLevel) to \(newMethod.options.idempotencyLevel).")
                }
            }
        }
    }
}

// MARK: - Field properties

/// How many values a field holds and whether its presence is tracked.
private enum Cardinality: String {
    case implicit = "implicit presence"
    case optional = "optional"
    case required
    case repeated
    case map

    /// What the binary encoding can tell apart (a map is a repeated entry message).
    var wireShape: Shape {
        switch self {
        case .implicit, .optional: return .singular
        case .repeated, .map: return .repeated
        case .required: return .required
        }
    }

    /// What the binary or the JSON encoding can tell apart (JSON writes maps as objects).
    var jsonShape: Shape {
        self == .map ? .map : wireShape
    }
}

private enum Shape: String, CustomStringConvertible {
    case singular, repeated, map, required
    var description: String { rawValue }
}

private func cardinality(_ field: Google_Protobuf_FieldDescriptorProto, in schema: SchemaSet, proto3: Bool) -> Cardinality {
    switch field.label {
    case .required:
        return .required
    case .repeated:
        if field.type == .message, schema.messages[strip(field.typeName)]?.proto.options.mapEntry == true { return .map }
        return .repeated
    default:
        let tracksPresence = !proto3 || field.proto3Optional || field.hasOneofIndex || field.type == .message || field.type == .group
        return tracksPresence ? .optional : .implicit
    }
}

/// The names of a message's oneofs, without proto3 `optional`'s synthetic ones.
private func realOneofs(_ message: Google_Protobuf_DescriptorProto) -> [String] {
    message.oneofDecl.enumerated().compactMap { index, oneof in
        let members = message.field.filter { $0.hasOneofIndex && $0.oneofIndex == Int32(index) }
        return members.count == 1 && members[0].proto3Optional ? nil : oneof.name
    }
}

/// The value a reader sees for an absent field: its `default`, or the type's zero value (the
/// first value of an enum), written so that equal values compare equal ("0" and "0.0").
private func effectiveDefault(_ field: Google_Protobuf_FieldDescriptorProto, in schema: SchemaSet) -> String {
    switch field.type {
    case .message, .group:
        return ""
    case .enum:
        return field.hasDefaultValue ? field.defaultValue : schema.enums[strip(field.typeName)]?.proto.value.first?.name ?? ""
    case .string, .bytes:
        return field.defaultValue
    case .bool:
        return field.hasDefaultValue ? field.defaultValue : "false"
    default:
        guard field.hasDefaultValue else { return "0" }
        if let number = Double(field.defaultValue) { return number == 0 ? "0" : "\(number)" }
        return field.defaultValue  // inf, -inf, nan
    }
}

/// The JSON support a file's syntax gives its types (editions' json_format feature).
private func jsonFormat(_ file: FileInfo) -> String {
    file.isProto3 ? "ALLOW" : "LEGACY_BEST_EFFORT"
}

private func oneofName(_ field: Google_Protobuf_FieldDescriptorProto, _ message: Google_Protobuf_DescriptorProto) -> String? {
    guard field.hasOneofIndex, !field.proto3Optional, field.oneofIndex >= 0, Int(field.oneofIndex) < message.oneofDecl.count else { return nil }
    return message.oneofDecl[Int(field.oneofIndex)].name
}

/// The field's type as written in a `.proto` file.
private func typeName(_ field: Google_Protobuf_FieldDescriptorProto) -> String {
    switch field.type {
    case .message, .group, .enum: return strip(field.typeName)
    default: return scalarName(field.type)
    }
}

private func scalarName(_ type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> String {
    switch type {
    case .double: return "double"
    case .float: return "float"
    case .int64: return "int64"
    case .uint64: return "uint64"
    case .int32: return "int32"
    case .fixed64: return "fixed64"
    case .fixed32: return "fixed32"
    case .bool: return "bool"
    case .string: return "string"
    case .group: return "group"
    case .message: return "message"
    case .bytes: return "bytes"
    case .uint32: return "uint32"
    case .enum: return "enum"
    case .sfixed32: return "sfixed32"
    case .sfixed64: return "sfixed64"
    case .sint32: return "sint32"
    case .sint64: return "sint64"
    }
}

/// What goes wrong on the wire when a field changes from `old` to `new`.
private func wireConsequence(_ old: Google_Protobuf_FieldDescriptorProto.TypeEnum, _ new: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> String {
    let varints: Set<Google_Protobuf_FieldDescriptorProto.TypeEnum> = [.int32, .int64, .uint32, .uint64, .bool, .enum]
    switch (old, new) {
    case (.enum, .enum):
        return "another enum: the same numbers now name other values."
    case _ where varints.contains(old) && varints.contains(new):
        return "both are varints, but values outside the narrower type's range are truncated or change sign (int64 5000000000 reads as int32 705032704)."
    case (.sint32, .sint64), (.sint64, .sint32):
        return "values outside the 32-bit range are truncated."
    case (.fixed32, .sfixed32), (.sfixed32, .fixed32), (.fixed64, .sfixed64), (.sfixed64, .fixed64):
        return "the same bits read with the other signedness: large values become negative."
    case (.string, .bytes), (.bytes, .string):
        return "bytes that are not UTF-8 make the string reader fail to parse."
    default:
        return "readers of old data decode garbage."
    }
}

private func jsonName(_ field: Google_Protobuf_FieldDescriptorProto) -> String {
    if field.hasJsonName { return field.jsonName }
    var result = "", upperNext = false
    for character in field.name {
        if character == "_" {
            upperNext = true
        } else if upperNext {
            result += character.uppercased()
            upperNext = false
        } else {
            result.append(character)
        }
    }
    return result
}

private func strip(_ typeName: String) -> String {
    typeName.hasPrefix(".") ? String(typeName.dropFirst()) : typeName
}

/// Number ranges as half-open spans, leaving out malformed ones (start after end), which
/// hostile descriptor sets may carry; `inclusive` for enum ranges, whose end is included.
private func spans(_ ranges: [(start: Int32, end: Int32, inclusive: Bool)]) -> [Range<Int64>] {
    ranges.compactMap { start, end, inclusive in
        let upper = Int64(end) + (inclusive ? 1 : 0)
        return Int64(start) < upper ? Int64(start)..<upper : nil
    }
}

private func sortedSpans(_ ranges: [(start: Int32, end: Int32, inclusive: Bool)]) -> [Range<Int64>] {
    spans(ranges).sorted { $0.lowerBound < $1.lowerBound }
}

/// Whether `range` lies entirely within the union of `ranges` (sorted by lower bound).
private func covered(_ range: Range<Int64>, by ranges: [Range<Int64>]) -> Bool {
    var next = range.lowerBound
    for candidate in ranges where candidate.lowerBound <= next {
        next = max(next, candidate.upperBound)
        if next >= range.upperBound { return true }
    }
    return next >= range.upperBound
}

/// A range as `.proto` files write it (`5`, `5 to 9`).
private func describe(_ range: Range<Int64>) -> String {
    range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound - 1)"
}
