#ifndef SECRET_SYNC_COPENSSL_SHIM_H
#define SECRET_SYNC_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

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

// Hands `u` (a NUL-terminated secret) to OpenSSL as the passphrase; used for a TPM key's auth value.
static inline int copenssl_give_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    const char *secret = (const char *)u;
    if (secret == NULL) return -1;
    size_t length = strlen(secret);
    if (length > (size_t)size) return -1;
    memcpy(buf, secret, length);
    return (int)length;
}

// Loads the first private key at `uri` (a file path, or a scheme a provider serves, such as
// tpm2-openssl's `handle:0x81000001`) through OSSL_STORE in `context` with the property query
// `properties`. `passphrase` answers any passphrase or auth request; when NULL, requests are refused
// rather than prompted for. Returns NULL with the OpenSSL error queue set on failure.
static inline EVP_PKEY *copenssl_store_load_private_key(
    const char *uri, OSSL_LIB_CTX *context, const char *properties, const char *passphrase) {
    UI_METHOD *ui = UI_UTIL_wrap_read_pem_callback(
        passphrase == NULL ? copenssl_refuse_passphrase : copenssl_give_passphrase, 0);
    if (ui == NULL) return NULL;
    EVP_PKEY *key = NULL;
    OSSL_STORE_CTX *store = OSSL_STORE_open_ex(uri, context, properties, ui, (void *)passphrase, NULL, NULL, NULL);
    if (store != NULL) {
        OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
        while (key == NULL && !OSSL_STORE_eof(store)) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(store);
            if (info == NULL) {
                if (OSSL_STORE_error(store)) break;
                continue;
            }
            if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) key = OSSL_STORE_INFO_get1_PKEY(info);
            OSSL_STORE_INFO_free(info);
        }
        OSSL_STORE_close(store);
    }
    UI_destroy_method(ui);
    return key;
}

// Turns a raw PKCS#11 ECDSA signature (r then s, each half of `length`) into the DER
// SEQUENCE{r,s} that Roles Anywhere expects. Returns the DER length and sets `*der` (free with
// copenssl_free), or -1.
static inline int copenssl_ecdsa_raw_to_der(const unsigned char *raw, size_t length, unsigned char **der) {
    if (length == 0 || length % 2 != 0) return -1;
    ECDSA_SIG *signature = ECDSA_SIG_new();
    if (signature == NULL) return -1;
    BIGNUM *r = BN_bin2bn(raw, (int)(length / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + length / 2, (int)(length / 2), NULL);
    if (r == NULL || s == NULL || ECDSA_SIG_set0(signature, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(signature);
        return -1;
    }
    *der = NULL;
    int written = i2d_ECDSA_SIG(signature, der);
    ECDSA_SIG_free(signature);
    return written;
}

#endif
