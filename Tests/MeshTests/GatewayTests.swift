import Foundation
import Gateway
import GatewayProtos
import OOAuth
import OOMesh
import RecommenderProtos
import NotifierProtos
import SwiftProtobuf
import Testing

/// The gateway's API over real HTTP/2, with the recommender, ml-serving and notifier behind
/// it, each on its own loopback server and SQLite file.
@Suite("Gateway over the mesh", .timeLimit(.minutes(2)))
struct GatewayTests {
    @Test("import, tip, react, history: the whole loop, and a reaction is stored once")
    func loop() async throws {
        try await withMesh { mesh in
            let ada = try mesh.auth("ada")
            let imported = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(5) }, metadata: ada)
            #expect(imported.imported == 5)
            let again = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(2) }, metadata: ada)
            #expect(again.imported == 0 && again.updated == 2)

            let next = try await mesh.gateway.getNextTip(.init(), metadata: ada)
            #expect(next.tip.taskID.hasPrefix("t"))
            #expect(next.tip.policy == "linucb")
            #expect(next.tip.promptVersion == "tips-v1")
            // Queued, not sent, before the answer; the notifier's dispatcher sends it.
            #expect(next.delivery.status == "queued")
            let deadline = ContinuousClock.now + .seconds(10)
            var sent = false
            while !sent, ContinuousClock.now < deadline {
                let deliveries = try await mesh.notifier.listDeliveries(.with { $0.userID = "ada" }).deliveries
                sent = deliveries.first { $0.tipID == next.tip.tipID }?.status == .sent
                if !sent { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(sent, "the queued delivery was not sent by the dispatcher")

            let reacted = try await mesh.gateway.react(.with {
                $0.tipID = next.tip.tipID
                $0.reaction = .done
            }, metadata: ada)
            #expect(reacted.reward == 1 && !reacted.duplicate)
            let retried = try await mesh.gateway.react(.with {
                $0.tipID = next.tip.tipID
                $0.reaction = .done
            }, metadata: ada)
            #expect(retried.duplicate)
            let conflicting = await code {
                _ = try await mesh.gateway.react(.with {
                    $0.tipID = next.tip.tipID
                    $0.reaction = .dismiss
                }, metadata: ada)
            }
            #expect(conflicting == .failedPrecondition)

            let history = try await mesh.gateway.listTips(.init(), metadata: ada)
            #expect(history.tips.map(\.tipID) == [next.tip.tipID])
            #expect(history.tips.first?.reaction == .done)

            // The done task is no longer suggested.
            for _ in 0..<4 {
                let tip = try await mesh.gateway.getNextTip(.init(), metadata: ada)
                #expect(tip.tip.taskID != next.tip.taskID)
            }
        }
    }

    @Test("a reaction to a tip that does not exist or is someone else's is NOT_FOUND")
    func foreignTip() async throws {
        try await withMesh { mesh in
            let ada = try mesh.auth("ada"), bob = try mesh.auth("bob")
            _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(3) }, metadata: ada)
            let tip = try await mesh.gateway.getNextTip(.init(), metadata: ada).tip
            let foreign = await code {
                _ = try await mesh.gateway.react(.with {
                    $0.tipID = tip.tipID
                    $0.reaction = .done
                }, metadata: bob)
            }
            #expect(foreign == .notFound)
            let missing = await code {
                _ = try await mesh.gateway.react(.with {
                    $0.tipID = "no-such-tip"
                    $0.reaction = .done
                }, metadata: ada)
            }
            #expect(missing == .notFound)
            let unspecified = await code {
                _ = try await mesh.gateway.react(.with { $0.tipID = tip.tipID }, metadata: ada)
            }
            #expect(unspecified == .invalidArgument)
            // Bob's failed attempt left Ada's tip without a reaction.
            #expect(try await mesh.gateway.listTips(.init(), metadata: ada).tips.first?.reaction == .unspecified)
            // Bob has no tasks: a clear FAILED_PRECONDITION.
            let empty = await rpcError { _ = try await mesh.gateway.getNextTip(.init(), metadata: bob) }
            #expect(empty?.code == .failedPrecondition)
            #expect(empty?.message.contains("import tasks") == true)
        }
    }

    @Test("tokens: missing, malformed, expired, forged → UNAUTHENTICATED; wrong issuer or audience → PERMISSION_DENIED")
    func tokens() async throws {
        let (privatePEM, publicPEM) = try JWTSigner.generateES256KeyPEM()
        var options = MeshOptions()
        options.extraKeys = [.es256(publicKeyPEM: publicPEM, id: "phone-key")]
        try await withMesh(options) { mesh in
            func call(_ metadata: Metadata) async -> StatusCode? {
                await code { _ = try await mesh.gateway.listTips(.init(), metadata: metadata) }
            }
            #expect(await call([:]) == .unauthenticated)
            #expect(await call(["authorization": "Basic YWRhOnNlY3JldA=="]) == .unauthenticated)
            #expect(await call(["authorization": "Bearer not.a.jwt"]) == .unauthenticated)
            #expect(await call(try mesh.auth("ada", expiresIn: -3_600)) == .unauthenticated)
            #expect(await call(try mesh.auth("ada", secret: Array("another secret of thirty-two bytes!".utf8))) == .unauthenticated)
            #expect(await call(try mesh.auth("ada", issuer: "someone-else")) == .permissionDenied)
            #expect(await call(try mesh.auth("ada", audience: "another-api")) == .permissionDenied)
            #expect(await call(try mesh.auth("ada")) == nil)
            // An ES256 token from the configured key pair works too.
            let signer = try JWTSigner(es256PrivateKeyPEM: privatePEM, keyID: "phone-key")
            let token = try signer.sign(
                subject: "ada", issuer: MeshFixture.issuer, audience: MeshFixture.audience, expiresAt: Date().addingTimeInterval(60))
            #expect(await call(["authorization": .string("Bearer \(token)")]) == nil)
            // The message says what was wrong, without echoing the token.
            let expired = try mesh.auth("ada", expiresIn: -3_600)
            let error = await rpcError { _ = try await mesh.gateway.listTips(.init(), metadata: expired) }
            #expect(error?.message.contains("expired") == true)
        }
    }

    @Test("imports: malformed JSON, bad fields and 100,000 tasks are INVALID_ARGUMENT; nothing is imported; the gateway stays up")
    func badImports() async throws {
        try await withMesh { mesh in
            let ada = try mesh.auth("ada")
            func importing(_ json: String) async -> RPCError? {
                await rpcError { _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = json }, metadata: ada) }
            }
            let malformed = await importing(#"[{"id": "1", "content": "milk""#)
            #expect(malformed?.code == .invalidArgument)
            #expect(malformed?.message.contains("not valid JSON") == true)
            #expect(await importing(#"{"id": "1"}"#)?.code == .invalidArgument)
            let badPriority = await importing(#"[{"id": "1", "content": "a"}, {"id": "2", "content": "b", "priority": 9}]"#)
            #expect(badPriority?.message.contains("Task 1") == true)
            #expect(await importing(#"[{"id": "1", "content": "a", "due": {"date": "2026-13-40"}}]"#)?.code == .invalidArgument)
            #expect(await importing(#"[{"id": true, "content": "a"}]"#)?.code == .invalidArgument)
            let huge = await importing(tasksJSON(100_000))
            #expect(huge?.code == .invalidArgument || huge?.code == .resourceExhausted)
            // Nothing was imported, and the gateway still answers.
            #expect(await code { _ = try await mesh.gateway.getNextTip(.init(), metadata: ada) } == .failedPrecondition)
            let good = try await mesh.gateway.importTasks(
                .with { $0.tasksJson = #"[{"id": 7, "content": "call mum", "project_id": "Family", "labels": ["call"], "priority": 4, "due": {"datetime": "2026-12-01T09:00:00Z"}}]"# },
                metadata: ada)
            #expect(good.imported == 1)
            let tip = try await mesh.gateway.getNextTip(.init(), metadata: ada).tip
            #expect(tip.taskID == "7" && tip.project == "Family" && tip.labels == ["call"] && tip.priority == 4)
        }
    }

    @Test("a user over the rate limit gets RESOURCE_EXHAUSTED; other users do not")
    func rateLimit() async throws {
        var options = MeshOptions()
        options.gateway.rateLimitBurst = 5
        options.gateway.rateLimitPerSecond = 0.001  // no refill within the test, however slow the machine
        try await withMesh(options) { mesh in
            let ada = try mesh.auth("ada"), bob = try mesh.auth("bob")
            var codes: [StatusCode?] = []
            for _ in 0..<8 { codes.append(await code { _ = try await mesh.gateway.listTips(.init(), metadata: ada) }) }
            #expect(codes.prefix(5).allSatisfy { $0 == nil })
            #expect(codes.suffix(3).allSatisfy { $0 == .resourceExhausted })
            #expect(await code { _ = try await mesh.gateway.listTips(.init(), metadata: bob) } == nil)
        }
    }

    @Test("the recommender down: UNAVAILABLE naming it, within the deadline")
    func recommenderDown() async throws {
        var options = MeshOptions()
        options.recommenderDown = true
        try await withMesh(options) { mesh in
            let started = ContinuousClock.now
            let error = await rpcError {
                _ = try await mesh.gateway.getNextTip(.init(), metadata: try mesh.auth("ada"), options: CallOptions(timeout: .seconds(3)))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("recommender") == true)
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("the notifier down: the tip is still served, its delivery says unavailable")
    func notifierDown() async throws {
        var options = MeshOptions()
        options.notifierDown = true
        try await withMesh(options) { mesh in
            let ada = try mesh.auth("ada")
            _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(2) }, metadata: ada)
            let next = try await mesh.gateway.getNextTip(.init(), metadata: ada, options: CallOptions(timeout: .seconds(5)))
            #expect(!next.tip.tipID.isEmpty)
            #expect(next.delivery.status == "unavailable")
            // Preferences need the notifier: a clear UNAVAILABLE.
            let error = await rpcError {
                _ = try await mesh.gateway.updatePreferences(.with { $0.preferences.timezone = "Europe/Berlin" }, metadata: ada)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("notifier") == true)
        }
    }

    @Test("SubscribeTips pushes each new tip to the caller, and only the caller's")
    func subscription() async throws {
        try await withMesh { mesh in
            let ada = try mesh.auth("ada"), bob = try mesh.auth("bob")
            _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(3) }, metadata: ada)
            _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(3) }, metadata: bob)
            // Headers come with the first tip, so tips are produced from beside the call:
            // one for Bob, then one for Ada every 200 ms until the subscriber has one.
            let received: String? = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    try await mesh.gateway.subscribeTips(.init(), metadata: ada, options: CallOptions(timeout: .seconds(20))) { response in
                        for try await tip in response.messages { return tip.tipID }
                        return nil
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(200))
                    _ = try await mesh.gateway.getNextTip(.init(), metadata: bob)
                    for _ in 0..<50 {
                        _ = try await mesh.gateway.getNextTip(.init(), metadata: ada)
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            let id = try #require(received)
            // It is one of Ada's tips, not Bob's.
            #expect(try await mesh.gateway.listTips(.init(), metadata: ada).tips.contains { $0.tipID == id })
            #expect(try await !mesh.gateway.listTips(.init(), metadata: bob).tips.contains { $0.tipID == id })
        }
    }

    @Test("DeleteMyData: every service confirms, and the user's tips and tasks are gone; others' stay")
    func erasure() async throws {
        try await withMesh { mesh in
            let ada = try mesh.auth("ada"), bob = try mesh.auth("bob")
            for user in [ada, bob] {
                _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(4) }, metadata: user)
                _ = try await mesh.gateway.updatePreferences(.with { $0.preferences.timezone = "Asia/Tokyo" }, metadata: user)
                let tip = try await mesh.gateway.getNextTip(.init(), metadata: user).tip
                _ = try await mesh.gateway.react(.with {
                    $0.tipID = tip.tipID
                    $0.reaction = .snooze
                }, metadata: user)
            }
            let erased = try await mesh.gateway.deleteMyData(.init(), metadata: ada)
            #expect(Set(erased.confirmations.map(\.service)) == ["recommender", "notifier", "ml-serving"])
            #expect((erased.confirmations.first { $0.service == "recommender" }?.recordsDeleted ?? 0) >= 6)
            #expect((erased.confirmations.first { $0.service == "notifier" }?.recordsDeleted ?? 0) >= 2)
            #expect(try await mesh.gateway.listTips(.init(), metadata: ada).tips.isEmpty)
            #expect(await code { _ = try await mesh.gateway.getNextTip(.init(), metadata: ada) } == .failedPrecondition)
            #expect(try await mesh.gateway.listTips(.init(), metadata: bob).tips.count == 1)
            // Erasing again is fine (idempotent) and finds nothing.
            let again = try await mesh.gateway.deleteMyData(.init(), metadata: ada)
            #expect(again.confirmations.allSatisfy { $0.recordsDeleted == 0 })
        }
    }

    @Test("the gateway's clock, not the client's: a chosen at_unix_ms is ignored unless the gateway runs a simulation clock")
    func serverClock() async throws {
        let future: Int64 = 1_900_000_000_000  // 2030
        for honours in [false, true] {
            var options = MeshOptions()
            options.gateway.honoursClientClock = honours
            try await withMesh(options) { mesh in
                let ada = try mesh.auth("ada")
                _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(2) }, metadata: ada)
                let before = Int64(Date().timeIntervalSince1970 * 1000)
                let tip = try await mesh.gateway.getNextTip(.with { $0.atUnixMs = future }, metadata: ada).tip
                if honours {
                    #expect(tip.createdUnixMs == future)
                } else {
                    #expect(abs(tip.createdUnixMs - before) < 60_000, "the tip is dated \(tip.createdUnixMs), the client's \(future)")
                }
            }
        }
    }

    @Test("preferences: a bad time zone or quiet hours are INVALID_ARGUMENT; good ones are stored by the notifier")
    func preferences() async throws {
        var options = MeshOptions()
        options.gateway.honoursClientClock = true  // the test picks the moment: 23:30 in Berlin
        try await withMesh(options) { mesh in
            let ada = try mesh.auth("ada")
            #expect(await code {
                _ = try await mesh.gateway.updatePreferences(.with { $0.preferences.timezone = "Mars/Olympus" }, metadata: ada)
            } == .invalidArgument)
            #expect(await code {
                _ = try await mesh.gateway.updatePreferences(.with {
                    $0.preferences.timezone = "UTC"
                    $0.preferences.quietStartMinute = 2_000
                }, metadata: ada)
            } == .invalidArgument)
            let stored = try await mesh.gateway.updatePreferences(.with {
                $0.preferences = .with {
                    $0.timezone = "Europe/Berlin"
                    $0.quietStartMinute = 22 * 60
                    $0.quietEndMinute = 7 * 60
                    $0.channels = ["log"]
                }
            }, metadata: ada)
            #expect(stored.preferences.timezone == "Europe/Berlin" && stored.preferences.quietEndMinute == 420)
            // A tip asked for at 23:30 Berlin time is deferred to 07:00.
            _ = try await mesh.gateway.importTasks(.with { $0.tasksJson = tasksJSON(2) }, metadata: ada)
            let late: Int64 = 1_796_596_200_000  // 2026-12-06T22:30Z, 23:30 in Berlin
            let tip = try await mesh.gateway.getNextTip(.with { $0.atUnixMs = late }, metadata: ada)
            #expect(tip.delivery.status == "deferred")
            #expect(tip.delivery.deliverAtUnixMs == 1_796_623_200_000)  // 2026-12-07T06:00Z, 07:00 in Berlin
        }
    }
}

