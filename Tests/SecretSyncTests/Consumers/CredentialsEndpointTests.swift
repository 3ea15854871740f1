import Testing

@testable import SecretSync

@Suite("Credentials endpoint: requests, tokens, addresses")
struct CredentialsEndpointTests {
    @Test func aRequestHeadParses() throws {
        let request = try #require(
            EndpointRequest.parse(
                Array("GET /credentials?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization:  tok \r\nauthorization: second\r\n\r\n".utf8)))
        #expect(request == EndpointRequest(method: "GET", path: "/credentials", headers: ["host": "127.0.0.1", "authorization": "tok"]))
    }

    @Test(arguments: [
        "GET /credentials HTTP/1.1\r\nHost: x\r\n",  // no blank line yet
        "GET credentials HTTP/1.1\r\n\r\n", "GET /c HTTP/2\r\n\r\n", "get /c HTTP/1.1\r\n\r\n", "GET /c HTTP/1.1\r\nno colon\r\n\r\n",
        "GET  /c HTTP/1.1\r\n\r\n", "\r\n\r\n",
    ])
    func malformedHeadsAreRefused(text: String) {
        #expect(EndpointRequest.parse(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(EndpointRequest.parse(Array("GET /c HTTP/1.1\r\nX: ".utf8) + [0xFF, 0xFE] + Array("\r\n\r\n".utf8)) == nil)
    }

    @Test func tokensCompareByValueAndLength() {
        let token = Array("a1b2c3".utf8)
        #expect(constantTimeEqual(token, Array("a1b2c3".utf8)))
        #expect(!constantTimeEqual(token, Array("a1b2c4".utf8)))
        #expect(!constantTimeEqual(token, Array("a1b2c".utf8)))
        #expect(!constantTimeEqual(token, Array("a1b2c3d".utf8)))
        #expect(!constantTimeEqual(token, []))
    }

    @Test(
        arguments: [
            ("127.0.0.1:9911", "127.0.0.1", 9911), ("127.1.2.3:80", "127.1.2.3", 80), ("[::1]:9911", "::1", 9911),
        ] as [(String, String, Int)])
    func loopbackAddressesAreAccepted(text: String, host: String, port: Int) throws {
        let address = try #require(ManifestReader.loopbackAddress(text))
        #expect(address.host == host && Int(address.port) == port)
    }

    @Test(arguments: [
        "0.0.0.0:9911", "10.0.0.1:9911", "localhost:9911", "[::]:9911", "[fe80::1]:9911", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:+80", "[::1]9911", ":9911", "169.254.169.254:80",
    ])
    func anythingButLoopbackIsRefused(text: String) {
        #expect(ManifestReader.loopbackAddress(text) == nil)
    }

    @Test func theManifestBlockParses() throws {
        let manifest = try parse(
            validHeader + "credentials_endpoint:\n  listen: 127.0.0.1:9911\n  group: myapp\n" + oneFile)
        let spec = try #require(manifest.credentialsEndpoint)
        #expect(spec.url == "http://127.0.0.1:9911/credentials")
        #expect(spec.tokenFile == "/run/secret-sync/credentials.token" && spec.group?.id == 1001)
        let error = try #require(throws: ManifestError.self) {
            try parse(validHeader + "credentials_endpoint:\n  listen: 0.0.0.0:9911\n" + oneFile)
        }
        #expect(error.problems.map(\.description).joined().contains("is not a loopback address and port"))
    }
}

@Suite("Supervisor")
struct SupervisorTests {
    @Test func socketActivationGoesThroughAShellThatSetsListenPid() {
        #expect(Supervisor.launchArguments(["/bin/app", "-x"], environment: ["PATH": "/bin"]) == ["/bin/app", "-x"])
        let wrapped = Supervisor.launchArguments(["/bin/app", "-x"], environment: ["LISTEN_FDS": "1"])
        #expect(wrapped.prefix(2) == ["/bin/sh", "-c"] && wrapped.suffix(2) == ["/bin/app", "-x"])
        #expect(wrapped[2].contains("LISTEN_PID=$$") && wrapped[2].contains(#"exec "$0" "$@""#))
    }
}
