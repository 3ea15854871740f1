import ArgumentParser
import FoundationEssentials
import Logging
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync credential-process`: a drop-in for `aws_signing_helper credential-process`.
struct CredentialProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential-process",
        abstract: "Print IAM Roles Anywhere credentials as credential_process JSON (Version 1).",
        discussion: """
            Same flags as `aws_signing_helper credential-process`. Use it in ~/.aws/config:

                [profile commercial]
                credential_process = /usr/local/bin/secret-sync credential-process --certificate /etc/ira/client.crt --private-key /etc/ira/client.key --trust-anchor-arn ARN --profile-arn ARN --role-arn ARN

            Endpoint: --endpoint, else AWS_ENDPOINT_URL_ROLESANYWHERE, else AWS_ENDPOINT_URL, else https://rolesanywhere.REGION.amazonaws.com (amazonaws.com.cn for cn-* regions). AWS_CA_BUNDLE replaces the system CAs; HTTPS_PROXY and NO_PROXY are honoured.
            """
    )

    @Option(help: "Client certificate (PEM or DER).")
    var certificate: String

    @Option(
        help: ArgumentHelp(
            "Private key of the certificate: a key file (PEM or DER), a TPM key (TSS2 PEM file or handle:0x81000001), or a PKCS#11 URI.",
            discussion: "PKCS#11: pkcs11:token=LABEL;object=KEY?module-path=/path/module.so&pin-source=file:/path/pin"))
    var privateKey: String

    @Option(help: "PKCS#11 module for a URI without module-path (default: p11-kit's proxy).")
    var pkcs11Lib: String?

    @Option(help: "File holding the TPM key's auth value (one trailing newline is ignored).")
    var tpmKeyPasswordFile: String?

    @Option(name: .customLong("tpm-key-password"), help: .hidden)
    var tpmKeyPassword: String?

    @Flag(help: "Accepted for compatibility: a TPM key without --tpm-key-password-file is used without an auth value.")
    var noTpmKeyPassword = false

    @Flag(help: "Accepted for compatibility: keys that ask for the PIN at every signature get the pin-source PIN again.")
    var reusePin = false

    @Option(help: "PEM bundle of intermediate CA certificates, sent as the chain.")
    var intermediates: String?

    @Option(help: "ARN of the trust anchor.")
    var trustAnchorArn: String

    @Option(help: "ARN of the Roles Anywhere profile.")
    var profileArn: String

    @Option(help: "ARN of the role to assume.")
    var roleArn: String

    @Option(help: "Session duration in seconds (900-43200).")
    var sessionDuration: Int = 3600

    @Option(help: "Signing region; defaults to the trust anchor ARN's region.")
    var region: String?

    @Option(help: "Roles Anywhere endpoint URL (https://HOST[:PORT]).")
    var endpoint: String?

    @Option(help: "Role session name (the profile must accept it).")
    var roleSessionName: String?

    @Flag(help: "Accepted for compatibility: proxies from HTTPS_PROXY / NO_PROXY are always honoured.")
    var withProxy = false

    @Flag(name: .customLong("no-verify-ssl"), help: .hidden)
    var noVerifySSL = false

    @Flag(help: "Log the request's details (never credentials) at debug level.")
    var debug = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if tpmKeyPassword != nil {
            throw ValidationError(
                "--tpm-key-password is not supported: a secret on the command line is visible to every user in ps and /proc. "
                    + "Put the auth value in a file readable only by this user and pass --tpm-key-password-file FILE.")
        }
        if noTpmKeyPassword, tpmKeyPasswordFile != nil {
            throw ValidationError("--no-tpm-key-password and --tpm-key-password-file contradict each other: give one")
        }
        if certificate.lowercased().hasPrefix("pkcs11:") {
            throw ValidationError(
                "--certificate must be a file, not a PKCS#11 URI: export it from the token once, e.g. `p11tool --export '\(certificate)' > /etc/ira/client.crt`, and pass that file"
            )
        }
        do {
            _ = try KeySource.parse(privateKey)
        } catch let error as KeySourceError {
            throw ValidationError(error.description)
        }
        if noVerifySSL {
            throw ValidationError(
                "--no-verify-ssl is not supported: it would send the certificate's signature to anyone in the path. "
                    + "To trust a private CA or TLS-inspecting proxy, point AWS_CA_BUNDLE at its PEM certificate.")
        }
    }

    func run() throws {
        let logger = logging.makeLogger(debug: debug)
        let environment = ProcessEnvironment.inherited
        let aws = try AWSContext.live(environment: environment, logger: logger, connections: 1)
        let client = aws.rolesAnywhere(
            RolesAnywhereConfiguration(
                certificatePath: certificate, privateKey: try KeySource.parse(privateKey), tpmAuthFile: tpmKeyPasswordFile,
                pkcs11Module: pkcs11Lib, intermediatesPath: intermediates,
                trustAnchorArn: trustAnchorArn, profileArn: profileArn, roleArn: roleArn,
                sessionDuration: sessionDuration, region: region, endpoint: endpoint, roleSessionName: roleSessionName))
        let credentials = try client.createSession()
        Console.out(CredentialProcessOutput.json(credentials) + "\n")
    }
}
