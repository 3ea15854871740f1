#ifndef SECRET_SYNC_CPKCS11_SHIM_H
#define SECRET_SYNC_CPKCS11_SHIM_H

// The PKCS#11 (Cryptoki) types and constants, from p11-kit's copy of the OASIS header
// (Debian: libp11-kit-dev). Nothing is linked: a module is dlopen'ed at run time, so the binary
// needs no PKCS#11 library unless a manifest names a token.
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <dlfcn.h>

typedef CK_RV (*cpkcs11_get_function_list_t)(CK_FUNCTION_LIST_PTR_PTR);

// Looks up C_GetFunctionList in a module opened with dlopen and calls it.
static inline CK_RV cpkcs11_get_function_list(void *module, CK_FUNCTION_LIST_PTR *list) {
    cpkcs11_get_function_list_t get = (cpkcs11_get_function_list_t)dlsym(module, "C_GetFunctionList");
    if (get == NULL) return CKR_GENERAL_ERROR;
    return get(list);
}

// dlsym found no C_GetFunctionList: the library is not a PKCS#11 module.
static inline int cpkcs11_has_function_list(void *module) { return dlsym(module, "C_GetFunctionList") != NULL; }

#endif
