import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

extension ManifestReader {
    // MARK: auth

    mutating func auth(_ node: YAMLNode) -> Manifest.Auth? {
        guard let fields = entries(node, "auth", allowed: ["roles_anywhere", "environment", "profile"]) else { return nil }
        guard fields.count == 1, let (key, entry) = fields.first else {
            report(
                node, "auth", fields.isEmpty ? "no credential source given" : "give exactly one of roles_anywhere, environment, profile",
                fix: "use roles_anywhere: for the cross-partition setup")
            return nil
        }
        switch key {
        case "environment":
            guard let enabled = bool(entry.value, "auth.environment") else { return nil }
            if !enabled {
                report(entry.value, "auth.environment", "false is not a credential source", fix: "use environment: true, or another source")
            }
            return enabled ? .environment : nil
        case "profile":
            return string(entry.value, "auth.profile").map(Manifest.Auth.profile)
        default:
            return rolesAnywhere(entry.value)
        }
    }

    mutating func rolesAnywhere(_ node: YAMLNode) -> Manifest.Auth? {
        let keyPath = "auth.roles_anywhere"
        let keys = [
            "certificate", "private_key", "tpm_auth_file", "intermediates", "trust_anchor_arn", "profile_arn", "role_arn",
            "session_duration", "region", "fallback",
        ]
        guard let fields = entries(node, keyPath, allowed: keys) else { return nil }
        if let value = fields["certificate"]?.value.scalar?.string, value.lowercased().hasPrefix("pkcs11:") {
            report(
                fields["certificate"]!.value, join(keyPath, "certificate"), "the certificate must be a file, not a PKCS#11 URI",
                fix: "export it from the token once, e.g. `p11tool --export '\(value)' > /etc/ira/client.crt`, and name that file")
            return nil
        }
        let certificate = localFile(fields, "certificate", keyPath, parent: node, role: "certificate", required: true)
        let privateKey = keySource(fields, keyPath, parent: node)
        let tpmAuthFile = localFile(fields, "tpm_auth_file", keyPath, parent: node, role: "TPM auth value file", required: false)
        if let tpmAuthFile, let node = fields["tpm_auth_file"]?.value {
            judge(tpmAuthFile, node, join(keyPath, "tpm_auth_file"), use: SecretFile.trust("TPM key auth value"))
        }
        if tpmAuthFile != nil, case .pkcs11 = privateKey, let node = fields["tpm_auth_file"]?.value {
            report(
                node, join(keyPath, "tpm_auth_file"), "tpm_auth_file applies to TPM keys, but private_key is a PKCS#11 URI",
                fix: "remove tpm_auth_file; a token's PIN is named by pin-source=file:/path in the URI")
        }
        let intermediates = localFile(fields, "intermediates", keyPath, parent: node, role: "intermediates bundle", required: false)
        let trustAnchor = required(fields, "trust_anchor_arn", keyPath, parent: node).flatMap {
            string($0, join(keyPath, "trust_anchor_arn"))
        }
        let profile = required(fields, "profile_arn", keyPath, parent: node).flatMap { string($0, join(keyPath, "profile_arn")) }
        let role = required(fields, "role_arn", keyPath, parent: node).flatMap { string($0, join(keyPath, "role_arn")) }
        var duration = 3600
        if let value = fields["session_duration"]?.value,
            let seconds = self.duration(value, join(keyPath, "session_duration"), within: Manifest.sessionDurationRange)
        {
            duration = Int(seconds)
        }
        let region = fields["region"].flatMap { string($0.value, join(keyPath, "region")) }
        guard let certificate, let privateKey, let trustAnchor, let profile, let role else { return nil }
        let configuration = RolesAnywhereConfiguration(
            certificatePath: certificate, privateKey: privateKey, tpmAuthFile: tpmAuthFile, intermediatesPath: intermediates,
            trustAnchorArn: trustAnchor,
            profileArn: profile, roleArn: role, sessionDuration: duration, region: region)
        do {
            rolesAnywhereRegion = try configuration.resolve().region
        } catch let error as RolesAnywhereError {
            let culprit = error.field ?? "trust_anchor_arn"
            report(fields[culprit]?.value ?? node, join(keyPath, culprit), error.message, fix: error.fix)
            return nil
        } catch {
            report(node, keyPath, "\(error)")
            return nil
        }
        var withFallbacks = configuration
        if let node = fields["fallback"]?.value {
            withFallbacks.fallbacks = list(node, join(keyPath, "fallback"), of: "trust anchors") { reader, item, path in
                reader.rolesAnywhereFallback(item, path, primary: configuration)
            }
        }
        return .rolesAnywhere(withFallbacks)
    }

