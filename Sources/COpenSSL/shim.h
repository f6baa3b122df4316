#ifndef OOMESH_COPENSSL_SHIM_H
#define OOMESH_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#endif
