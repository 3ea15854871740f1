import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An error answer from an AWS service (or a stand-in): its code, message and HTTP status.
package struct AWSErrorBody: Sendable, Equatable {
    package let code: String
    package let message: String
    package let status: Int
    package let requestId: String?

    /// Reads the error from JSON (`__type`/`code` and `message`/`Message`), the `X-Amzn-ErrorType`
    /// header, or query-protocol XML (`<Code>`, `<Message>`, as moto sends auth failures);
    /// falls back to the HTTP status and the raw text.
    package static func parse(_ response: HTTPResponse) -> AWSErrorBody {
        var code: String?
        var message: String?
        if let header = response.header("x-amzn-errortype") { code = clean(header) }
        if let object = JSONDocument.parse(Array(response.body)), case .object = object {
            if code == nil, let type = (object["__type"] ?? object["code"] ?? object["Code"])?.string {
                code = clean(type)
            }
            message = (object["message"] ?? object["Message"])?.string
        } else if let text = String(data: response.body, encoding: .utf8), text.contains("<") {
            if code == nil { code = xmlElement("Code", in: text) }
            message = xmlElement("Message", in: text)
        }
        let requestId = response.header("x-amzn-requestid") ?? response.header("x-amz-request-id")
        if message == nil {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
                .trimmed
            message = text.isEmpty ? nil : text
        }
        return AWSErrorBody(
            code: code ?? "HTTP \(response.status)", message: message ?? "(no message)", status: response.status,
            requestId: requestId)
    }

    /// `aws.protocoltests#FooError:http://...` → `FooError`.
    static func clean(_ type: String) -> String {
        var value = Substring(type)
        if let colon = value.firstIndex(of: ":") { value = value[..<colon] }
        if let hash = value.lastIndex(of: "#") { value = value[value.index(after: hash)...] }
        return value.trimmedSpaces
    }

    static func xmlElement(_ name: String, in text: String) -> String? {
        guard let start = text.firstRange(of: "<\(name)>"), let end = text[start.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// True for answers worth retrying: throttling and server faults.
    package var isRetryable: Bool { Self.isRetryable(code: code, status: status) }

    package static func isRetryable(code: String, status: Int) -> Bool {
        if status >= 500 || status == 429 { return true }
        return throttlingCodes.contains(code) || ["InternalServiceError", "InternalFailure", "ServiceUnavailable"].contains(code)
    }

    /// The codes AWS answers with when a quota, not a fault, stopped the call.
    static let throttlingCodes: Set<String> = ["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"]
}
