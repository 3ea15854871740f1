/// Environment variables that a secret's content must not be able to set by naming them — through
/// an `env:` entry's `prefix:` or a `format: dotenv` file — because they change how a program is
/// loaded, found or started, which code its runtime loads, or whom it trusts. Whoever can write
/// the secret in AWS could otherwise run code as the application (`LD_PRELOAD`, `PATH`,
/// `BASH_ENV`) or read its traffic (`HTTPS_PROXY`, `SSL_CERT_FILE`). An explicit `name:` entry,
/// written by root in the manifest, may still set any of them. Names are compared upper-cased.
public enum ProtectedVariables {
    static let names: Set<String> = [
        // Program lookup and shell start-up.
        "PATH", "CDPATH", "BASH_ENV", "ENV", "IFS", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "GLOBIGNORE", "SHELL", "HOME",
        "TMPDIR",
        // The C library and the dynamic loader.
        "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN", "RES_OPTIONS",
        "TZDIR",
        // Language runtimes that load code or options from the environment.
        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT", "PERL5LIB", "PERLLIB", "PERL5OPT", "PERL5DB", "RUBYLIB",
        "RUBYOPT", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
        "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH",
        // Whom the program trusts and where its traffic goes.
        "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "HTTP_PROXY", "HTTPS_PROXY",
        "ALL_PROXY", "NO_PROXY", "FTP_PROXY",
        // systemd's hand-over to the service.
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
    ]

    static let prefixes = ["LD_", "MALLOC_", "BASH_FUNC_"]

    public static func contains(_ name: String) -> Bool {
        let upper = name.uppercased()
        return names.contains(upper) || prefixes.contains { upper.hasPrefix($0) }
    }

    /// The fix for a refused name.
    static let reason = "changes how programs are loaded, run or whom they trust"
}
