/// The spellings of boolean flags gRPC's interop programs accept (gflags, absl and Go's flag
/// package): `--use_tls=true`, `--use_tls true`, a bare `--use_tls`, `--nouse_tls`, and the
/// values true/false, 1/0, yes/no, t/f in any case.
public enum InteropFlags {
    /// Rewrites every spelling of the flags named in `booleanFlags` (without dashes) as
    /// `--name=true` or `--name=false`, the one argument parsers all read the same way.
    /// Other arguments, and values that are not booleans, are left as they are (the parser
    /// then reports them).
    public static func normalizingBooleans(_ arguments: [String], booleanFlags: Set<String>) -> [String] {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument != "--" else {
                result.append(argument)
                if argument == "--" {
                    result.append(contentsOf: arguments[index...])  // no flags after "--"
                    break
                }
                continue
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            if booleanFlags.contains(name) {
                if let equals = body.firstIndex(of: "=") {
                    let value = body[body.index(after: equals)...]
                    result.append(parseBool(value).map { "--\(name)=\($0)" } ?? argument)
                } else if index < arguments.endIndex, let value = parseBool(arguments[index]) {
                    result.append("--\(name)=\(value)")
                    index += 1
                } else {
                    result.append("--\(name)=true")  // bare: gflags reads it as true
                }
            } else if name.hasPrefix("no"), !body.contains("="), booleanFlags.contains(String(name.dropFirst(2))) {
                result.append("--\(name.dropFirst(2))=false")
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// A boolean flag value as gflags reads it, or nil when `text` is not one.
    public static func parseBool(_ text: some StringProtocol) -> Bool? {
        switch text.lowercased() {
        case "true", "t", "yes", "y", "1": return true
        case "false", "f", "no", "n", "0": return false
        default: return nil
        }
    }
}
