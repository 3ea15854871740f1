/// Environment variables that a secret's content must not be able to set by naming them — through
/// an `env:` entry's `prefix:`, a `format: dotenv` file or the names of a `path:`/`select:`
/// entry's values — because they change how a program is loaded, found or started, which code its
/// runtime loads, whom it trusts, where its traffic goes, or which AWS credentials and endpoints
/// its SDK uses. Whoever can write the secret in AWS could otherwise run code as the application
/// (`LD_PRELOAD`, `PATH`, `BASH_ENV`), read its traffic (`HTTPS_PROXY`, `SSLKEYLOGFILE`) or
/// redirect its AWS calls (`AWS_ENDPOINT_URL`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`).
///
/// Refused by family, not by example, so that a variable a runtime adds next year is covered by
/// its family. An explicit `name:` entry, written by root in the manifest, may still set any of
/// them. Names are compared with their ASCII letters upper-cased (a variable name is ASCII).
package enum ProtectedVariables {
    /// A family of names and why it is protected.
    struct Family: Sendable {
        enum Pattern: Sendable {
            case exact(Set<String>)
            case prefix(String)
            case suffix(String)
        }
        let pattern: Pattern
        let what: String

        func matches(_ upper: String) -> Bool {
            switch pattern {
            case .exact(let names): return names.contains(upper)
            case .prefix(let prefix): return upper.hasPrefix(prefix)
            case .suffix(let suffix): return upper.hasSuffix(suffix)
            }
        }

        /// The family as a person reads it: the pattern, or for a list the name that matched.
        func shown(for upper: String) -> String {
            switch pattern {
            case .exact: return upper
            case .prefix(let prefix): return prefix + "*"
            case .suffix(let suffix): return "*" + suffix
            }
        }
    }

    static let families: [Family] = [
        Family(pattern: .prefix("AWS_"), what: "the AWS SDKs' credentials, endpoints, CA bundle and configuration files"),
        Family(pattern: .prefix("LD_"), what: "the dynamic loader"),
        Family(pattern: .prefix("DYLD_"), what: "the dynamic loader"),
        Family(pattern: .prefix("MALLOC_"), what: "the C library's allocator"),
        Family(pattern: .prefix("GLIBC_"), what: "the C library's tunables"),
        Family(
            pattern: .exact([
                "GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN", "RES_OPTIONS", "TZDIR",
                "TERMINFO", "TERMINFO_DIRS",
            ]), what: "files the C library loads"),
        Family(pattern: .prefix("BASH_"), what: "bash's start-up and exported functions"),
        Family(
            pattern: .exact([
                "PATH", "CDPATH", "ENV", "IFS", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "GLOBIGNORE", "SHELL", "HOME",
                "TMPDIR",
            ]), what: "program lookup and shell start-up"),
        Family(pattern: .prefix("PYTHON"), what: "Python's module path and start-up"),
        Family(pattern: .prefix("PERL"), what: "Perl's module path and options"),
        Family(pattern: .prefix("RUBY"), what: "Ruby's load path and options"),
        Family(pattern: .prefix("NODE_"), what: "Node.js's options, module path and CAs"),
        Family(pattern: .prefix("JAVA_"), what: "the JVM's options"),
        Family(pattern: .prefix("_JAVA_"), what: "the JVM's options"),
        Family(pattern: .prefix("JDK_JAVA_"), what: "the JVM's options"),
        Family(pattern: .exact(["CLASSPATH", "GEM_HOME", "GEM_PATH"]), what: "a runtime's code path"),
        Family(pattern: .prefix("LUA_"), what: "Lua's start-up code (LUA_INIT) and module path"),
        Family(pattern: .prefix("DOTNET_"), what: ".NET's start-up hooks and runtime"),
        Family(pattern: .prefix("CORECLR_"), what: ".NET's profiler, loaded into the process"),
        Family(pattern: .prefix("COMPLUS_"), what: ".NET's runtime settings"),
        Family(pattern: .exact(["PHPRC", "PHP_INI_SCAN_DIR"]), what: "PHP's configuration files"),
        Family(
            pattern: .exact(["GOFLAGS", "GOENV", "GOROOT", "GOPATH", "GOTOOLCHAIN", "GOPROXY"]),
            what: "the Go toolchain's flags and paths (GOFLAGS=-toolexec)"),
        Family(pattern: .prefix("PKCS11_"), what: "which PKCS#11 module a program loads"),
        Family(
            pattern: .exact(["ZDOTDIR", "KUBECONFIG", "EDITOR", "VISUAL", "PAGER"]),
            what: "a program's start-up files or the commands it runs"),
        Family(pattern: .suffix("_OPTIONS"), what: "options a program reads from its environment"),
        Family(pattern: .suffix("_OPTS"), what: "options a program reads from its environment"),
        Family(pattern: .prefix("GIT_"), what: "git's commands and configuration"),
        Family(pattern: .prefix("SSH_"), what: "ssh's agent and commands"),
        Family(pattern: .prefix("OPENSSL_"), what: "OpenSSL's configuration and modules"),
        Family(pattern: .prefix("SSL"), what: "TLS trust and key logging (SSL_CERT_FILE, SSLKEYLOGFILE)"),
        Family(pattern: .prefix("GNUTLS_"), what: "GnuTLS's configuration"),
        Family(pattern: .prefix("KRB5"), what: "Kerberos's configuration and credentials"),
        Family(pattern: .suffix("_PROXY"), what: "where the program's traffic goes"),
        Family(pattern: .suffix("_CA_BUNDLE"), what: "whom the program trusts"),
        Family(pattern: .suffix("_CA_CERTS"), what: "whom the program trusts"),
        Family(pattern: .suffix("_CERT_FILE"), what: "whom the program trusts"),
        Family(pattern: .suffix("_CERT_DIR"), what: "whom the program trusts"),
        Family(pattern: .prefix("XDG_"), what: "where programs find their configuration"),
        Family(pattern: .prefix("SYSTEMD_"), what: "systemd's hand-over to the service"),
        Family(pattern: .prefix("LISTEN_"), what: "systemd's hand-over to the service"),
        Family(
            pattern: .exact(["NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "INVOCATION_ID", "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY"]),
            what: "systemd's hand-over to the service"),
        Family(pattern: .prefix("SECRET_SYNC_"), what: "secret-sync's own hand-over to hooks and commands"),
    ]

    /// The family `name` belongs to, or nil when a secret's content may set it.
    static func family(of name: String) -> Family? {
        let upper = asciiUppercased(name)
        return families.first { $0.matches(upper) }
    }

    package static func contains(_ name: String) -> Bool { family(of: name) != nil }

    /// Why `name` is refused, for the error: "changes how programs are loaded, run or whom they
    /// trust (AWS_*: the AWS SDKs' ...)".
    static func reason(for name: String) -> String {
        let family = family(of: name)
        let upper = asciiUppercased(name)
        return "changes how programs are loaded, run or whom they trust" + (family.map { " (\($0.shown(for: upper)): \($0.what))" } ?? "")
    }

    /// Upper-cases ASCII letters only: `ß` must not become `SS`, nor `ſ` an `S`.
    static func asciiUppercased(_ name: String) -> String {
        String(decoding: name.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }
}