    /// One `fallback:` entry: a trust anchor and profile of another region, checked as the primary's are.
    mutating func rolesAnywhereFallback(_ node: YAMLNode, _ keyPath: String, primary: RolesAnywhereConfiguration)
        -> RolesAnywhereConfiguration.Fallback?
    {
        guard let fields = entries(node, keyPath, allowed: ["trust_anchor_arn", "profile_arn"]),
            let trustAnchor = required(fields, "trust_anchor_arn", keyPath, parent: node).flatMap({
                string($0, join(keyPath, "trust_anchor_arn"))
            }),
            let profile = required(fields, "profile_arn", keyPath, parent: node).flatMap({ string($0, join(keyPath, "profile_arn")) })
        else { return nil }
        let fallback = RolesAnywhereConfiguration.Fallback(trustAnchorArn: trustAnchor, profileArn: profile)
        do {
            let region = try primary.using(fallback).resolve().region
            if region == (try? primary.resolve().region) {
                report(
                    fields["trust_anchor_arn"]?.value ?? node, join(keyPath, "trust_anchor_arn"),
                    "this trust anchor is in the primary region \(region)",
                    fix: "a fallback is the same setup in another region")
                return nil
            }
        } catch let error as RolesAnywhereError {
            let culprit = error.field == "profile_arn" ? "profile_arn" : "trust_anchor_arn"
            report(fields[culprit]?.value ?? node, join(keyPath, culprit), error.message, fix: error.fix)
            return nil
        } catch {
            report(node, keyPath, "\(error)")
            return nil
        }
        return fallback
    }

    /// `private_key:`: a key file (or TSS2 PEM TPM key file), `handle:0x…` or a `pkcs11:` URI.
    mutating func keySource(_ fields: [String: (key: YAMLNode, value: YAMLNode)], _ keyPath: String, parent: YAMLNode) -> KeySource? {
        guard let valueNode = required(fields, "private_key", keyPath, parent: parent),
            let text = string(valueNode, join(keyPath, "private_key"))
        else { return nil }
        let lowered = text.lowercased()
        guard lowered.hasPrefix("pkcs11:") || lowered.hasPrefix("handle:") else {
            return localFile(fields, "private_key", keyPath, parent: parent, role: "private key", required: true).map(KeySource.file)
        }
        do {
            let source = try KeySource.parse(text)
            if case .pkcs11(let uri) = source, checkLocalFiles {
                if let module = uri.modulePath, !FileManager.default.fileExists(atPath: module) {
                    report(
                        valueNode, join(keyPath, "private_key"), "PKCS#11 module \(module) (module-path) does not exist",
                        fix: "install the token's module (SoftHSM2: apt install softhsm2) or correct module-path")
                } else if let module = uri.modulePath {
                    judge(module, valueNode, join(keyPath, "private_key"), use: PathTrust.rootCode("PKCS#11 module"))
                }
                if let pin = uri.pinSource, !FileManager.default.fileExists(atPath: pin) {
                    report(
                        valueNode, join(keyPath, "private_key"), "PIN file \(pin) (pin-source) does not exist",
                        fix: "write the token's PIN there (readable only by secret-sync's user), or correct pin-source")
                } else if let pin = uri.pinSource {
                    judge(pin, valueNode, join(keyPath, "private_key"), use: SecretFile.trust("PIN"))
                }
            }
            return source
        } catch let error as KeySourceError {
            report(valueNode, join(keyPath, "private_key"), error.message, fix: error.fix)
            return nil
        } catch {
            report(valueNode, join(keyPath, "private_key"), "\(error)")
            return nil
        }
    }

    /// Reports a local file root is configured by that another user controls (``PathTrust``),
    /// when local files are checked.
    mutating func judge(_ path: String, _ node: YAMLNode, _ keyPath: String, use: PathTrust.Use?) {
        guard checkLocalFiles, let use, let refusal = PathTrust.refusal(ofFile: path, for: use) else { return }
        report(node, keyPath, refusal.message, fix: refusal.fix)
    }

    mutating func localFile(
        _ fields: [String: (key: YAMLNode, value: YAMLNode)], _ key: String, _ keyPath: String, parent: YAMLNode, role: String,
        required isRequired: Bool
    ) -> String? {
        let valueNode = isRequired ? required(fields, key, keyPath, parent: parent) : fields[key]?.value
        guard let valueNode, let value = absolutePath(valueNode, join(keyPath, key)) else { return nil }
        if checkLocalFiles, !FileManager.default.fileExists(atPath: value) {
            report(valueNode, join(keyPath, key), "\(role) \(value) does not exist", fix: "install the \(role) there, or correct the path")
        }
        return value
    }
}
