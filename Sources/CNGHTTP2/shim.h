#ifndef OOMESH_CNGHTTP2_SHIM_H
#define OOMESH_CNGHTTP2_SHIM_H
// libnghttp2 as shipped by Debian 12 (1.52): the classic API (mem_recv, submit_response,
// nghttp2_data_provider). Nothing here but the include; the Swift side wraps it.
#include <nghttp2/nghttp2.h>
#endif
