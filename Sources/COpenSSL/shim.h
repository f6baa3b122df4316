#ifndef OOMESH_COPENSSL_SHIM_H
#define OOMESH_COPENSSL_SHIM_H
// OpenSSL 3 (libssl, libcrypto), plus inline wrappers for the macros and the one C
// callback (ALPN selection) Swift cannot express directly.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/// SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION).
static inline int oo_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

/// SSL_set_tlsext_host_name: the SNI a client sends.
static inline int oo_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS).
static inline void oo_ssl_ctx_set_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

static int oo_alpn_select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                             const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, h2, sizeof h2, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/// Server: select "h2" by ALPN, and fail the handshake when the client does not offer it.
static inline void oo_ssl_ctx_require_alpn_h2(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, oo_alpn_select_h2, NULL);
}

/// Client: offer "h2" by ALPN. Returns 0 on success.
static inline int oo_ssl_offer_alpn_h2(SSL *ssl) {
    static const unsigned char h2[] = {2, 'h', '2'};
    return SSL_set_alpn_protos(ssl, h2, sizeof h2);
}

/// Prints `name` in RFC 2253 form ("CN=a,O=b") into `bio`.
static inline int oo_x509_name_print_rfc2253(BIO *bio, X509_NAME *name) {
    return X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
}

/// The number of subject alternative names of a certificate (DNS, IP, URI), or 0.
/// `oo_x509_san` copies the `index`th one, as text, into `buffer`.
static inline int oo_x509_san_count(X509 *cert) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return 0;
    int count = sk_GENERAL_NAME_num(names);
    GENERAL_NAMES_free(names);
    return count;
}

static inline int oo_x509_san(X509 *cert, int index, char *buffer, int length) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return -1;
    int written = -1;
    if (index < sk_GENERAL_NAME_num(names)) {
        GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
        if (name->type == GEN_DNS || name->type == GEN_URI || name->type == GEN_EMAIL) {
            ASN1_STRING *text = name->type == GEN_DNS ? name->d.dNSName
                : name->type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.rfc822Name;
            const char *prefix = name->type == GEN_DNS ? "DNS:" : name->type == GEN_URI ? "URI:" : "email:";
            int size = ASN1_STRING_length(text);
            if ((int)strlen(prefix) + size < length) {
                strcpy(buffer, prefix);
                memcpy(buffer + strlen(prefix), ASN1_STRING_get0_data(text), (size_t)size);
                written = (int)strlen(prefix) + size;
                buffer[written] = 0;
            }
        } else if (name->type == GEN_IPADD) {
            const unsigned char *ip = ASN1_STRING_get0_data(name->d.iPAddress);
            int size = ASN1_STRING_length(name->d.iPAddress);
            if (size == 4 && length >= 24) {
                written = snprintf(buffer, (size_t)length, "IP:%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
            } else if (size == 16 && length >= 64) {
                written = snprintf(buffer, (size_t)length, "IP:%x:%x:%x:%x:%x:%x:%x:%x",
                    ip[0] << 8 | ip[1], ip[2] << 8 | ip[3], ip[4] << 8 | ip[5], ip[6] << 8 | ip[7],
                    ip[8] << 8 | ip[9], ip[10] << 8 | ip[11], ip[12] << 8 | ip[13], ip[14] << 8 | ip[15]);
            }
        }
    }
    GENERAL_NAMES_free(names);
    return written;
}
#endif
