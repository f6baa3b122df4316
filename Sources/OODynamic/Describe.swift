import SwiftProtobuf

extension DescriptorPool {
    /// A readable, `.proto`-like description of `symbol`: a service (its methods with their
    /// request and response types and streaming), a method, a message (fields with types,
    /// numbers, oneofs, nested types) or an enum (its values). nil when the pool lacks it.
    ///
    /// ```
    /// service oo.example.v1.Greeter {
    ///   rpc SayHello(oo.example.v1.HelloRequest) returns (oo.example.v1.HelloReply);
    /// }
    /// ```
    public func describe(_ symbol: String) -> String? {
        let name = Self.strip(symbol)
        if let service = service(named: name) {
            var lines = ["service \(service.fullName) {"]
            for method in service.proto.method { lines.append("  " + rpcLine(method, scope: service.fullName)) }
            lines.append("}")
            return lines.joined(separator: "\n")
        }
        if let message = message(named: name) { return describeMessage(message, indent: "").joined(separator: "\n") }
        if let enumType = enumType(named: name) { return describeEnum(enumType.proto, fullName: enumType.fullName, indent: "").joined(separator: "\n") }
        if let dot = name.lastIndex(of: "."), let service = service(named: String(name[..<dot])),
            let method = service.method(named: String(name[name.index(after: dot)...]))
        {
            return "\(service.fullName).\(method.name) is a method:\n" + rpcLine(method, scope: service.fullName)
        }
        if let dot = name.lastIndex(of: "."), let message = message(named: String(name[..<dot])),
            let field = message.field(named: String(name[name.index(after: dot)...]))
        {
            return "\(message.fullName).\(field.name) is a field:\n" + fieldLine(field, in: message)
        }
        return nil
    }

    private func rpcLine(_ method: Google_Protobuf_MethodDescriptorProto, scope: String) -> String {
        let input = resolve(method.inputType, scope: scope), output = resolve(method.outputType, scope: scope)
        return "rpc \(method.name)(\(method.clientStreaming ? "stream " : "")\(input)) returns (\(method.serverStreaming ? "stream " : "")\(output));"
    }

    private func describeMessage(_ message: MessageType, indent: String) -> [String] {
        var lines = ["\(indent)message \(indent.isEmpty ? message.fullName : message.proto.name) {"]
        let inner = indent + "  "
        var oneofsDone: Set<Int32> = []
        for field in message.proto.field.compactMap({ message.field(number: $0.number) }) {
            if field.isRealOneofMember {
                let index = field.proto.oneofIndex
                guard oneofsDone.insert(index).inserted else { continue }
                let oneofName = Int(index) < message.proto.oneofDecl.count ? message.proto.oneofDecl[Int(index)].name : "oneof\(index)"
                lines.append("\(inner)oneof \(oneofName) {")
                for member in message.fields where member.isRealOneofMember && member.proto.oneofIndex == index {
                    lines.append(inner + "  " + fieldLine(member, in: message))
                }
                lines.append("\(inner)}")
            } else {
                lines.append(inner + fieldLine(field, in: message))
            }
        }
        for nested in message.proto.nestedType where !nested.options.mapEntry {
            if let nestedType = self.message(named: message.fullName + "." + nested.name) {
                lines += describeMessage(nestedType, indent: inner)
            }
        }
        for nested in message.proto.enumType { lines += describeEnum(nested, fullName: nested.name, indent: inner) }
        lines.append("\(indent)}")
        return lines
    }

    private func describeEnum(_ proto: Google_Protobuf_EnumDescriptorProto, fullName: String, indent: String) -> [String] {
        ["\(indent)enum \(fullName) {"] + proto.value.map { "\(indent)  \($0.name) = \($0.number);" } + ["\(indent)}"]
    }

    private func fieldLine(_ field: FieldInfo, in message: MessageType) -> String {
        var label = ""
        if field.isMap {
            label = ""
        } else if field.isRepeated {
            label = "repeated "
        } else if field.proto.proto3Optional || (message.syntax == "proto2" && field.proto.label == .optional && !field.isRealOneofMember) {
            label = "optional "
        } else if field.proto.label == .required {
            label = "required "
        }
        return "\(label)\(typeText(field, in: message)) \(field.name) = \(field.number);"
    }

    private func typeText(_ field: FieldInfo, in message: MessageType) -> String {
        if field.isMap, let entry = self.message(named: resolve(field.typeName, scope: message.fullName)),
            let key = entry.field(number: 1), let value = entry.field(number: 2)
        {
            return "map<\(typeText(key, in: entry)), \(typeText(value, in: entry))>"
        }
        switch field.type {
        case .message, .group, .enum: return resolve(field.typeName, scope: message.fullName)
        default: return String(describing: field.type)
        }
    }
}
