@testable import OOMesh
import Synchronization
import Testing

@Suite("BoundedChannel")
struct BoundedChannelTests {
    // MARK: ordering and backpressure

    @Test("elements come out in the order they went in")
    func fifo() async throws {
        let channel = BoundedChannel<Int>(capacity: 100)
        for value in 0..<100 { try await channel.send(value) }
        channel.finish()
        var received: [Int] = []
        while let value = try await channel.receive() { received.append(value) }
        #expect(received == Array(0..<100))
    }

    @Test("a sender suspends when the channel is full and resumes when the receiver takes one",
          arguments: [1, 2, 5])
    func senderSuspendsWhenFull(_ capacity: Int) async throws {
        let channel = BoundedChannel<Int>(capacity: capacity)
        for value in 0..<capacity { try await channel.send(value) }  // fills it without suspending

        let (task, outcome) = started { try await channel.send(capacity) }
        #expect(await stays { !outcome.isSet }, "a send into a full channel returned at once")

        #expect(try await channel.receive() == 0)
        #expect(await eventually { outcome.isSet }, "the sender did not resume after the receiver took an element")
        if case .failure(let error) = outcome.value { Issue.record("the send failed: \(error)") }

        var rest: [Int] = []
        channel.finish()
        while let value = try await channel.receive() { rest.append(value) }
        #expect(rest == Array(1...capacity))
        await task.value
    }

