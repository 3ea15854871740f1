#ifndef SECRET_SYNC_COPENSSL_SHIM_H
#define SECRET_SYNC_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// OPENSSL_free is a macro (it records file and line), so Swift cannot call it directly.
static inline void copenssl_free(void *pointer) { OPENSSL_free(pointer); }

// BIO_get_mem_data is a macro over BIO_ctrl; this exposes it as a function.
static inline long copenssl_bio_mem_contents(BIO *bio, char **contents) {
    return BIO_get_mem_data(bio, contents);
}

// XN_FLAG_RFC2253 is a macro built from several flags; Swift does not import composite macros.
static inline unsigned long copenssl_name_flags_rfc2253(void) { return XN_FLAG_RFC2253; }

// A passphrase callback that refuses. Without one, OpenSSL would prompt on the terminal when it
// meets an encrypted key, which would hang a daemon or a boot script.
static inline int copenssl_refuse_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

// Reads one PEM private key (PKCS#1, PKCS#8 or SEC1) without ever prompting. `passphrase` may be
// NULL; when set, OpenSSL uses it as a NUL-terminated passphrase for an encrypted PKCS#8 key.
static inline EVP_PKEY *copenssl_read_private_key(BIO *bio, const char *passphrase) {
    if (passphrase == NULL) {
        return PEM_read_bio_PrivateKey(bio, NULL, copenssl_refuse_passphrase, NULL);
    }
    return PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)passphrase);
}

#endif
