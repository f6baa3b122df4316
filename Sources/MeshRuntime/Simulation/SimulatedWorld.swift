import Foundation

/// A deterministic random source (SplitMix64), so a simulation with the same seed makes the
/// same users, tasks and choices.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// The simulated world: task kinds and projects, and users whose hidden preferences over
/// them and over the hours of the day decide whether they do a suggested task.
public enum SimulatedWorld {
    /// Task kinds: a task's first label, so the recommender's tip category (the bandit's arm).
    public static let kinds = ["errand", "call", "reading", "exercise", "chores", "admin"]
    public static let projects = ["Home", "Work", "Health", "Learning"]
    /// What most people like, whoever they are: the population's mean taste per kind.
    static let kindPopularity: [String: Double] = [
        "errand": 0.2, "call": -0.6, "reading": 0.5, "exercise": -0.2, "chores": -0.4, "admin": -0.8,
    ]
    static let timeZones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]

    /// One simulated person.
    public struct User: Sendable {
        public var id: String
        public var timeZone: String
        /// Hidden: how much they like each kind and project (log-odds), and the local hour at
        /// which they are most willing.
        public var kindTaste: [String: Double]
        public var projectTaste: [String: Double]
        public var peakHour: Double
        /// Their open tasks.
        public var tasks: [String: Task] = [:]
        public var nextTaskNumber = 0

        /// The probability they do `task` when it is suggested at local `hour`.
        public func doneProbability(_ task: Task, hour: Int) -> Double {
            let distance = Double(hour) - peakHour
            let hourTaste = 0.9 * cos(2 * .pi * distance / 24)
            let logit = -1.2 + (kindTaste[task.kind] ?? 0) + (projectTaste[task.project] ?? 0) + hourTaste
                + 0.25 * Double(task.priority - 2)
            return 1 / (1 + exp(-logit))
        }
    }

    /// A task of a simulated user.
    public struct Task: Sendable {
        public var id: String
        public var kind: String
        public var project: String
        public var priority: Int
        public var content: String
    }

    /// `count` users with tastes drawn around the population's.
    public static func makeUsers(count: Int, tasksEach: Int, using random: inout SeededGenerator) -> [User] {
        (0..<count).map { index in
            var user = User(
                id: String(format: "sim-user-%03d", index),
                timeZone: timeZones[index % timeZones.count],
                kindTaste: Dictionary(uniqueKeysWithValues: kinds.map { ($0, (kindPopularity[$0] ?? 0) + 1.1 * random.normal()) }),
                projectTaste: Dictionary(uniqueKeysWithValues: projects.map { ($0, 0.7 * random.normal()) }),
                peakHour: Double.random(in: 8..<21, using: &random))
            for _ in 0..<tasksEach { addTask(to: &user, using: &random) }
            return user
        }
    }

    /// Gives `user` a new task; returns it. Half the time a done task `recurring` comes
    /// back (same kind and project: people's to-do lists repeat themselves), otherwise the
    /// kind and project are random.
    @discardableResult
    public static func addTask(
        to user: inout User, recurring: Task? = nil, using random: inout SeededGenerator
    ) -> Task {
        let recurs = recurring != nil && Bool.random(using: &random)
        let kind = recurs ? recurring!.kind : kinds.randomElement(using: &random)!
        let project = recurs ? recurring!.project : projects.randomElement(using: &random)!
        user.nextTaskNumber += 1
        let task = Task(
            id: "t\(user.nextTaskNumber)", kind: kind, project: project, priority: Int.random(in: 1...4, using: &random),
            content: "\(kind) #\(user.nextTaskNumber) for \(project)")
        user.tasks[task.id] = task
        return task
    }

    /// `tasks` as the Todoist-shaped JSON the gateway imports; `checked` ones are marked
    /// done (Todoist's `checked`), which takes them out of the candidates.
    public static func todoistJSON(_ tasks: [Task], checked: [Task] = []) -> String {
        let objects: [[String: Any]] = tasks.map {
            ["id": $0.id, "content": $0.content, "project": $0.project, "labels": [$0.kind], "priority": $0.priority, "due": NSNull()]
        } + checked.map {
            ["id": $0.id, "content": $0.content, "project": $0.project, "labels": [$0.kind], "priority": $0.priority, "checked": true]
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
