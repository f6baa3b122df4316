import Foundation

/// Where a setting of `oo serve` comes from: the command-line flag, else the environment
/// variable `OO_<NAME>` (upper case, dashes as underscores, e.g. `OO_ML_SERVING` for
/// `--ml-serving`), else the config file (`--config FILE`, a JSON object keyed by flag
/// name), else the default.
struct Settings {
    private let file: [String: String]
    private let environment: [String: String]

    init(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        guard let configPath else {
            file = [:]
            return
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: configPath))
        } catch {
            throw SettingsError(message: "Cannot read the config file \(configPath): \(error.localizedDescription)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SettingsError(message: "The config file \(configPath) must be a JSON object keyed by flag name, e.g. {\"port\": 50052}.")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let text as String: values[key] = text
            case let number as NSNumber: values[key] = number.stringValue
            default: throw SettingsError(message: "Config file \(configPath): '\(key)' must be a string or a number.")
            }
        }
        file = values
    }

    /// The environment variable of a flag.
    static func variable(_ name: String) -> String { "OO_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }

    func string(_ flag: String?, _ name: String) -> String? {
        flag ?? environment[Self.variable(name)] ?? file[name]
    }

    func string(_ flag: String?, _ name: String, default value: String) -> String { string(flag, name) ?? value }

    func int(_ flag: Int?, _ name: String, default value: Int) throws -> Int {
        if let flag { return flag }
        guard let text = string(nil, name) else { return value }
        guard let number = Int(text) else { throw SettingsError(message: "\(name) must be an integer, got '\(text)'.") }
        return number
    }

    /// A flag given on the command line is true; else the environment or the file says
    /// true/false (or 1/0, yes/no).
    func bool(_ flag: Bool, _ name: String) throws -> Bool {
        if flag { return true }
        guard let text = string(nil, name)?.lowercased() else { return false }
        switch text {
        case "1", "true", "yes": return true
        case "0", "false", "no", "": return false
        default: throw SettingsError(message: "\(name) must be true or false, got '\(text)'.")
        }
    }

    func double(_ flag: Double?, _ name: String, default value: Double) throws -> Double {
        if let flag { return flag }
        guard let text = string(nil, name) else { return value }
        guard let number = Double(text) else { throw SettingsError(message: "\(name) must be a number, got '\(text)'.") }
        return number
    }
}

/// A setting is missing or malformed.
struct SettingsError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `host:port` → its parts.
func parseAddress(_ address: String, for name: String) throws -> (host: String, port: Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port)
    else {
        throw SettingsError(message: "--\(name) must be host:port, got '\(address)'.")
    }
    return (String(address[..<colon]), port)
}
