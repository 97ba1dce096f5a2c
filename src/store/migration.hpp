// A numbered schema migration compiled into the binary (see cmake/EmbedMigrations.cmake).
// Each backend applies its list in order and records the version in schema_migrations.
#pragma once

#include <span>
#include <string_view>

namespace mljobs::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

}  // namespace mljobs::store
