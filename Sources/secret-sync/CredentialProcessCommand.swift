import ArgumentParser
import Foundation
import Logging
import SecretSync

/// `secret-sync credential-process`: a drop-in for `aws_signing_helper credential-process`.
struct CredentialProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential-process",
        abstract: "Print IAM Roles Anywhere credentials as credential_process JSON (Version 1).",
        discussion: """
            Same flags as `aws_signing_helper credential-process`. Use it in ~/.aws/config:

              [profile commercial]
              credential_process = /usr/local/bin/secret-sync credential-process --certificate /etc/ira/client.crt --private-key /etc/ira/client.key --trust-anchor-arn ARN --profile-arn ARN --role-arn ARN

            Endpoint: --endpoint, else AWS_ENDPOINT_URL_ROLESANYWHERE, else AWS_ENDPOINT_URL, else
            https://rolesanywhere.REGION.amazonaws.com (amazonaws.com.cn for cn-* regions).
            AWS_CA_BUNDLE replaces the system CAs; HTTPS_PROXY and NO_PROXY are honoured.
            """
    )

    @Option(help: "Client certificate (PEM or DER).")
    var certificate: String

    @Option(help: "Private key of the certificate (PEM: PKCS#1, PKCS#8 or SEC1; or DER).")
    var privateKey: String

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
        if noVerifySSL {
            throw ValidationError(
                "--no-verify-ssl is not supported: it would send the certificate's signature to anyone in the path. "
                    + "To trust a private CA or TLS-inspecting proxy, point AWS_CA_BUNDLE at its PEM certificate.")
        }
    }

    func run() throws {
        let logger = logging.makeLogger(debug: debug)
        let environment = ProcessInfo.processInfo.environment
        let transport = try CurlHTTPClient(options: .fromEnvironment(environment))
        let client = RolesAnywhereClient(
            configuration: RolesAnywhereConfiguration(
                certificatePath: certificate, privateKeyPath: privateKey, intermediatesPath: intermediates,
                trustAnchorArn: trustAnchorArn, profileArn: profileArn, roleArn: roleArn,
                sessionDuration: sessionDuration, region: region, endpoint: endpoint, roleSessionName: roleSessionName),
            transport: transport, environment: environment, logger: logger)
        let credentials = try client.createSession()
        FileHandle.standardOutput.write(Data((CredentialProcessOutput.json(credentials) + "\n").utf8))
    }
}
