import SwiftProtobufPluginLibrary

/// Why a file cannot be generated.
public struct GenerationError: Error, CustomStringConvertible, Hashable {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Turns descriptors into ``FileModel``s, naming types exactly as protoc-gen-swift does.
public struct ModelBuilder {
    private let namer: SwiftProtobufNamer

    /// A builder that names types as protoc-gen-swift does without module mappings, i.e.
    /// as if every message lived in the module the stubs are compiled into.
    public init() {
        self.namer = SwiftProtobufNamer()
    }

    /// A builder using `namer`.
    public init(namer: SwiftProtobufNamer) {
        self.namer = namer
    }

    /// The model of `file`'s services.
    public func makeFileModel(_ file: FileDescriptor) throws -> FileModel {
        FileModel(protoPath: file.name, services: try file.services.map(makeServiceModel))
    }

    /// The model of one service.
    public func makeServiceModel(_ service: ServiceDescriptor) throws -> ServiceModel {
        let methods = service.methods.map(makeMethodModel)

        var seen: [String: String] = [:]
        for method in methods {
            for (kind, name) in [("function", method.swiftName), ("type", method.swiftTypeName)] {
                let key = "\(kind) \(name)"
                if let other = seen[key] {
                    throw GenerationError(
                        "\(service.file.name): methods \(other) and \(method.name) of service \(service.fullName) "
                            + "would both be named \(name) in Swift.")
                }
                seen[key] = method.name
            }
        }

        return ServiceModel(
            name: service.name,
            fullyQualifiedName: service.fullName,
            swiftNamespace: namer.typePrefix(forFile: service.file) + service.name,
            documentation: documentation(of: service),
            methods: methods)
    }

    /// The model of one method.
    public func makeMethodModel(_ method: SwiftProtobufPluginLibrary.MethodDescriptor) -> MethodModel {
        MethodModel(
            name: method.name,
            swiftTypeName: SwiftNaming.methodTypeName(forRPC: method.name),
            swiftName: SwiftNaming.methodName(forRPC: method.name),
            kind: MethodModel.Kind(clientStreaming: method.clientStreaming, serverStreaming: method.serverStreaming),
            inputType: namer.fullName(message: method.inputType),
            outputType: namer.fullName(message: method.outputType),
            documentation: documentation(of: method),
            idempotency: idempotency(of: method))
    }

    private func idempotency(of method: SwiftProtobufPluginLibrary.MethodDescriptor) -> MethodModel.Idempotency {
        switch method.options.idempotencyLevel {
        case .noSideEffects: .noSideEffects
        case .idempotent: .idempotent
        default: .unknown
        }
    }

    private func documentation(of element: some ProvidesSourceCodeLocation) -> [String] {
        guard let location = element.sourceCodeInfoLocation, location.hasLeadingComments else { return [] }
        return SwiftNaming.documentationLines(fromProtoComment: location.leadingComments)
    }
}
