import Foundation
import OOStorage
import OOMesh
import OOSchema
import RegistryProtos
import SwiftProtobuf
import Synchronization

/// The schema registry's configuration.
public struct SchemaRegistryConfiguration: Sendable {
    /// The rules compatibility is judged by. Defaults to WIRE_JSON: data in the binary and
    /// the JSON encoding stays readable.
    public var category: BreakingCategory = .wireJSON
    /// At most this many parsed registered versions are kept in memory for compatibility
    /// checks (candidates are never cached). Defaults to 64.
    public var parsedSchemaCacheSize = 64
    /// And at most this many bytes of their descriptor sets (parsed, they take roughly 20
    /// times as much memory). Defaults to 16 MiB.
    public var parsedSchemaCacheBytes = 16 << 20

    /// The defaults.
    public init() {}
}

/// `oo.registry.v1.SchemaRegistry`: subjects, versions, global ids, compatibility modes,
/// on a ``SchemaStore``.
public struct SchemaRegistryService: Oo_Registry_V1_SchemaRegistry_ServiceProtocol {
    private let store: SchemaStore
    private let checker: CompatibilityChecker
    private let cache: ParsedSchemaCache

    /// A registry on `store`.
    public init(store: SchemaStore, configuration: SchemaRegistryConfiguration = SchemaRegistryConfiguration()) {
        self.store = store
        self.checker = CompatibilityChecker(category: configuration.category)
        self.cache = ParsedSchemaCache(capacity: configuration.parsedSchemaCacheSize, maxBytes: configuration.parsedSchemaCacheBytes)
    }

    public func register(request: Oo_Registry_V1_RegisterRequest, context: ServerContext) async throws -> Oo_Registry_V1_RegisterResponse {
        try validate(subject: request.subject)
        let schema = try parse(request.fileDescriptorSet)
        // Parsed afresh, not from the cache: its own source positions locate the changes.
        let candidate = SchemaSet(descriptorSet: schema.descriptorSet)
        let outcome = try await storage {
            try await store.register(subject: request.subject, schemaID: schema.id, descriptorSet: schema.bytes) { [checker, cache] mode, previous in
                checker.check(candidate, against: previous.map { cache.schemaSet(id: $0.0.schemaID, bytes: $0.1) }, mode: mode)
            }
        }
        switch outcome {
        case .created(let version):
            return .with { $0.schemaID = schema.id; $0.version = Int32(version); $0.created = true }
        case .existing(let version):
            return .with { $0.schemaID = schema.id; $0.version = Int32(version); $0.created = false }
        case .incompatible(let changes):
            let mode = try await storage { try await store.mode(subject: request.subject).mode }
            let lines = changes.prefix(50).map(\.textLine).joined(separator: "\n")
            let more = changes.count > 50 ? "\n… and \(changes.count - 50) more" : ""
            throw RPCError(
                code: .failedPrecondition,
                message: "The schema is incompatible with subject '\(request.subject)' under \(mode.rawValue) (\(changes.count) breaking change\(changes.count == 1 ? "" : "s")):\n\(lines)\(more)")
        }
    }

    public func checkCompatibility(
        request: Oo_Registry_V1_CheckCompatibilityRequest, context: ServerContext
    ) async throws -> Oo_Registry_V1_CheckCompatibilityResponse {
        try validate(subject: request.subject)
        let schema = try parse(request.fileDescriptorSet)
        let candidate = SchemaSet(descriptorSet: schema.descriptorSet)
        let (mode, _) = try await storage { try await store.mode(subject: request.subject) }
        var changes: [(BreakingChange, Int)] = []
        let live = try await storage { try await store.versions(subject: request.subject, includeDeleted: false) }
        let checked = mode == .none ? [] : mode.isTransitive ? live : Array(live.suffix(1))
        for version in checked {
            guard let bytes = try await storage({ try await store.schema(id: version.schemaID) }) else { continue }
            let previous = cache.schemaSet(id: version.schemaID, bytes: bytes)
            // Each earlier version alone, so every change says which version it breaks.
            changes += checker.check(candidate, against: [previous], mode: mode.nonTransitive).map { ($0, version.version) }
        }
        return .with {
            $0.compatible = changes.isEmpty
            $0.mode = Self.wire(mode)
            $0.breakingChanges = changes.map { change, version in
                .with {
                    $0.ruleID = change.ruleID
                    $0.file = change.location.file
                    $0.line = Int32(clamping: change.location.line)
                    $0.column = Int32(clamping: change.location.column)
                    $0.message = change.message
                    $0.againstVersion = Int32(version)
                }
            }
        }
    }

    public func getSchema(request: Oo_Registry_V1_GetSchemaRequest, context: ServerContext) async throws -> Oo_Registry_V1_GetSchemaResponse {
        guard let bytes = try await storage({ try await store.schema(id: request.schemaID) }) else {
            throw RPCError(code: .notFound, message: "No schema has the id '\(request.schemaID)'.")
        }
        return .with { $0.schemaID = request.schemaID; $0.fileDescriptorSet = bytes }
    }

    public func getVersion(request: Oo_Registry_V1_GetVersionRequest, context: ServerContext) async throws -> Oo_Registry_V1_SchemaVersion {
        try validate(subject: request.subject)
        let versions = try await storage { try await store.versions(subject: request.subject, includeDeleted: request.version != 0) }
        let found = request.version == 0 ? versions.last : versions.first { $0.version == Int(request.version) }
        guard let found, let bytes = try await storage({ try await store.schema(id: found.schemaID) }) else {
            throw RPCError(
                code: .notFound,
                message: request.version == 0
                    ? "Subject '\(request.subject)' has no live version."
                    : "Subject '\(request.subject)' has no version \(request.version).")
        }
        var version = Self.wire(found)
        version.fileDescriptorSet = bytes
        return version
    }

