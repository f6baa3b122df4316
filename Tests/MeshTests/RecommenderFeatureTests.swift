import Foundation
import MLProtos
import Recommender
import Testing

@Suite("Recommender features")
struct RecommenderFeatureTests {
    @Test("local hour and ISO weekday follow the user's time zone, across a DST change")
    func localTime() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // 2026-03-29T00:30Z is 01:30 CET (Sunday); 2026-03-29T01:30Z is 03:30 CEST.
        #expect(ContextFeatures.localTime(Date(timeIntervalSince1970: 1_774_744_200), in: berlin) == (1, 7))
        #expect(ContextFeatures.localTime(Date(timeIntervalSince1970: 1_774_747_800), in: berlin) == (3, 7))
        let tokyo = try #require(TimeZone(identifier: "Asia/Tokyo"))
        // 2026-12-07T00:00Z is Monday 09:00 in Tokyo.
        #expect(ContextFeatures.localTime(Date(timeIntervalSince1970: 1_796_601_600), in: tokyo) == (9, 1))
    }

    @Test("features carry the task and the user's smoothed done-rates by category, project and hour block")
    func features() throws {
        var history = UserHistory()
        history.byCategory["call"] = .init(shown: 8, done: 6)
        history.byProject["Work"] = .init(shown: 2, done: 0)
        history.byHourBlock[2] = .init(shown: 3, done: 3)
        history.shown7d = 10
        history.done7d = 4
        let now = Date(timeIntervalSince1970: 1_796_601_600 + 9 * 3600)  // Monday 09:00 UTC
        history.lastTipAt = now.addingTimeInterval(-120)
        let task = CandidateTask(
            taskID: "t1", content: "call Bob", project: "Work", labels: ["call", "phone"], priority: 3,
            due: now.addingTimeInterval(-2 * 3600))
        let features = ContextFeatures.make(task: task, history: history, at: now, timeZone: TimeZone(identifier: "UTC")!)
        #expect(features.hourOfDay == 9 && features.dayOfWeek == 1)
        #expect(features.tipCategory == "call" && features.project == "Work" && features.priority == 3)
        #expect(features.categoryDoneRate == 7.0 / 10.0)
        #expect(features.projectDoneRate == 1.0 / 4.0)
        #expect(features.hourDoneRate == 4.0 / 5.0)
        #expect(features.positiveRate7D == 0.4 && features.tipsShown7D == 10)
        #expect(features.dueSet && features.hoursUntilDue == -2)
        #expect(features.secondsSinceLastSession == 120)
        // An unlabelled task is "uncategorized", with the neutral rate 1/2.
        let plain = CandidateTask(taskID: "t2", content: "x", project: "Home", labels: [], priority: 1, due: nil)
        let neutral = ContextFeatures.make(task: plain, history: UserHistory(), at: now, timeZone: TimeZone(identifier: "UTC")!)
        #expect(neutral.tipCategory == "uncategorized" && neutral.categoryDoneRate == 0.5 && !neutral.dueSet)
    }
}
