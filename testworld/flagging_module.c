/* A PKCS#11 module for tests that forwards every call to a real module (FLAGGING_REAL_MODULE)
 * but adds the token flags in FLAGGING_TOKEN_FLAGS to C_GetTokenInfo's answer, so that tests can
 * show what secret-sync does with a token whose PIN is locked or on its final try, which SoftHSM2
 * never reports. Built by the tests with the system C compiler. */
#include <dlfcn.h>
#include <stdlib.h>
#include <p11-kit-1/p11-kit/pkcs11.h>

static CK_FUNCTION_LIST wrapped;
static CK_FUNCTION_LIST_PTR real;

static CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
    CK_RV rv = real->C_GetTokenInfo(slot, info);
    const char *extra = getenv("FLAGGING_TOKEN_FLAGS");
    if (rv == CKR_OK && extra != NULL) info->flags |= strtoul(extra, NULL, 0);
    return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
    if (real == NULL) {
        const char *path = getenv("FLAGGING_REAL_MODULE");
        void *module = path != NULL ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        if (module == NULL) return CKR_GENERAL_ERROR;
        CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
        if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
        wrapped = *real;
        wrapped.C_GetTokenInfo = get_token_info;
    }
    *list = &wrapped;
    return CKR_OK;
}
