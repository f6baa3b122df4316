import Foundation
import OOMesh
import RecommenderProtos

/// Reads a Todoist-shaped JSON array of tasks: `id` (string or number), `content`,
/// `project` or `project_id`, `labels` (strings), `priority` (1-4, default 1), `due` (null,
/// or an object with `date` "YYYY-MM-DD" or `datetime` ISO 8601). Every problem is an
/// INVALID_ARGUMENT naming the task and the field.
enum TodoistImport {
    static func parse(_ json: String, maxTasks: Int, maxBytes: Int) throws -> [Oo_Recommender_V1_Task] {
        guard json.utf8.count <= maxBytes else {
            throw RPCError(code: .invalidArgument, message: "The task JSON is \(json.utf8.count) bytes; at most \(maxBytes) per import.")
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [])
        } catch {
            throw RPCError(code: .invalidArgument, message: "tasks_json is not valid JSON: \(Self.describe(error)).")
        }
        guard let array = value as? [Any] else {
            throw RPCError(code: .invalidArgument, message: "tasks_json must be a JSON array of tasks.")
        }
        guard array.count <= maxTasks else {
            throw RPCError(code: .invalidArgument, message: "\(array.count) tasks in one import; at most \(maxTasks). Split the import.")
        }
        return try array.enumerated().map { index, element in
            guard let object = element as? [String: Any] else {
                throw RPCError(code: .invalidArgument, message: "Task \(index) is not a JSON object.")
            }
            return try task(object, index: index)
        }
    }

    private static func task(_ object: [String: Any], index: Int) throws -> Oo_Recommender_V1_Task {
        func fail(_ message: String) -> RPCError {
            RPCError(code: .invalidArgument, message: "Task \(index): \(message)")
        }
        var task = Oo_Recommender_V1_Task()
        switch object["id"] {
        case let id as String where !id.isEmpty && id.utf8.count <= 128: task.taskID = id
        case let id as NSNumber where !isBoolean(id) && id.doubleValue == id.doubleValue.rounded(): task.taskID = id.stringValue
        default: throw fail("\"id\" must be a non-empty string (at most 128 bytes) or an integer.")
        }
        guard let content = object["content"] as? String, !content.isEmpty, content.utf8.count <= 2_048 else {
            throw fail("\"content\" must be a non-empty string of at most 2048 bytes.")
        }
        task.content = content
        let project = object["project"] ?? object["project_id"]
        switch project {
        case nil, is NSNull: task.project = "inbox"
        case let name as String where name.utf8.count <= 256: task.project = name.isEmpty ? "inbox" : name
        case let number as NSNumber where !isBoolean(number): task.project = number.stringValue
        default: throw fail("\"project\" must be a string of at most 256 bytes.")
        }
        switch object["labels"] {
        case nil, is NSNull: task.labels = []
        case let labels as [Any]:
            guard labels.count <= 32 else { throw fail("at most 32 labels.") }
            task.labels = try labels.map { label in
                guard let text = label as? String, !text.isEmpty, text.utf8.count <= 64 else {
                    throw fail("each label must be a non-empty string of at most 64 bytes.")
                }
                return text
            }
        default: throw fail("\"labels\" must be an array of strings.")
        }
        switch object["priority"] {
        case nil, is NSNull: task.priority = 1
        case let number as NSNumber where !isBoolean(number) && (1...4).contains(number.intValue) && number.doubleValue == Double(number.intValue):
            task.priority = Int32(number.intValue)
        default: throw fail("\"priority\" must be an integer from 1 to 4.")
        }
        switch object["due"] {
        case nil, is NSNull: task.dueUnixMs = 0
        case let due as [String: Any]:
            if let text = due["datetime"] as? String {
                guard let date = parseDateTime(text) else { throw fail("\"due.datetime\" '\(text)' is not ISO 8601 (e.g. 2026-12-01T09:00:00Z).") }
                task.dueUnixMs = Int64(date.timeIntervalSince1970 * 1000)
            } else if let text = due["date"] as? String {
                guard let date = parseDate(text) else { throw fail("\"due.date\" '\(text)' is not YYYY-MM-DD.") }
                task.dueUnixMs = Int64(date.timeIntervalSince1970 * 1000)
            } else {
                throw fail("\"due\" needs \"date\" (YYYY-MM-DD) or \"datetime\" (ISO 8601).")
            }
        default: throw fail("\"due\" must be null or an object.")
        }
        if let checked = object["checked"] as? Bool ?? object["is_completed"] as? Bool { task.done = checked }
        return task
    }

    /// A calendar date: due at the end of that day, UTC.
    private static func parseDate(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: 23, minute: 59, second: 59)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    private static func parseDateTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        // Todoist's floating datetimes have no zone: read them as UTC.
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.date(from: text)
    }

    /// Whether a JSON value is `true`/`false`: Foundation bridges every NSNumber to Bool
    /// (`1 is Bool` holds), so the boolean class is told apart by its type encoding.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private static func describe(_ error: any Error) -> String {
        let description = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return description ?? "\(error.localizedDescription)"
    }
}