    public func listVersions(request: Oo_Registry_V1_ListVersionsRequest, context: ServerContext) async throws -> Oo_Registry_V1_ListVersionsResponse {
        try validate(subject: request.subject)
        let versions = try await storage { try await store.versions(subject: request.subject, includeDeleted: request.includeDeleted) }
        return .with { $0.versions = versions.map(Self.wire) }
    }

    public func listSubjects(request: Oo_Registry_V1_ListSubjectsRequest, context: ServerContext) async throws -> Oo_Registry_V1_ListSubjectsResponse {
        let subjects = try await storage { try await store.subjects() }
        return .with { $0.subjects = subjects }
    }

    public func deleteVersion(request: Oo_Registry_V1_DeleteVersionRequest, context: ServerContext) async throws -> Oo_Registry_V1_DeleteVersionResponse {
        try validate(subject: request.subject)
        guard try await storage({ try await store.deleteVersion(subject: request.subject, version: Int(request.version)) }) else {
            throw RPCError(code: .notFound, message: "Subject '\(request.subject)' has no live version \(request.version).")
        }
        return Oo_Registry_V1_DeleteVersionResponse()
    }

    public func setCompatibility(request: Oo_Registry_V1_SetCompatibilityRequest, context: ServerContext) async throws -> Oo_Registry_V1_CompatibilityConfig {
        if !request.subject.isEmpty { try validate(subject: request.subject) }
        guard let mode = Self.mode(request.mode) else {
            throw RPCError(code: .invalidArgument, message: "mode must be one of NONE, BACKWARD(_TRANSITIVE), FORWARD(_TRANSITIVE), FULL(_TRANSITIVE); got \(request.mode).")
        }
        try await storage { try await store.setMode(mode, subject: request.subject) }
        return .with { $0.subject = request.subject; $0.mode = request.mode; $0.isDefault = false }
    }

    public func getCompatibility(request: Oo_Registry_V1_GetCompatibilityRequest, context: ServerContext) async throws -> Oo_Registry_V1_CompatibilityConfig {
        if !request.subject.isEmpty { try validate(subject: request.subject) }
        let (mode, isDefault) = try await storage { try await store.mode(subject: request.subject) }
        return .with { $0.subject = request.subject; $0.mode = Self.wire(mode); $0.isDefault = isDefault }
    }

    // MARK: Helpers

    /// Subjects are 1 to 255 printable ASCII characters.
    private func validate(subject: String) throws {
        guard !subject.isEmpty, subject.utf8.count <= 255, subject.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw RPCError(code: .invalidArgument, message: "subject must be 1 to 255 printable ASCII characters without spaces; got '\(subject.prefix(64))'.")
        }
    }

    private func parse(_ bytes: Data) throws -> RegisteredSchema {
        do {
            return try RegisteredSchema(bytes: bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
    }

    /// Storage failures reach the client as UNAVAILABLE (the registry cannot serve now),
    /// with the cause; nothing half-written stays behind (every write is one transaction).
    private func storage<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as StorageError {
            throw RPCError(code: .unavailable, message: "The registry's storage failed: \(error.message)")
        }
    }

    static func wire(_ version: StoredVersion) -> Oo_Registry_V1_SchemaVersion {
        .with {
            $0.subject = version.subject
            $0.version = Int32(version.version)
            $0.schemaID = version.schemaID
            $0.deleted = version.deleted
        }
    }

    static func wire(_ mode: CompatibilityMode) -> Oo_Registry_V1_CompatibilityMode {
        switch mode {
        case .none: .none
        case .backward: .backward
        case .backwardTransitive: .backwardTransitive
        case .forward: .forward
        case .forwardTransitive: .forwardTransitive
        case .full: .full
        case .fullTransitive: .fullTransitive
        }
    }

    static func mode(_ wire: Oo_Registry_V1_CompatibilityMode) -> CompatibilityMode? {
        switch wire {
        case .none: CompatibilityMode.none
        case .backward: .backward
        case .backwardTransitive: .backwardTransitive
        case .forward: .forward
        case .forwardTransitive: .forwardTransitive
        case .full: .full
        case .fullTransitive: .fullTransitive
        default: nil
        }
    }
}

/// Parsed schemas by id, so a registration does not re-parse every earlier version. At
/// most `capacity` entries and `maxBytes` of descriptor sets are kept; the oldest entry
/// goes first (a set larger than `maxBytes` alone is parsed but not kept).
final class ParsedSchemaCache: Sendable {
    private let capacity: Int
    private let maxBytes: Int
    private struct State {
        var entries: [String: (set: SchemaSet, bytes: Int)] = [:]
        var order: [String] = []
        var totalBytes = 0
    }
    private let state = Mutex(State())

    init(capacity: Int, maxBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(1, maxBytes)
    }

    func schemaSet(id: String, bytes: Data) -> SchemaSet {
        if let cached = state.withLock({ $0.entries[id]?.set }) { return cached }
        let parsed = (try? Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)) ?? Google_Protobuf_FileDescriptorSet()
        let set = SchemaSet(descriptorSet: parsed)
        guard bytes.count <= maxBytes else { return set }
        state.withLock { state in
            guard state.entries[id] == nil else { return }
            state.entries[id] = (set, bytes.count)
            state.order.append(id)
            state.totalBytes += bytes.count
            while state.order.count > capacity || state.totalBytes > maxBytes {
                let oldest = state.order.removeFirst()
                state.totalBytes -= state.entries.removeValue(forKey: oldest)?.bytes ?? 0
            }
        }
        return set
    }
}
