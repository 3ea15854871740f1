extension ManifestReader {
    // MARK: parameters (AWS Systems Manager Parameter Store)

    /// Parameter Store's limits: names of letters, digits and `_ . - /`, a hierarchy starting with
    /// `/`, at most 15 levels and 1011 characters.
    static let parameterNameLimit = 1011
    static let parameterLevelLimit = 15

    /// `version:` (a positive number) or `label:` of a parameter; its latest version when neither.
    mutating func parameterVersion(_ fields: [String: (key: YAMLNode, value: YAMLNode)], _ keyPath: String) -> ParameterVersionSelector {
        switch (fields["version"], fields["label"]) {
        case (.some(let version), .some):
            report(version.key, join(keyPath, "version"), "version and label are both given", fix: "keep one of them")
        case (.some(let version), nil):
            guard let text = string(version.value, join(keyPath, "version")) else { break }
            guard let number = Int(text), number >= 1, number <= 10_000_000 else {
                report(
                    version.value, join(keyPath, "version"), "'\(text.escapingControlCharacters)' is not a parameter version",
                    fix: "a version number, 1 or more (aws ssm get-parameter-history lists them)")
                break
            }
            return .number(number)
        case (nil, .some(let label)):
            guard let text = string(label.value, join(keyPath, "label")) else { break }
            let allowed = text.utf8.allSatisfy {
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
            }
            guard (1...100).contains(text.utf8.count), allowed, !text.utf8.allSatisfy({ $0.isASCIIDigit }) else {
                report(
                    label.value, join(keyPath, "label"), "'\(text.escapingControlCharacters)' is not a parameter label",
                    fix: "up to 100 letters, digits and _ . -, not only digits (a number is a version:)")
                break
            }
            return .label(text)
        case (nil, nil): break
        }
        return .latest
    }

    /// The region of a parameter named by ARN (nil for a name); a malformed ARN or name is reported.
    mutating func parameterARNRegion(_ id: String, _ idNode: YAMLNode, _ keyPath: String) -> String? {
        if id.hasPrefix("arn:") {
            guard let arn = ARN(id), arn.service == "ssm", arn.resourceType == "parameter", !arn.region.isEmpty,
                arn.resource.hasPrefix("parameter/"), arn.resource.utf8.count > "parameter/".utf8.count
            else {
                report(
                    idNode, join(keyPath, "id"), "'\(id.escapingControlCharacters)' is not a Parameter Store parameter ARN",
                    fix: "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME (without the name's leading /)")
                return nil
            }
            checkRegion(arn.region, idNode, join(keyPath, "id"), partition: arn.partition)
            let name = String(arn.resource.dropFirst("parameter".utf8.count))
            checkParameterName(name, idNode, join(keyPath, "id"))
            return arn.region
        }
        checkParameterName(id, idNode, join(keyPath, "id"))
        return nil
    }

    mutating func checkParameterName(_ name: String, _ node: YAMLNode, _ keyPath: String) {
        let shown = name.escapingControlCharacters
        if name.contains(":") {
            report(node, keyPath, "'\(shown)' has a ':'", fix: "name a version with version: N or a label with label: NAME, not in the id")
            return
        }
        let allowed = name.utf8.allSatisfy {
            $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "/")
        }
        guard allowed, name.utf8.count <= Self.parameterNameLimit else {
            report(
                node, keyPath, "'\(shown)' is not a parameter name",
                fix: "letters, digits and _ . - /, at most \(Self.parameterNameLimit) characters")
            return
        }
        if name.contains("/") {
            let levels = name.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard name.hasPrefix("/"), !levels.contains(where: \.isEmpty), levels.count <= Self.parameterLevelLimit else {
                report(
                    node, keyPath, "'\(shown)' is not a parameter name",
                    fix: "a hierarchy starts with / and has at most \(Self.parameterLevelLimit) levels, none empty: /prod/myapp/db-url")
                return
            }
        }
    }
}

extension UInt8 {
    var isASCIIDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
    var isASCIIAlphanumeric: Bool {
        isASCIIDigit || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
    }
}
