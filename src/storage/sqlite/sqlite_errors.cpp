// SQLite result codes -> ms::Error. Connections enable extended result codes, so the
// constraint kind is in the code; SQLite's messages name the constraint, never values.
#include <sqlite3.h>

#include "storage/pool.hpp"

namespace ms::storage::detail {

Error map_sqlite_error(int code, std::string_view message) {
  std::string msg(message.substr(0, message.find('\n')));
  // SOCI prefixes its function name: "sqlite3_statement_backend::loadOne: ..."
  if (auto colon = msg.find("backend::"); colon != std::string::npos) {
    if (auto sep = msg.find(": ", colon); sep != std::string::npos) msg = msg.substr(sep + 2);
  }
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return Error{ErrorCode::kAlreadyExists, msg};
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL: return Error{ErrorCode::kInvalidArgument, msg};
    default: break;
  }
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT: return Error{ErrorCode::kInvalidArgument, msg};
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Error{ErrorCode::kConflict, "database is busy: " + msg};
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Error{ErrorCode::kCorrupted, msg};
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL: return Error{ErrorCode::kUnavailable, msg};
    default: return Error{ErrorCode::kInternal, msg};
  }
}

}  // namespace ms::storage::detail
