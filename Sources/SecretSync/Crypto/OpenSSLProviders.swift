import CLinux
import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An OpenSSL library context with providers loaded into it, unloaded and freed together.
///
/// TPM keys get a context of their own, so the tpm2 provider never takes part in file-key or TLS
/// work, and so that the provider — and with it the TPM connection — is closed as soon as the key
/// has signed: swtpm serves one connection at a time and a TPM without a resource manager keeps
/// whatever is left loaded.
final class OpenSSLProviders {
    let context: OpaquePointer
    private var providers: [OpaquePointer] = []
    /// Property query for fetching the signature algorithm, e.g. "provider=tpm2".
    let signingProperties: String?

    init(signingProperties: String?) throws {
        guard let context = OSSL_LIB_CTX_new() else {
            throw CryptoError(.signingFailed, "could not create an OpenSSL library context")
        }
        self.context = context
        self.signingProperties = signingProperties
    }

    /// Loads `name`; false (with the OpenSSL error queue set) when it cannot be loaded.
    func load(_ name: String) -> Bool {
        guard let provider = OSSL_PROVIDER_load(context, name) else { return false }
        providers.append(provider)
        return true
    }

    // Safe: the keys made in this context hold a reference to this object and are freed first.
    deinit {
        for provider in providers.reversed() { OSSL_PROVIDER_unload(provider) }
        OSSL_LIB_CTX_free(context)
    }
}
