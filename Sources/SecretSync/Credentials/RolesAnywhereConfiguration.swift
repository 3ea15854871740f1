import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Everything needed to trade a certificate for credentials through IAM Roles Anywhere.
package struct RolesAnywhereConfiguration: Sendable {
    package var certificatePath: String
    /// A key file, a TSS2 PEM TPM key, a TPM handle or a PKCS#11 URI.
    package var privateKey: KeySource
    /// File holding the TPM key's auth value (`tpm_auth_file:`, `--tpm-key-password-file`).
    package var tpmAuthFile: String?
    /// Module for a PKCS#11 URI that names none (`--pkcs11-lib`); p11-kit's proxy otherwise.
    package var pkcs11Module: String?
    package var intermediatesPath: String?
    package var trustAnchorArn: String
    package var profileArn: String
    package var roleArn: String
    /// Requested session length in seconds (900–43200; the profile and role may cap it lower).
    package var sessionDuration: Int
    /// Signing region and endpoint region; defaults to the trust anchor ARN's region.
    package var region: String?
    /// Explicit endpoint URL; wins over `AWS_ENDPOINT_URL_ROLESANYWHERE` and `AWS_ENDPOINT_URL`.
    package var endpoint: String?
    /// Accepted by the service only when the profile allows `acceptRoleSessionName`.
    package var roleSessionName: String?
    /// The same setup in other regions (Roles Anywhere is regional), tried in order when
    /// `CreateSession` cannot be reached in the trust anchor's region.
    package var fallbacks: [Fallback] = []

    /// A trust anchor and profile of another region, for the same certificate and role.
    package struct Fallback: Sendable, Equatable {
        package let trustAnchorArn: String
        package let profileArn: String

        package init(trustAnchorArn: String, profileArn: String) {
            self.trustAnchorArn = trustAnchorArn
            self.profileArn = profileArn
        }
    }

    /// This setup with `fallback`'s trust anchor and profile, signed and sent in their region.
    package func using(_ fallback: Fallback) -> RolesAnywhereConfiguration {
        var alternative = self
        alternative.trustAnchorArn = fallback.trustAnchorArn
        alternative.profileArn = fallback.profileArn
        alternative.region = nil
        alternative.fallbacks = []
        return alternative
    }

    package static let sessionDurationRange = 900...43200

    package init(
        certificatePath: String, privateKey: KeySource, tpmAuthFile: String? = nil, pkcs11Module: String? = nil,
        intermediatesPath: String? = nil,
        trustAnchorArn: String, profileArn: String, roleArn: String, sessionDuration: Int = 3600,
        region: String? = nil, endpoint: String? = nil, roleSessionName: String? = nil
    ) {
        self.certificatePath = certificatePath
        self.privateKey = privateKey
        self.tpmAuthFile = tpmAuthFile
        self.pkcs11Module = pkcs11Module
        self.intermediatesPath = intermediatesPath
        self.trustAnchorArn = trustAnchorArn
        self.profileArn = profileArn
        self.roleArn = roleArn
        self.sessionDuration = sessionDuration
        self.region = region
        self.endpoint = endpoint
        self.roleSessionName = roleSessionName
    }

    /// The ARNs checked against each other, and the region that follows from them.
    package struct Resolved: Sendable {
        package let trustAnchor: ARN
        package let profile: ARN
        package let role: ARN
        package let region: String
    }

    /// Checks the ARNs and the duration before anything is read or sent.
    package func resolve() throws -> Resolved {
        guard let trustAnchor = ARN(trustAnchorArn), trustAnchor.service == "rolesanywhere",
            trustAnchor.resourceType == "trust-anchor", !trustAnchor.region.isEmpty
        else {
            throw RolesAnywhereError(
                .invalidConfiguration,
                "failed to parse trust anchor arn: '\(trustAnchorArn)'",
                fix:
                    "expected arn:PARTITION:rolesanywhere:REGION:ACCOUNT:trust-anchor/ID, as shown by `aws rolesanywhere list-trust-anchors`",
                field: "trust_anchor_arn")
        }
        // The region builds the endpoint's host name: it must be a region, nothing else.
        for (value, field) in [(trustAnchor.region, "trust_anchor_arn"), (region ?? trustAnchor.region, "region")] {
            if let problem = Region.problem(value, partition: field == "trust_anchor_arn" ? trustAnchor.partition : nil) {
                throw RolesAnywhereError(.invalidConfiguration, problem.message, fix: problem.fix, field: field)
            }
        }
        guard let profile = ARN(profileArn), profile.service == "rolesanywhere", profile.resourceType == "profile" else {
            throw RolesAnywhereError(
                .invalidConfiguration, "failed to parse profile arn: '\(profileArn)'",
                fix: "expected arn:PARTITION:rolesanywhere:REGION:ACCOUNT:profile/ID, as shown by `aws rolesanywhere list-profiles`",
                field: "profile_arn")
        }
        guard let role = ARN(roleArn), role.service == "iam", role.resourceType == "role" else {
            throw RolesAnywhereError(
                .invalidConfiguration, "failed to parse role arn: '\(roleArn)'",
                fix: "expected arn:PARTITION:iam::ACCOUNT:role/NAME", field: "role_arn")
        }
        guard trustAnchor.region == profile.region, trustAnchor.partition == profile.partition else {
            throw RolesAnywhereError(
                .invalidConfiguration,
                "trust anchor and profile regions don't match: \(trustAnchor.region) (\(trustAnchor.partition)) vs \(profile.region) (\(profile.partition))",
                fix: "use a trust anchor and a profile from the same region of the commercial account", field: "profile_arn")
        }
        guard Self.sessionDurationRange.contains(sessionDuration) else {
            throw RolesAnywhereError(
                .invalidConfiguration,
                "session duration \(sessionDuration)s is outside IAM Roles Anywhere's range of 900 to 43200 seconds",
                fix: "choose a duration from 15 minutes to 12 hours (the profile and role may cap it lower)", field: "session_duration")
        }
        return Resolved(trustAnchor: trustAnchor, profile: profile, role: role, region: region ?? trustAnchor.region)
    }
}
