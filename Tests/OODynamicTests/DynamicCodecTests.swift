import ExampleProtos
import Foundation
import GRPCTestingProtos
import OODynamic
import ReflectionProtos
import SwiftProtobuf
import Testing

/// JSON ⇄ binary over real descriptors, checked against swift-protobuf's own serialization
/// and JSON of the same messages built in Swift.
@Suite("DynamicCodec")
struct DynamicCodecTests {
    let codec: DynamicCodec

    init() throws { codec = DynamicCodec(pool: try testPool()) }

    /// Encodes `json` as `message`'s type, and decodes `message`'s bytes: both must agree
    /// with swift-protobuf.
    func checkAgainstSwiftProtobuf<M: SwiftProtobuf.Message & Equatable>(_ message: M, json: String, type: String) throws {
        let expectedBytes: [UInt8] = try message.serializedBytes()
        #expect(try codec.encode(json: json, messageType: type) == expectedBytes, "encoding \(json)")
        let decoded = try codec.jsonText(expectedBytes, messageType: type)
        #expect(decoded == (try message.jsonString()), "decoding \(type)")
        // And swift-protobuf reads our JSON back into the same message.
        #expect(try M(jsonString: decoded) == message)
    }

    @Test("Greeter messages match swift-protobuf")
    func greeter() throws {
        try checkAgainstSwiftProtobuf(
            Oo_Example_V1_HelloRequest.with { $0.name = "oO ✓"; $0.count = 3 }, json: #"{"name":"oO ✓","count":3}"#,
            type: "oo.example.v1.HelloRequest")
        try checkAgainstSwiftProtobuf(
            Oo_Example_V1_HelloRequest.with { $0.count = -7 }, json: #"{"count":"-7"}"#, type: ".oo.example.v1.HelloRequest")
        // Defaults are omitted both ways.
        #expect(try codec.encode(json: #"{"name":"","count":0}"#, messageType: "oo.example.v1.HelloRequest").isEmpty)
        #expect(try codec.jsonText([], messageType: "oo.example.v1.HelloRequest") == "{}")
    }

    @Test("nested messages, enums, bytes, bools, .proto names accepted")
    func simpleRequest() throws {
        let message = Grpc_Testing_SimpleRequest.with {
            $0.responseType = .compressable
            $0.responseSize = 314_159
            $0.payload = .with { $0.body = Data([0, 1, 2, 250, 251, 255]) }
            $0.fillUsername = true
            $0.responseCompressed = .with { $0.value = true }
            $0.responseStatus = .with { $0.code = 2; $0.message = "line\n\"quoted\"\u{01}" }
            $0.expectCompressed = .init()
        }
        try checkAgainstSwiftProtobuf(
            message,
            json: #"{"response_size":314159,"payload":{"body":"AAEC+vv/"},"fill_username":true,"responseCompressed":{"value":true},"#
                + #""responseStatus":{"code":2,"message":"line\n\"quoted\"\u0001"},"expectCompressed":{}}"#,
            type: "grpc.testing.SimpleRequest")
        // Enum by number, URL-safe unpadded base64.
        let other = try codec.encode(json: #"{"responseType":0,"payload":{"body":"AAEC-vv_"}}"#, messageType: "grpc.testing.SimpleRequest")
        #expect(try Grpc_Testing_SimpleRequest(serializedBytes: other).payload.body == Data([0, 1, 2, 250, 251, 255]))
    }

    @Test("maps, including maps of messages holding maps")
    func maps() throws {
        let message = Grpc_Testing_LoadBalancerStatsResponse.with {
            $0.rpcsByPeer = ["peer-a": 7]
            $0.numFailures = 2
            $0.rpcsByMethod = ["UnaryCall": .with { $0.rpcsByPeer = ["peer-b": 3] }]
            $0.metadatasByPeer = ["p": .with { $0.rpcMetadata = [.with { $0.metadata = [.with { $0.key = "k"; $0.value = "v"; $0.type = .initial }] }] }]
        }
        try checkAgainstSwiftProtobuf(
            message,
            json: #"{"rpcsByPeer":{"peer-a":7},"numFailures":2,"rpcsByMethod":{"UnaryCall":{"rpcsByPeer":{"peer-b":3}}},"#
                + #""metadatasByPeer":{"p":{"rpcMetadata":[{"metadata":[{"key":"k","value":"v","type":"INITIAL"}]}]}}}"#,
            type: "grpc.testing.LoadBalancerStatsResponse")
        try checkAgainstSwiftProtobuf(
            Grpc_Testing_LoadBalancerAccumulatedStatsResponse.MethodStats.with { $0.rpcsStarted = 1; $0.result = [-4: 9] },
            json: #"{"rpcsStarted":1,"result":{"-4":9}}"#, type: "grpc.testing.LoadBalancerAccumulatedStatsResponse.MethodStats")
        // Several keys: every entry arrives, whatever the order.
        let bytes = try codec.encode(json: #"{"rpcsByPeer":{"a":1,"b":2,"c":0}}"#, messageType: "grpc.testing.LoadBalancerStatsResponse")
        #expect(try Grpc_Testing_LoadBalancerStatsResponse(serializedBytes: bytes).rpcsByPeer == ["a": 1, "b": 2, "c": 0])
    }

    @Test("int64 as strings, doubles, NaN and Infinity, maps of doubles")
    func numbers() throws {
        try checkAgainstSwiftProtobuf(
            Grpc_Testing_MemorySize.with { $0.rss = 9_007_199_254_740_993 }, json: #"{"rss":9007199254740993}"#,
            type: "grpc.testing.MemorySize")
        #expect(try codec.jsonText(try Grpc_Testing_MemorySize.with { $0.rss = -5 }.serializedBytes(), messageType: "grpc.testing.MemorySize") == #"{"rss":"-5"}"#)
        try checkAgainstSwiftProtobuf(
            Grpc_Testing_TestOrcaReport.with { $0.cpuUtilization = 0.25; $0.memoryUtilization = 3; $0.requestCost = ["db": 1.5e300] },
            json: #"{"cpuUtilization":0.25,"memoryUtilization":3,"requestCost":{"db":1.5e300}}"#, type: "grpc.testing.TestOrcaReport")
        try checkAgainstSwiftProtobuf(
            Grpc_Testing_TestOrcaReport.with { $0.cpuUtilization = .infinity; $0.memoryUtilization = -.infinity },
            json: #"{"cpuUtilization":"Infinity","memoryUtilization":"-Infinity"}"#, type: "grpc.testing.TestOrcaReport")
        let nan = try codec.encode(json: #"{"cpuUtilization":"NaN"}"#, messageType: "grpc.testing.TestOrcaReport")
        #expect(try Grpc_Testing_TestOrcaReport(serializedBytes: nan).cpuUtilization.isNaN)
        #expect(try codec.jsonText(nan, messageType: "grpc.testing.TestOrcaReport") == #"{"cpuUtilization":"NaN"}"#)
        // Integral numbers in other spellings.
        let spelled = try codec.encode(json: #"{"responseSize":1e3,"responseType":"COMPRESSABLE"}"#, messageType: "grpc.testing.SimpleRequest")
        #expect(try Grpc_Testing_SimpleRequest(serializedBytes: spelled).responseSize == 1000)
    }

    @Test("repeated scalars go out packed; packed and unpacked both read")
    func repeatedFields() throws {
        let message = Grpc_Testing_ReconnectInfo.with { $0.passed = true; $0.backoffMs = [1, 300, -2] }
        try checkAgainstSwiftProtobuf(message, json: #"{"passed":true,"backoffMs":[1,300,-2]}"#, type: "grpc.testing.ReconnectInfo")
        // Unpacked: field 2 as three varints.
        var unpacked: [UInt8] = [0x08, 0x01]
        for value in [UInt8(1), 2, 3] { unpacked += [0x10, value] }
        #expect(try codec.jsonText(unpacked, messageType: "grpc.testing.ReconnectInfo") == #"{"passed":true,"backoffMs":[1,2,3]}"#)
        try checkAgainstSwiftProtobuf(
            Grpc_Testing_ClientConfigureRequest.with {
                $0.types = [.unaryCall, .emptyCall]
                $0.metadata = [.with { $0.type = .unaryCall; $0.key = "a"; $0.value = "b" }, .with { $0.key = "c" }]
                $0.timeoutSec = 5
            },
            json: #"{"types":["UNARY_CALL",0],"metadata":[{"type":"UNARY_CALL","key":"a","value":"b"},{"key":"c"}],"timeoutSec":5}"#,
            type: "grpc.testing.ClientConfigureRequest")
    }

    @Test("unknown fields are skipped; a repeated singular message merges")
    func unknownAndMerge() throws {
        var bytes: [UInt8] = try Oo_Example_V1_HelloRequest.with { $0.name = "x" }.serializedBytes()
        bytes += [0xA0, 0x06, 0x2A]  // field 100, varint 42
        bytes += [0xAA, 0x06, 0x02, 0x41, 0x42]  // field 101, 2 bytes
        bytes += [0xAB, 0x06, 0x08, 0x01, 0xAC, 0x06]  // field 101 group, with a varint inside
        #expect(try codec.jsonText(bytes, messageType: "oo.example.v1.HelloRequest") == #"{"name":"x"}"#)
        // payload twice: type from the first, body from the second.
        let first: [UInt8] = try Grpc_Testing_Payload.with { $0.type = .UNRECOGNIZED(5) }.serializedBytes()
        let second: [UInt8] = try Grpc_Testing_Payload.with { $0.body = Data([7]) }.serializedBytes()
        let twice = [0x1A, UInt8(first.count)] + first + [0x1A, UInt8(second.count)] + second
        #expect(try codec.jsonText(twice, messageType: "grpc.testing.SimpleRequest") == #"{"payload":{"type":5,"body":"Bw=="}}"#)
    }

    @Test("oneofs: the set member is printed even at its default; two members are an error")
    func oneofs() throws {
        let type = "grpc.reflection.v1.ServerReflectionRequest"
        try checkAgainstSwiftProtobuf(
            Grpc_Reflection_V1_ServerReflectionRequest.with { $0.host = "h"; $0.listServices = "" },
            json: #"{"host":"h","listServices":""}"#, type: type)
        try checkAgainstSwiftProtobuf(
            Grpc_Reflection_V1_ServerReflectionResponse.with {
                $0.fileDescriptorResponse = .with { $0.fileDescriptorProto = [Data([1, 2]), Data()] }
            },
            json: #"{"fileDescriptorResponse":{"fileDescriptorProto":["AQI=",""]}}"#, type: "grpc.reflection.v1.ServerReflectionResponse")
        let error = #expect(throws: TranscodingError.self) {
            try codec.encode(json: #"{"listServices":"","fileByFilename":"a.proto"}"#, messageType: type)
        }
        #expect(error?.description == "fileByFilename: oneof message_request already has 'listServices' set")
    }

    @Test("well-known types in their JSON forms")
    func wellKnownTypes() throws {
        try checkAgainstSwiftProtobuf(
            Google_Protobuf_Timestamp(seconds: 1_714_564_800, nanos: 21_000_000), json: #""2024-05-01T12:00:00.021Z""#,
            type: "google.protobuf.Timestamp")
        try checkAgainstSwiftProtobuf(
            Google_Protobuf_Timestamp(seconds: -62_135_596_800, nanos: 1), json: #""0001-01-01T00:00:00.000000001Z""#,
            type: "google.protobuf.Timestamp")
        try checkAgainstSwiftProtobuf(
            Google_Protobuf_Timestamp(seconds: 1_714_564_800), json: #""2024-05-01T14:00:00+02:00""#, type: "google.protobuf.Timestamp")
        try checkAgainstSwiftProtobuf(Google_Protobuf_Duration(seconds: 1, nanos: 500_000_000), json: #""1.5s""#, type: "google.protobuf.Duration")
        try checkAgainstSwiftProtobuf(Google_Protobuf_Duration(seconds: -3, nanos: -1000), json: #""-3.000001s""#, type: "google.protobuf.Duration")
        try checkAgainstSwiftProtobuf(Google_Protobuf_Int64Value(12), json: #""12""#, type: "google.protobuf.Int64Value")
        try checkAgainstSwiftProtobuf(Google_Protobuf_StringValue("hi"), json: #""hi""#, type: "google.protobuf.StringValue")
        try checkAgainstSwiftProtobuf(Google_Protobuf_BoolValue(false), json: "false", type: "google.protobuf.BoolValue")
        try checkAgainstSwiftProtobuf(Google_Protobuf_DoubleValue(2.5), json: "2.5", type: "google.protobuf.DoubleValue")
        try checkAgainstSwiftProtobuf(Google_Protobuf_Empty(), json: "{}", type: "google.protobuf.Empty")
        // Inside a message, and a wrapper set to its default stays present.
        let json = #"{"label":"n","created":"1970-01-01T00:00:00Z","ttl":"0s","note":"","sint":"-3","fixed":"18446744073709551615","ratio":0.5,"values":[-1,2]}"#
        let bytes = try codec.encode(json: json, messageType: "test.Node")
        #expect(try codec.jsonText(bytes, messageType: "test.Node") == json)
        for bad in [#""2024-02-30T00:00:00Z""#, #""2024-05-01 12:00:00Z""#, #""10000-01-01T00:00:00Z""#, "12"] {
            #expect(throws: TranscodingError.self, "\(bad)") { try codec.encode(json: bad, messageType: "google.protobuf.Timestamp") }
        }
        #expect(throws: TranscodingError.self) { try codec.encode(json: #""1.5""#, messageType: "google.protobuf.Duration") }
    }

    @Test("malformed JSON and wrong types: errors naming the JSON path")
    func errorPaths() throws {
        func message(_ json: String, _ type: String) -> String? {
            do {
                _ = try codec.encode(json: json, messageType: type)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message(#"{"responseSize":"x"}"#, "grpc.testing.SimpleRequest") == #"responseSize: expected an integer, got "x""#)
        #expect(message(#"{"responseStatus":{"code":1.5}}"#, "grpc.testing.SimpleRequest") == "responseStatus.code: expected an integer, got 1.5")
        #expect(
            message(#"{"rpcsByMethod":{"m":{"rpcsByPeer":{"p":true}}}}"#, "grpc.testing.LoadBalancerStatsResponse")
                == #"rpcsByMethod["m"].rpcsByPeer["p"]: expected an integer, got true"#)
        #expect(message(#"{"backoffMs":[1,"two"]}"#, "grpc.testing.ReconnectInfo") == #"backoffMs[1]: expected an integer, got "two""#)
        #expect(message(#"{"responseSize":3000000000}"#, "grpc.testing.SimpleRequest") == "responseSize: 3000000000 is out of range for int32")
        #expect(message(#"{"rss":"18446744073709551616"}"#, "grpc.testing.MemorySize") == "rss: 18446744073709551616 is out of range for int64")
        #expect(message(#"{"nmae":"x"}"#, "oo.example.v1.HelloRequest") == "nmae: oo.example.v1.HelloRequest has no field named 'nmae'")
        #expect(message(#"{"name":"a","name":"b"}"#, "oo.example.v1.HelloRequest")?.contains("set twice") == true)
        #expect(message(#"{"responseType":"LOUD"}"#, "grpc.testing.SimpleRequest")?.hasPrefix(#"responseType: grpc.testing.PayloadType has no value named "LOUD""#) == true)
        #expect(message(#"{"payload":{"body":"***"}}"#, "grpc.testing.SimpleRequest") == #"payload.body: expected base64-encoded bytes, got "***""#)
        #expect(message(#"{"cpuUtilization":"fast"}"#, "grpc.testing.TestOrcaReport") == #"cpuUtilization: expected a number, got "fast""#)
        #expect(message(#"{"ratio":1e39}"#, "test.Node") == "ratio: 1e39 is out of range for float")
        #expect(message(#"[1]"#, "oo.example.v1.HelloRequest") == "expected an object for oo.example.v1.HelloRequest, got an array")
        #expect(message(#"{"name":"x"}"#, "no.such.Type") == "message type 'no.such.Type' is not in the descriptors loaded")
        for malformed in [#"{"name":"#, "{name: 1}", #"{"name":"x"} trailing"#, #"{"count":01}"#, #""\ud800""#, "", "[" + String(repeating: "[", count: 300)] {
            let error = #expect(throws: TranscodingError.self, "\(malformed)") { try codec.encode(json: malformed, messageType: "oo.example.v1.HelloRequest") }
            #expect(error?.message.hasPrefix("invalid JSON") == true, "\(String(describing: error))")
        }
    }

    @Test("nesting is bounded at 100 both ways")
    func depth() throws {
        func nestedJSON(_ depth: Int) -> String {
            String(repeating: #"{"child":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        }
        #expect(throws: Never.self) { try codec.encode(json: nestedJSON(100), messageType: "test.Node") }
        let deep = #expect(throws: TranscodingError.self) { try codec.encode(json: nestedJSON(101), messageType: "test.Node") }
        #expect(deep?.message == "messages nested deeper than 100")
        #expect(deep?.path.hasPrefix("child.child.") == true)

        func nestedBytes(_ depth: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            for _ in 1..<depth {
                var header: [UInt8] = [0x0A]
                var length = bytes.count
                while length >= 0x80 { header.append(UInt8(length & 0x7F) | 0x80); length >>= 7 }
                header.append(UInt8(length))
                bytes = header + bytes
            }
            return bytes
        }
        #expect(try codec.encode(json: nestedJSON(100), messageType: "test.Node") == nestedBytes(100))
        #expect(try codec.jsonText(nestedBytes(100), messageType: "test.Node") == nestedJSON(100))
        #expect(throws: TranscodingError.self) { try codec.decode(nestedBytes(101), messageType: "test.Node") }
        #expect(throws: TranscodingError.self) { try codec.decode(nestedBytes(5000), messageType: "test.Node") }
        // Groups nested without end.
        #expect(throws: TranscodingError.self) { try codec.decode(Array(repeating: 0x0B, count: 10_000), messageType: "test.Node") }
    }

    @Test("hostile bytes: errors, never crashes")
    func hostileBytes() throws {
        let cases: [(String, [UInt8])] = [
            ("truncated varint", [0x10, 0xFF]),
            ("overlong varint", [0x10] + Array(repeating: 0xFF, count: 11) + [0x01]),
            ("length past the end", [0x0A, 0x05, 0x41]),
            ("huge length", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            ("field number 0", [0x00, 0x01]),
            ("wire type 7", [0x0F]),
            ("invalid UTF-8", [0x0A, 0x02, 0xC3, 0x28]),
            ("stray end-group", [0x0C]),
            ("mismatched end-group", [0x0B, 0x14]),
            ("truncated fixed64", [0x09, 0x01, 0x02]),
        ]
        for (name, bytes) in cases {
            #expect(throws: TranscodingError.self, "\(name)") { try codec.decode(bytes, messageType: "oo.example.v1.HelloRequest") }
        }
        // Random bytes into every kind of type: either JSON or an error.
        var generator = SplitMix64(seed: 0x00_5EED)
        let types = [
            "oo.example.v1.HelloRequest", "grpc.testing.SimpleRequest", "grpc.testing.LoadBalancerStatsResponse", "test.Node",
            "grpc.testing.ClientConfigureRequest", "google.protobuf.Timestamp",
        ]
        var decoded = 0
        for round in 0..<3000 {
            let length = Int(generator.next() % 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Half the time start from a valid message and flip a byte.
            if round % 2 == 0 {
                bytes = try Grpc_Testing_SimpleRequest.with {
                    $0.responseSize = Int32(truncatingIfNeeded: generator.next())
                    $0.payload = .with { $0.body = Data(bytes) }
                    $0.responseStatus = .with { $0.message = "m" }
                }.serializedBytes()
                bytes[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            }
            for type in types {
                if (try? codec.decode(bytes, messageType: type)) != nil { decoded += 1 }
            }
        }
        #expect(decoded > 0)
    }

    @Test("pretty output and sequences of requests")
    func renderingAndSequences() throws {
        let value = try codec.decode(try Grpc_Testing_ReconnectInfo.with { $0.passed = true; $0.backoffMs = [1] }.serializedBytes(), messageType: "grpc.testing.ReconnectInfo")
        #expect(value.rendered(pretty: true) == "{\n  \"passed\": true,\n  \"backoffMs\": [\n    1\n  ]\n}")
        let values = try JSONValue.parseSequence("{\"name\":\"a\"}\n{\"name\":\"b\"}\n\n  {\n \"count\": 2 }\n")
        #expect(values.count == 3)
    }
}

/// A small deterministic generator for the hostile-bytes test.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
