import MLProtos
import MLServing
import SwiftProtobuf
import Testing

@Suite("Tip featurizer")
struct TipFeaturizerTests {
    @Test("a known TipFeatures maps to the documented vector")
    func knownVector() {
        let features = Oo_Ml_V1_TipFeatures.with {
            $0.hourOfDay = 13
            $0.dayOfWeek = 7
            $0.tipsShown7D = 100
            $0.positiveRate7D = 0.25
            $0.secondsSinceLastSession = 168 * 3600
            $0.tipCategory = "sleep"
            $0.tipCtr = 0.05
            $0.inQuietHours = true
            $0.priority = 4
            $0.hoursUntilDue = 5
            $0.dueSet = true
            $0.categoryDoneRate = 0.6
            $0.projectDoneRate = 0.7
            $0.hourDoneRate = 0.8
        }
        let x = TipFeaturizer.vector(features)
        #expect(x.count == TipFeaturizer.dimension && TipFeaturizer.featureNames.count == TipFeaturizer.dimension)
        let expected: [Double] = [1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0.6, 0.7, 0.8, 0.25, 1, 1, 0.05, 1]
        for (index, value) in expected.enumerated() {
            #expect(abs(x[index] - value) < 1e-12, "\(TipFeaturizer.featureNames[index]) is \(x[index]), expected \(value)")
        }
        #expect(TipFeaturizer.arm(of: features) == "sleep")
    }

    @Test("an empty TipFeatures is the bias, midnight's block and normal priority; its arm is 'uncategorized'")
    func empty() {
        let x = TipFeaturizer.vector(Oo_Ml_V1_TipFeatures())
        var expected = [Double](repeating: 0, count: TipFeaturizer.dimension)
        expected[0] = 1
        expected[1] = 1
        expected[8] = 0.25
        #expect(x == expected)
        #expect(TipFeaturizer.arm(of: Oo_Ml_V1_TipFeatures()) == "uncategorized")
    }

    @Test("hostile values stay finite and bounded: NaN, infinities, negative counts, hours out of range")
    func hostile() {
        for value in [Double.nan, .infinity, -.infinity, -5, 1e300] {
            let features = Oo_Ml_V1_TipFeatures.with {
                $0.hourOfDay = -25
                $0.dayOfWeek = 99
                $0.tipsShown7D = -3
                $0.positiveRate7D = value
                $0.secondsSinceLastSession = value
                $0.tipCtr = value
                $0.priority = 99
                $0.hoursUntilDue = value
                $0.dueSet = true
                $0.categoryDoneRate = value
                $0.projectDoneRate = value
                $0.hourDoneRate = value
            }
            let x = TipFeaturizer.vector(features)
            #expect(x.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 2 }, "\(value): \(x)")
            #expect(x[1...6].reduce(0, +) == 1, "exactly one hour block")
        }
    }
}
