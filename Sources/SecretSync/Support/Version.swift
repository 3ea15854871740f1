import CLinux

package enum SecretSyncVersion {
    /// The release; the Debian package's version and CHANGELOG's latest section agree with it.
    package static let current = "0.1.0"

    /// What the release build recorded of itself (empty in a development build).
    package static let commit = String(cString: clinux_build_commit())
    package static let buildDate = String(cString: clinux_build_date())
    package static let swiftVersion = String(cString: clinux_build_swift())

    /// `0.1.0 (commit 0123456789ab, built 2026-12-02, Swift 6.3.1)`, or `0.1.0 (development build)`.
    package static let description: String = {
        guard !commit.isEmpty else { return "\(current) (development build)" }
        var parts = ["commit \(commit)"]
        if !buildDate.isEmpty { parts.append("built \(buildDate)") }
        if !swiftVersion.isEmpty { parts.append("Swift \(swiftVersion)") }
        return "\(current) (\(parts.joined(separator: ", ")))"
    }()
}
