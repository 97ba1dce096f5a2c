#include "support/test_env.hpp"

#include <cstdlib>
#include <string_view>

namespace mljobs::testing {

std::optional<std::string> PgUrlFromEnv() {
  const char* url = std::getenv("MLJOBS_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

bool PgRequired() {
  const char* v = std::getenv("MLJOBS_REQUIRE_PG");
  return v != nullptr && std::string_view(v) == "1";
}

}  // namespace mljobs::testing
