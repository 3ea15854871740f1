/// The version printed by `secret-sync --version` and sent in the User-Agent.
public enum SecretSyncVersion {
    public static let current = "0.1.0-dev"
}