    @Test("many producers through a small channel: nothing lost, each producer's order kept")
    func manyProducers() async throws {
        let channel = BoundedChannel<(producer: Int, index: Int)>(capacity: 2)
        let producers = 4, perProducer = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for index in 0..<perProducer { try await channel.send((producer, index)) }
                }
            }
            var next = [Int](repeating: 0, count: producers)
            for _ in 0..<(producers * perProducer) {
                let element = try #require(try await channel.receive())
                #expect(element.index == next[element.producer])
                next[element.producer] += 1
            }
            try await group.waitForAll()
            #expect(next == [Int](repeating: perProducer, count: producers))
        }
    }

    @Test("a waiting receiver is handed the next element")
    func waitingReceiver() async throws {
        let channel = BoundedChannel<String>(capacity: 1)
        let (task, outcome) = started { try await channel.receive() }
        #expect(await stays { !outcome.isSet }, "receive on an empty channel returned at once")
        try await channel.send("hello")
        #expect(await eventually { outcome.isSet })
        #expect(try outcome.value?.get() == "hello")
        await task.value
    }

    // MARK: finishing

    @Test("a clean finish is seen after every buffered element")
    func finishCleanly() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        try await channel.send(1)
        try await channel.send(2)
        channel.finish()
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == 2)
        #expect(try await channel.receive() == nil)
        #expect(try await channel.receive() == nil, "the end is not sticky")
        let error = await #expect(throws: RPCError.self) { try await channel.send(3) }
        #expect(error?.code == .internal)
    }

    @Test("finishing with an error delivers the buffered elements first, then the error, every time after")
    func finishWithError() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        for value in 1...3 { try await channel.send(value) }
        channel.finish(throwing: RPCError(code: .dataLoss, message: "torn"))
        channel.finish()  // later calls do nothing
        channel.finish(throwing: RPCError(code: .aborted, message: "ignored"))
        for value in 1...3 { #expect(try await channel.receive() == value) }
        for _ in 0..<2 {
            let error = await #expect(throws: RPCError.self) { try await channel.receive() }
            #expect(error?.code == .dataLoss)
            #expect(error?.message == "torn")
        }
        let sendError = await #expect(throws: RPCError.self) { try await channel.send(4) }
        #expect(sendError?.code == .dataLoss)
    }

    @Test("finishing wakes a waiting receiver", arguments: [nil, StatusCode.unavailable])
    func finishWakesReceiver(_ code: StatusCode?) async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        let (task, outcome) = started { try await channel.receive() }
        #expect(await stays { !outcome.isSet })
        channel.finish(throwing: code.map { RPCError(code: $0, message: "gone") })
        #expect(await eventually { outcome.isSet })
        switch (code, outcome.value) {
        case (nil, .success(nil)?): break
        case (let code?, .failure(let error as RPCError)?): #expect(error.code == code)
        default: Issue.record("unexpected outcome \(String(describing: outcome.value)) for \(String(describing: code))")
        }
        await task.value
    }

    @Test("finishing with an error wakes a suspended sender with that error")
    func finishWakesSender() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(0)
        let (task, outcome) = started { try await channel.send(1) }
        #expect(await stays { !outcome.isSet })
        channel.finish(throwing: RPCError(code: .cancelled, message: "reset"))
        #expect(await eventually { outcome.isSet })
        guard case .failure(let error as RPCError)? = outcome.value else {
            Issue.record("the suspended send did not fail: \(String(describing: outcome.value))")
            return
        }
        #expect(error.code == .cancelled)
        await task.value
    }

    // MARK: cancellation

    @Test("cancelling a waiting receiver makes it throw CANCELLED; the channel stays usable")
    func cancelWaitingReceiver() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let (task, outcome) = started { try await channel.receive() }
        #expect(await stays { !outcome.isSet }, "receive on an empty channel returned at once")
        task.cancel()
        #expect(await eventually { outcome.isSet }, "the cancelled receiver never returned")
        guard case .failure(let error as RPCError)? = outcome.value else {
            Issue.record("the cancelled receive did not throw an RPCError: \(String(describing: outcome.value))")
            return
        }
        #expect(error.code == .cancelled)

        // The cancelled receiver must not swallow the next element.
        try await channel.send(42)
        #expect(try await channel.receive() == 42)
    }

    @Test("a receive from an already cancelled task on an empty channel throws CANCELLED")
    func receiveWhenAlreadyCancelled() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let (task, outcome) = started { () async throws -> Int? in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await channel.receive()
        }
        #expect(await eventually(within: .seconds(3)) { outcome.isSet }, "the cancelled receiver suspended")
        if case .failure(let error as RPCError)? = outcome.value {
            #expect(error.code == .cancelled)
        } else {
            Issue.record("unexpected outcome \(String(describing: outcome.value))")
        }
        channel.finish()
        await task.value
    }

    @Test("a receive from a cancelled task still takes an element that is already there")
    func receiveBufferedWhenCancelled() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        try await channel.send(5)
        let (task, outcome) = started { () async throws -> Int? in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await channel.receive()
        }
        await task.value
        #expect(try outcome.value?.get() == 5)
    }

    @Test("cancelling a suspended sender makes it throw CANCELLED")
    func cancelSuspendedSender() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(0)
        let (task, outcome) = started { try await channel.send(1) }
        #expect(await stays { !outcome.isSet })
        task.cancel()
        #expect(await eventually { outcome.isSet }, "the cancelled sender never returned")
        guard case .failure(let error as RPCError)? = outcome.value else {
            Issue.record("the cancelled send did not throw an RPCError: \(String(describing: outcome.value))")
            return
        }
        #expect(error.code == .cancelled)
        #expect(try await channel.receive() == 0)
    }

    @Test("a send from an already cancelled task into a full channel throws CANCELLED instead of suspending")
    func sendWhenAlreadyCancelled() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(0)
        let (task, outcome) = started {
            withUnsafeCurrentTask { $0?.cancel() }
            try await channel.send(1)
        }
        let returned = await eventually(within: .seconds(3)) { outcome.isSet }
        #expect(returned, "a send from a cancelled task suspended on a full channel")
        if returned {
            guard case .failure(let error as RPCError)? = outcome.value else {
                Issue.record("unexpected outcome \(String(describing: outcome.value))")
                return
            }
            #expect(error.code == .cancelled)
        }
        channel.finish()  // releases the sender if it did suspend, so the test ends either way
        await task.value
    }
}
