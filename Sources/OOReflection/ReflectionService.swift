import Foundation
import OOMesh
import ReflectionProtos
import ReflectionV1AlphaProtos
import SwiftProtobuf

/// gRPC server reflection (`grpc.reflection.v1.ServerReflection`): lists the services a
/// server serves and answers with the descriptors of their `.proto` files (each with the
/// files it imports), so grpcurl, grpc_cli and `oo call` can list, describe and call it.
/// Add it, and ``ReflectionServiceV1Alpha`` for older clients, next to the services:
///
/// ```swift
/// let reflection = try ReflectionService(
///     services: [greeter, health],
///     files: [Oo_Example_V1_GreeterProtoFile.descriptors, Grpc_Health_V1_HealthProtoFile.descriptors])
/// let server = GRPCServer(transport: transport, services: [greeter, health, reflection, reflection.v1alpha])
/// ```
///
/// Each request gets one response on the stream; a file already sent on this stream is not
/// sent again (the protocol allows it, and it keeps answers small). Unknown files and
/// symbols are answered with an `error_response` (NOT_FOUND), not by ending the stream.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection_ServiceProtocol {
    /// The descriptors it answers from.
    public let index: DescriptorIndex
    /// The services it lists, sorted: those given plus the reflection services themselves.
    public let serviceNames: [String]

    /// Reflection over `services` (their names are listed) with the descriptors in `files`
    /// (the generated `…ProtoFile.descriptors` of each service's `.proto` file).
    public init(services: [any RPCService], files: [EmbeddedProtoFile]) throws {
        var router = RPCRouter()
        for service in services { service.registerMethods(with: &router) }
        let own = [Grpc_Reflection_V1_ReflectionProtoFile.descriptors, Grpc_Reflection_V1alpha_ReflectionProtoFile.descriptors]
        self.index = try DescriptorIndex(files + own)
        self.serviceNames = Set(router.serviceNames + [
            Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
            Grpc_Reflection_V1alpha_ServerReflection.descriptor.fullyQualifiedService,
        ]).sorted()
    }

    /// The same reflection under the older `grpc.reflection.v1alpha` name.
    public var v1alpha: ReflectionServiceV1Alpha { ReflectionServiceV1Alpha(base: self) }

    public func serverReflectionInfo(
        requests: RequestStream<Grpc_Reflection_V1_ServerReflectionRequest>,
        response: ResponseWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        var sent: Set<String> = []
        for try await request in requests {
            try await response.write(answer(request, alreadySent: &sent))
        }
    }

    /// The answer to one request; `alreadySent` holds the files sent on this stream.
    func answer(
        _ request: Grpc_Reflection_V1_ServerReflectionRequest, alreadySent: inout Set<String>
    ) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var response = Grpc_Reflection_V1_ServerReflectionResponse()
        response.validHost = request.host
        response.originalRequest = request
        func files(_ name: String?, _ what: String) {
            guard let name, let files = index.fileWithImports(name) else {
                response.errorResponse = .with {
                    $0.errorCode = Int32(StatusCode.notFound.rawValue)
                    $0.errorMessage = "\(what) not found."
                }
                return
            }
            // The requested file always; its imports unless this stream already has them.
            let fresh = files.filter { $0.name == name || !alreadySent.contains($0.name) }
            alreadySent.formUnion(fresh.map(\.name))
            response.fileDescriptorResponse = .with { $0.fileDescriptorProto = fresh.map { Data($0.bytes) } }
        }
        switch request.messageRequest {
        case .fileByFilename(let name):
            files(name, "File '\(name)'")
        case .fileContainingSymbol(let symbol):
            files(index.file(declaring: symbol), "Symbol '\(symbol)'")
        case .fileContainingExtension(let extensionRequest):
            files(
                index.file(extending: extensionRequest.containingType, number: extensionRequest.extensionNumber),
                "Extension \(extensionRequest.extensionNumber) of '\(extensionRequest.containingType)'")
        case .allExtensionNumbersOfType(let type):
            if let numbers = index.extensionNumbers(of: type) {
                response.allExtensionNumbersResponse = .with {
                    $0.baseTypeName = type
                    $0.extensionNumber = numbers
                }
            } else {
                response.errorResponse = .with {
                    $0.errorCode = Int32(StatusCode.notFound.rawValue)
                    $0.errorMessage = "Type '\(type)' not found."
                }
            }
        case .listServices:
            response.listServicesResponse = .with { $0.service = serviceNames.map { name in .with { $0.name = name } } }
        case nil:
            response.errorResponse = .with {
                $0.errorCode = Int32(StatusCode.invalidArgument.rawValue)
                $0.errorMessage = "The request sets none of the message_request fields."
            }
        }
        return response
    }
}

/// ``ReflectionService`` under `grpc.reflection.v1alpha.ServerReflection`, the name older
/// clients (and grpcurl before v1) use. The two versions' messages are the same on the
/// wire, so requests and answers are converted by re-reading their bytes.
public struct ReflectionServiceV1Alpha: Grpc_Reflection_V1alpha_ServerReflection_ServiceProtocol {
    let base: ReflectionService

    public func serverReflectionInfo(
        requests: RequestStream<Grpc_Reflection_V1alpha_ServerReflectionRequest>,
        response: ResponseWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        var sent: Set<String> = []
        for try await request in requests {
            let v1Request = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: try request.serializedBytes() as [UInt8])
            let v1Answer = base.answer(v1Request, alreadySent: &sent)
            try await response.write(try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: try v1Answer.serializedBytes() as [UInt8]))
        }
    }
}
