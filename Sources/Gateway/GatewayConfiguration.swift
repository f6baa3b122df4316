/// How the gateway behaves. Every field has a documented default (``defaults``).
public struct GatewayConfiguration: Sendable, Hashable {
    /// Calls each user may make per second on average, and in a burst. Defaults 50 and 100.
    /// Over it, calls are answered RESOURCE_EXHAUSTED.
    public var rateLimitPerSecond = 50.0
    public var rateLimitBurst = 100.0
    /// Users whose rate buckets are remembered at once; the longest idle are forgotten
    /// beyond it (they start again with a full burst). Default 100,000.
    public var maxTrackedUsers = 100_000
    /// The longest a downstream call may take when the caller's deadline leaves more (or
    /// the caller set none); the caller's deadline, less `CallDeadline.margin`, caps it.
    /// Default 5 s.
    public var downstreamTimeout: Duration = .seconds(5)
    /// At most this many tasks per import. Default 5,000.
    public var maxTasksPerImport = 5_000
    /// At most this many bytes of task JSON per import. Default 2 MiB.
    public var maxImportBytes = 2 << 20

    /// Live SubscribeTips calls at once, in all. Each holds a stream to the recommender on
    /// the one connection the gateway shares with it (whose peer allows a bounded number of
    /// concurrent streams), so they are kept well below that. Default 128.
    public var maxSubscriptions = 128

    /// Honour the `at_unix_ms` a client sends (the moment it says it is) instead of the
    /// gateway's own clock. Only for simulations, which live through days in minutes (`oo
    /// simulate` sets it with `oo serve gateway --simulation-clock`): a client that chose its
    /// own time could move snooze windows and quiet hours and escape retention. Default: false,
    /// the field is ignored.
    public var honoursClientClock = false

    /// The defaults.
    public init() {}

    /// The defaults, as a value.
    public static var defaults: GatewayConfiguration { GatewayConfiguration() }
}
