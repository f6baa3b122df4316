import Foundation

/// JSON objects to and from ``JWTClaimValue``, on Foundation's JSONSerialization.
enum JSON {
    /// The members of the JSON object in `bytes`, or nil when it is not valid UTF-8 JSON whose
    /// top level is an object. JSONSerialization refuses nesting deeper than 512 levels.
    static func decodeObject(_ bytes: [UInt8]) -> [String: JWTClaimValue]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let members = object as? [String: Any]
        else { return nil }
        var result: [String: JWTClaimValue] = [:]
        result.reserveCapacity(members.count)
        for (name, value) in members {
            guard let converted = claimValue(value) else { return nil }
            result[name] = converted
        }
        return result
    }

    /// The compact, key-sorted JSON text of an object.
    static func encodeObject(_ members: [String: JWTClaimValue]) -> [UInt8]? {
        let object = foundationValue(.object(members))
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return Array(data)
    }

    private static func claimValue(_ value: Any) -> JWTClaimValue? {
        switch value {
        case let string as String:
            return .string(string)
        case let number as NSNumber:
            // JSONSerialization gives Booleans as NSNumber too; their Objective-C type is "c".
            if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        case is NSNull:
            return .null
        case let array as [Any]:
            var elements: [JWTClaimValue] = []
            elements.reserveCapacity(array.count)
            for element in array {
                guard let converted = claimValue(element) else { return nil }
                elements.append(converted)
            }
            return .array(elements)
        case let dictionary as [String: Any]:
            var members: [String: JWTClaimValue] = [:]
            for (name, element) in dictionary {
                guard let converted = claimValue(element) else { return nil }
                members[name] = converted
            }
            return .object(members)
        default:
            return nil
        }
    }

    private static func foundationValue(_ value: JWTClaimValue) -> Any {
        switch value {
        case .string(let string): return string
        case .number(let number):
            // Whole numbers are written without a fraction, as NumericDate values usually are.
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 { return Int64(number) }
            return number
        case .bool(let bool): return bool
        case .null: return NSNull()
        case .array(let elements): return elements.map(foundationValue)
        case .object(let members): return members.mapValues(foundationValue)
        }
    }
}
