@testable import OOMeshHTTP2
import Testing

/// The inbound flow-control ledger, with no sockets: a simulated peer that honours the
/// window, frames cut at the worst byte, and an application that reads when it likes.
@Suite("Inbound credit")
struct InboundCreditTests {
    @Test("bytes of a message are held until it is taken; a waiting reader gets them advanced")
    func heldUntilTaken() {
        var ledger = InboundCredit(advanceBudgetBytes: 1000)
        var stream = InboundCredit.Stream()
        // 300 bytes of a 505-byte message (prefix included), nobody waiting: all held.
        #expect(ledger.received(300, on: &stream) == 0)
        #expect(stream.held == 300)
        // A reader starts waiting: the 300 are credited early.
        #expect(ledger.readerWaiting(on: &stream) == 300)
        #expect(ledger.advancedBytes == 300)
        // The rest arrives; the message owes only what was not advanced.
        #expect(ledger.received(205, on: &stream) == 0)
        let debt = ledger.completed(wireBytes: 505, on: &stream)
        #expect(debt == .init(owed: 205, advance: 300))
        #expect(stream.held == 0)
        ledger.released(debt.advance)
        #expect(ledger.advancedBytes == 0)
    }

    @Test("a message completed in one chunk owes all its bytes: cutting frames earns a peer nothing")
    func wholeMessageOwed() {
        let ledger = InboundCredit(advanceBudgetBytes: 1 << 20)
        var stream = InboundCredit.Stream()
        // Two chunks, the first ending one byte before the message does, and no reader.
        _ = ledger.received(16_383, on: &stream)
        _ = ledger.received(1, on: &stream)
        #expect(ledger.completed(wireBytes: 16_384, on: &stream) == .init(owed: 16_384, advance: 0))
    }

    @Test("the advance budget is shared by the connection's streams and comes back when messages are taken")
    func budgetShared() {
        var ledger = InboundCredit(advanceBudgetBytes: 100)
        var first = InboundCredit.Stream()
        var second = InboundCredit.Stream()
        _ = ledger.received(80, on: &first)
        _ = ledger.received(80, on: &second)
        #expect(ledger.readerWaiting(on: &first) == 80)
        #expect(ledger.readerWaiting(on: &second) == 20)
        #expect(ledger.wantsAdvance(second))
        _ = ledger.received(20, on: &first)
        let debt = ledger.completed(wireBytes: 100, on: &first)
        ledger.released(debt.advance)
        #expect(ledger.readerWaiting(on: &second) == 60)
        #expect(!ledger.wantsAdvance(second))
    }

    @Test("a dead stream gives back what it held and credits later bytes at once")
    func deadStream() {
        var ledger = InboundCredit(advanceBudgetBytes: 100)
        var stream = InboundCredit.Stream()
        _ = ledger.received(70, on: &stream)
        _ = ledger.readerWaiting(on: &stream)
        _ = ledger.received(30, on: &stream)
        #expect(ledger.kill(&stream) == 30)
        #expect(ledger.advancedBytes == 0)
        #expect(ledger.received(500, on: &stream) == 500)
        #expect(ledger.readerWaiting(on: &stream) == 0)
    }

    /// A peer with window `window` sends `messages` (sizes before the 5-byte prefix) in
    /// chunks of its choice, honouring the window; the application takes messages and
    /// waits at random. Checks after every step that what we hold is within the window
    /// plus the budget, and at the end that every byte was credited exactly once.
    @Test("random chunking and reading: memory stays within window + budget, everything is credited once, nothing stalls",
          arguments: 0..<40)
    func randomized(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let window = 1 << 16
        let budget = 1 << 18  // a message may be up to 4 windows long
        var ledger = InboundCredit(advanceBudgetBytes: budget)
        var stream = InboundCredit.Stream()
        let messages = (0..<30).map { _ in 5 + Int(random.next() % UInt64(budget - 5)) / (random.next() % 4 == 0 ? 1 : 64) }
        let adversarial = seed % 2 == 0

        var sent = 0, credited = 0, taken = 0, takenWire = 0
        var messageIndex = 0, intoMessage = 0
        var queue: [(wire: Int, debt: InboundCredit.MessageDebt)] = []
        var idleSteps = 0
        for _ in 0..<200_000 {
            if taken == messages.count { break }
            var progressed = false
            // The peer sends what its window allows.
            let available = window - (sent - credited)
            if messageIndex < messages.count, available > 0 {
                let left = messages[messageIndex] - intoMessage
                var chunk = min(available, 16_384, left)
                if adversarial, chunk == left, chunk > 1 { chunk -= 1 }  // stop one byte short
                else if !adversarial { chunk = max(1, min(chunk, 1 + Int(random.next() % UInt64(chunk)))) }
                #expect(ledger.received(chunk, on: &stream) == 0)
                sent += chunk
                intoMessage += chunk
                if intoMessage == messages[messageIndex] {
                    queue.append((messages[messageIndex], ledger.completed(wireBytes: messages[messageIndex], on: &stream)))
                    messageIndex += 1
                    intoMessage = 0
                }
                progressed = true
            }
            // The application takes a message sometimes, or waits when there is none.
            if !queue.isEmpty, random.next() % 3 == 0 {
                let (wire, debt) = queue.removeFirst()
                credited += debt.owed
                ledger.released(debt.advance)
                taken += 1
                takenWire += wire
                progressed = true
            } else if queue.isEmpty, random.next() % 2 == 0 {
                let grant = ledger.readerWaiting(on: &stream)
                credited += grant
                progressed = progressed || grant > 0
            }
            // What we hold: received and not yet taken.
            let holding = sent - takenWire
            #expect(sent - credited <= window, "uncredited bytes exceed the window")
            #expect(ledger.advancedBytes <= budget)
            #expect(holding <= window + budget)
            idleSteps = progressed ? 0 : idleSteps + 1
            try #require(idleSteps < 50, "no progress: the peer is blocked and nothing can unblock it")
        }
        #expect(taken == messages.count)
        #expect(credited == sent, "every received byte credited exactly once")
        #expect(ledger.advancedBytes == 0)
        #expect(stream.held == 0)
    }
}

/// A small deterministic generator, so a failing seed can be replayed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
