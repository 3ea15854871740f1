import ArgumentParser
import FoundationEssentials
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync daemon`: reconcile every `interval` until SIGTERM.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Reconcile every interval (with jitter) until SIGTERM; SIGHUP reloads the manifest.",
        discussion:
            "Credentials are reused until shortly before they expire. After a failed pass the next one comes sooner, with exponential backoff capped at the interval. Under systemd (Type=notify) READY=1 is sent after the first pass and STATUS= after each one. SIGHUP reloads the manifest (an invalid one is reported and the previous one kept); SIGTERM and SIGINT stop after the secret being written. The schedule follows the monotonic clock: a step of the wall clock neither delays nor hurries a pass."
    )

    @OptionGroup var manifestOptions: ManifestOptions
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let logger = logging.makeLogger()
        let environment = ProcessEnvironment.inherited
        // Signals are routed before anything else can be interrupted by them.
        let signals = DaemonSignals()
        let manifest = try manifestOptions.load()
        // A state the disk refused is remembered across passes and reloads.
        let memory = StateMemory()
        // One credential session for every pass, reload and the credentials endpoint.
        let shared = try SharedCredentials.live(environment: environment, logger: logger)
        shared.adopt(manifest)
        var endpoint: CredentialsEndpoint?
        if let spec = manifest.credentialsEndpoint {
            endpoint = CredentialsEndpoint(spec: spec, credentials: shared, logger: logger)
            endpoint?.startRetrying()
        }
        defer { endpoint?.stop() }
        try Daemon(
            manifestPath: manifestOptions.path, load: { try ManifestParser().load(path: $0) },
            makeRunner: { reloaded in
                if reloaded.credentialsEndpoint != manifest.credentialsEndpoint {
                    logger.warning("credentials_endpoint changed; restart the daemon to apply it (the running endpoint is kept)")
                }
                return try Reconciler.live(manifest: reloaded, environment: environment, logger: logger, memory: memory, shared: shared)
            },
            events: signals,
            notifier: ServiceNotifier(environment: environment), logger: logger
        ).run(initial: manifest)
    }
}
