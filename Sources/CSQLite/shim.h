#ifndef OOMESH_CSQLITE_SHIM_H
#define OOMESH_CSQLITE_SHIM_H
// SQLite 3, plus the one macro Swift cannot import.
#include <sqlite3.h>

/// SQLITE_TRANSIENT: SQLite copies bound text and blobs before the call returns.
static inline sqlite3_destructor_type oo_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
