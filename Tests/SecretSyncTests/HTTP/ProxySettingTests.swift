import Testing

@testable import SecretSync

@Suite("Proxy settings, for errors")
struct ProxySettingTests {
    @Test func theVariableIsFoundInLibcurlsOrder() {
        let environment = ["HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "ALL_PROXY": "http://all:1"]
        #expect(ProxySetting.forURL("https://sm.example", environment: { environment[$0] })! == ("https_proxy", "http://lower:3128"))
        #expect(
            ProxySetting.forURL("https://sm.example", environment: { $0 == "ALL_PROXY" ? "http://all:1" : nil })! == (
                "ALL_PROXY", "http://all:1"
            ))
        // Only lower-case http_proxy counts for http URLs (the upper-case one is CGI's HTTP_PROXY header).
        #expect(ProxySetting.forURL("http://sm.example", environment: { $0 == "HTTP_PROXY" ? "http://cgi:1" : nil }) == nil)
        #expect(ProxySetting.forURL("https://sm.example", environment: { _ in nil }) == nil)
    }

    @Test func credentialsInTheProxyURLAreNeverShown() {
        #expect(ProxySetting.withoutCredentials("http://user:s3cr@t@proxy:3128") == "http://proxy:3128")
        #expect(ProxySetting.withoutCredentials("user:pw@proxy:3128") == "proxy:3128")
        #expect(ProxySetting.withoutCredentials("http://proxy:3128") == "http://proxy:3128")
    }

    @Test func aRefusalIsNamedAndNotRetried() {
        let error = ProxySetting.refusal(status: 403, url: "https://secretsmanager.us-west-2.amazonaws.com/", curlCode: 56)
        #expect(error.message.hasSuffix("refused to tunnel to secretsmanager.us-west-2.amazonaws.com (HTTP 403)"))
        #expect(error.fix?.contains("NO_PROXY") == true)
        #expect(!error.isRetryable)
    }
}
