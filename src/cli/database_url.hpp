// Where the database is: --db, else $MLJOBS_DB, else the embedded SQLite default.
#pragma once

#include <string>

namespace mljobs::cli {

inline constexpr const char* kDefaultDbUrl = "sqlite:./data/mljobs.db";
inline constexpr const char* kDbHelp =
    "Database URL: sqlite:PATH or postgresql://user@host:port/db (libpq URI). "
    "Default: $MLJOBS_DB, else sqlite:./data/mljobs.db";

std::string ResolveDbUrl(const std::string& flag_value);

// The URL with any password replaced by "***", for logs.
std::string RedactDbUrl(const std::string& url);

}  // namespace mljobs::cli
