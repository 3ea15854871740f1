import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync validate`: what can be checked without the network. The manifest itself is
/// checked by parsing it; this adds the certificate, key and chain, and describes the plan.
package struct Validation {
    package enum Severity: String, Sendable { case ok, warning, problem }

    package struct Finding: Sendable {
        package let severity: Severity
        package let subject: String
        package let message: String
        package let fix: String?
    }

    package let manifest: Manifest
    package let now: Date

    package init(manifest: Manifest, now: Date = Date()) {
        self.manifest = manifest
        self.now = now
    }

    package func findings() -> [Finding] {
        let directories = PathWalker.untrustedDirectories(manifest.entries.flatMap(\.destinationDirectories)).map {
            Finding(
                severity: .warning, subject: $0.directory,
                message: "destination directory \($0.directory) is \($0.reason), who could replace or redirect its files",
                fix: "chown root \($0.directory) && chmod go-w \($0.directory), or choose a directory only root controls")
        }
        return directories + stateFindings() + credentialFindings()
    }

    /// A state another user controls would be refused by every pass: say so now.
    func stateFindings() -> [Finding] {
        do {
            _ = try StateStore(directory: manifest.stateDirectory).load(keepDamagedAside: false)
            return []
        } catch let error as DiagnosticError {
            return [Finding(severity: .problem, subject: manifest.stateDirectory, message: error.message, fix: error.fix)]
        } catch {
            return [Finding(severity: .problem, subject: manifest.stateDirectory, message: "\(error)", fix: nil)]
        }
    }

    func credentialFindings() -> [Finding] {
        guard case .rolesAnywhere(let configuration) = manifest.auth else {
            return [
                Finding(
                    severity: .ok, subject: "auth", message: "credentials come from \(describeAuth()); nothing local to check", fix: nil)
            ]
        }
        var findings = [Finding]()
        var keyInfo = stat()
        if let keyPath = configuration.privateKey.filePath, stat(keyPath, &keyInfo) == 0, keyInfo.st_mode & 0o004 != 0 {
            findings.append(
                Finding(
                    severity: .warning, subject: keyPath,
                    message: "the private key is readable by every user (mode \(String(keyInfo.st_mode & 0o777, radix: 8)))",
                    fix: "chmod 0600 \(keyPath) (or 0640 with a dedicated group)"))
        }
        let signer: RolesAnywhereSigner
        do {
            signer = try RolesAnywhereClient.loadSigner(configuration, at: now)
            // A key in a TPM or token shows it is there, usable and the certificate's by signing.
            if signer.privateKey.isHardware { try signer.checkPossession() }
        } catch let error as DiagnosticError {
            let subject = error is HardwareKeyError ? "private key" : "certificate"
            return findings + [Finding(severity: .problem, subject: subject, message: error.message, fix: error.fix)]
        } catch {
            return findings + [Finding(severity: .problem, subject: "certificate", message: "\(error)", fix: nil)]
        }
        let certificate = signer.certificate
        let remaining = certificate.notAfter.timeIntervalSince(now)
        findings.append(
            Finding(
                severity: .ok, subject: configuration.certificatePath,
                message: (signer.privateKey.isHardware
                    ? "\(signer.privateKey.label) (\(signer.privateKey.kind)) signs, and its signature verifies with the certificate"
                    : "\(signer.privateKey.kind) key matches the certificate")
                    + " (subject \(certificate.subject), serial \(certificate.serialHex)); valid until \(UTCTime.rfc3339(certificate.notAfter)), \(DurationText.describe(remaining)) from now",
                fix: nil))
        if remaining < 14 * 86400 {
            findings.append(
                Finding(
                    severity: .warning, subject: configuration.certificatePath,
                    message: "the certificate expires in \(DurationText.describe(remaining))",
                    fix: "renew it soon; replacing the files is enough, no restart needed"))
        }
        // The chain: the leaf, then each intermediate, must be issued by the next one given.
        var current = certificate
        for (index, intermediate) in signer.intermediates.enumerated() {
            let name = "intermediate \(index + 1) (\(intermediate.subject))"
            if !current.isIssued(by: intermediate) {
                findings.append(
                    Finding(
                        severity: .problem, subject: configuration.intermediatesPath ?? "intermediates",
                        message:
                            "\(index == 0 ? "the certificate" : "intermediate \(index)") (issuer \(current.issuer)) was not issued by \(name)",
                        fix: "list the intermediates in order, starting with the one that issued the client certificate"))
                break
            }
            if !intermediate.isCertificateAuthority {
                findings.append(Finding(severity: .problem, subject: name, message: "\(name) is not a CA certificate", fix: nil))
            }
            if now > intermediate.notAfter || now < intermediate.notBefore {
                findings.append(
                    Finding(
                        severity: .problem, subject: name,
                        message: "\(name) is not valid now (valid until \(UTCTime.rfc3339(intermediate.notAfter)))", fix: "renew the chain")
                )
            }
            current = intermediate
        }
        if !signer.intermediates.isEmpty, !findings.contains(where: { $0.severity == .problem }) {
            findings.append(
                Finding(
                    severity: .ok, subject: configuration.intermediatesPath ?? "intermediates",
                    message:
                        "the chain links up: certificate ← \(signer.intermediates.map(\.subject).joined(separator: " ← ")); the trust anchor's CA must have issued \(current.issuer)",
                    fix: nil))
        }
        return findings
    }

    func describeAuth() -> String {
        switch manifest.auth {
        case .rolesAnywhere: return "IAM Roles Anywhere"
        case .environment: return "the environment (AWS_ACCESS_KEY_ID, ...)"
        case .profile(let name): return "AWS profile \(name)"
        }
    }
}
