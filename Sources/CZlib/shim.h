#ifndef OOMESH_CZLIB_SHIM_H
#define OOMESH_CZLIB_SHIM_H
// System zlib, plus wrappers for the init macros Swift cannot call.
#include <zlib.h>

/// deflateInit2 with the default level and memory: windowBits 15 (zlib, gRPC's "deflate")
/// or 31 (gzip).
static inline int oo_deflate_init(z_stream *stream, int windowBits) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2: windowBits 15 (zlib) or 31 (gzip).
static inline int oo_inflate_init(z_stream *stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
