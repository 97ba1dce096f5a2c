// Turns an SQLite result code into the mljobs Error it means for a caller. Any thread.
#pragma once

#include <string_view>

struct sqlite3;

namespace mljobs::store::sqlite {

// Throws Error for `rc` (an extended result code), with sqlite3_errmsg(db) in the message:
// busy, locked, I/O, unopenable or corrupt database -> kUnavailable (the database cannot
// serve now); a uuid collision -> kConflict; another constraint -> kInvalidArgument;
// anything else (a bad statement, misuse) -> kInternal, because it is our bug.
[[noreturn]] void ThrowSqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace mljobs::store::sqlite
