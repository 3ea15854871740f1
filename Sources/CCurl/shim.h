#ifndef SECRET_SYNC_CCURL_SHIM_H
#define SECRET_SYNC_CCURL_SHIM_H

// libcurl is loaded when the first HTTP client is made, not when the process starts: `validate`,
// `status` and `--version` never need it, and Debian's libcurl4 brings some thirty libraries
// (GnuTLS, Kerberos, LDAP, libssh2, ...) whose loading and relocation every start would pay.
// Only curl's types and constants come from its header; its functions are reached through a
// table that ccurl_load fills, owned by the Swift side (CurlLibrary) and passed to each wrapper.

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>

typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);

struct ccurl_functions {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    void (*easy_reset)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
};

#define CCURL_LIBRARY "libcurl.so.4"

// Loads libcurl and fills `table`. Returns 0, or -1 with a message in `error`. The library stays
// loaded for the life of the process.
static inline int ccurl_load(struct ccurl_functions *table, char *error, size_t error_size) {
    void *library = dlopen(CCURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s", reason ? reason : "cannot load " CCURL_LIBRARY);
        return -1;
    }
#define CCURL_SYMBOL(field, name)                                                                  \
    *(void **)(&table->field) = dlsym(library, name);                                              \
    if (table->field == NULL) {                                                                    \
        snprintf(error, error_size, "%s has no %s", CCURL_LIBRARY, name);                         \
        return -1;                                                                                 \
    }
    CCURL_SYMBOL(global_init, "curl_global_init")
    CCURL_SYMBOL(easy_init, "curl_easy_init")
    CCURL_SYMBOL(easy_cleanup, "curl_easy_cleanup")
    CCURL_SYMBOL(easy_reset, "curl_easy_reset")
    CCURL_SYMBOL(easy_perform, "curl_easy_perform")
    CCURL_SYMBOL(easy_strerror, "curl_easy_strerror")
    CCURL_SYMBOL(easy_setopt, "curl_easy_setopt")
    CCURL_SYMBOL(easy_getinfo, "curl_easy_getinfo")
    CCURL_SYMBOL(slist_append, "curl_slist_append")
    CCURL_SYMBOL(slist_free_all, "curl_slist_free_all")
#undef CCURL_SYMBOL
    if (table->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(error, error_size, "curl_global_init failed");
        return -1;
    }
    return 0;
}

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. One typed wrapper
// per argument type keeps each call checked by the compiler.

static inline CURLcode ccurl_setopt_long(const struct ccurl_functions *table, CURL *handle, CURLoption option, long value) {
    return table->easy_setopt(handle, option, value);
}

// The lowest TLS version secret-sync accepts. curl 7 declares CURL_SSLVERSION_* in an anonymous
// enum (Swift sees Int), curl 8 as int macros (Swift sees Int32): one `long` here builds on both.
static inline long ccurl_minimum_tls_version(void) {
    return (long)CURL_SSLVERSION_TLSv1_2;
}

static inline CURLcode ccurl_setopt_string(const struct ccurl_functions *table, CURL *handle, CURLoption option, const char *value) {
    return table->easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_pointer(const struct ccurl_functions *table, CURL *handle, CURLoption option, void *value) {
    return table->easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_slist(const struct ccurl_functions *table, CURL *handle, CURLoption option, struct curl_slist *value) {
    return table->easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_offset(const struct ccurl_functions *table, CURL *handle, CURLoption option, curl_off_t value) {
    return table->easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_callback(const struct ccurl_functions *table, CURL *handle, CURLoption option, ccurl_data_callback value) {
    return table->easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_getinfo_long(const struct ccurl_functions *table, CURL *handle, CURLINFO info, long *value) {
    return table->easy_getinfo(handle, info, value);
}

#endif
