import Foundation
import MLProtos

/// Turns a candidate's `oo.ml.v1.TipFeatures` into the fixed-length vector the policies
/// learn on, and names its arm.
///
/// Every value is finite and roughly in [0, 1] whatever the input: NaN and infinities count
/// as 0, rates are clamped to [0, 1], counts are log-scaled and capped, so one bad field
/// cannot poison a policy's statistics. The dimensions (``featureNames`` in order):
///
/// | # | name | value |
/// | --- | --- | --- |
/// | 0 | `bias` | 1 |
/// | 1–6 | `hour_00_04` … `hour_20_24` | one-hot 4-hour block of `hour_of_day` (taken modulo 24) |
/// | 7 | `weekend` | 1 when `day_of_week` is 6 or 7 |
/// | 8 | `priority` | `priority` clamped to 1…4 (0, unset, counts as 1), divided by 4 |
/// | 9 | `has_due` | 1 when `due_set` |
/// | 10 | `overdue` | 1 when `due_set` and `hours_until_due` < 0 (finite) |
/// | 11 | `due_within_24h` | 1 when `due_set` and 0 ≤ `hours_until_due` ≤ 24 |
/// | 12 | `category_done_rate` | clamped to [0, 1] |
/// | 13 | `project_done_rate` | clamped to [0, 1] |
/// | 14 | `hour_done_rate` | clamped to [0, 1] |
/// | 15 | `positive_rate_7d` | clamped to [0, 1] |
/// | 16 | `tips_shown_7d` | log1p(n) / log1p(100), capped at 2 (100 tips a week → 1) |
/// | 17 | `in_quiet_hours` | 1 when `in_quiet_hours` |
/// | 18 | `tip_ctr` | clamped to [0, 1] |
/// | 19 | `recency` | log1p(hours since the last session) / log1p(168), capped at 2 (a week → 1) |
///
/// The arm of a candidate is its `tip_category`, "uncategorized" when empty.
public enum TipFeaturizer {
    /// The vector's length: 20.
    public static let dimension = 20

    /// The name of each dimension, in order.
    public static let featureNames = [
        "bias", "hour_00_04", "hour_04_08", "hour_08_12", "hour_12_16", "hour_16_20", "hour_20_24",
        "weekend", "priority", "has_due", "overdue", "due_within_24h",
        "category_done_rate", "project_done_rate", "hour_done_rate", "positive_rate_7d",
        "tips_shown_7d", "in_quiet_hours", "tip_ctr", "recency",
    ]

    /// The arm of candidates without a category.
    public static let uncategorized = "uncategorized"

    /// The candidate's arm: its tip category, or ``uncategorized``.
    public static func arm(of features: Oo_Ml_V1_TipFeatures) -> String {
        features.tipCategory.isEmpty ? uncategorized : features.tipCategory
    }

    /// The ``dimension``-long vector of `features`.
    public static func vector(_ features: Oo_Ml_V1_TipFeatures) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        x[0] = 1
        let hour = ((Int(features.hourOfDay) % 24) + 24) % 24
        x[1 + hour / 4] = 1
        x[7] = features.dayOfWeek == 6 || features.dayOfWeek == 7 ? 1 : 0
        x[8] = Double(min(max(features.priority, 1), 4)) / 4
        if features.dueSet {
            x[9] = 1
            // Not finite: when it is due is unknown, so neither overdue nor due soon.
            let hours = features.hoursUntilDue
            x[10] = hours.isFinite && hours < 0 ? 1 : 0
            x[11] = hours.isFinite && hours >= 0 && hours <= 24 ? 1 : 0
        }
        x[12] = rate(features.categoryDoneRate)
        x[13] = rate(features.projectDoneRate)
        x[14] = rate(features.hourDoneRate)
        x[15] = rate(features.positiveRate7D)
        x[16] = min(log1p(Double(max(features.tipsShown7D, 0))) / log1p(100), 2)
        x[17] = features.inQuietHours ? 1 : 0
        x[18] = rate(features.tipCtr)
        let hoursSinceSession = max(finite(features.secondsSinceLastSession), 0) / 3600
        x[19] = min(log1p(hoursSinceSession) / log1p(168), 2)
        return x
    }

    private static func finite(_ value: Double) -> Double { value.isFinite ? value : 0 }
    private static func rate(_ value: Double) -> Double { min(max(finite(value), 0), 1) }
}
