// Test environment switches read from the process environment.
#pragma once

#include <optional>
#include <string>

namespace mljobs::testing {

// MLJOBS_TEST_PG_URL: the throwaway PostgreSQL started by scripts/pg-sandbox.
std::optional<std::string> PgUrlFromEnv();
// MLJOBS_REQUIRE_PG=1 (scripts/test sets it): PostgreSQL tests fail instead of skipping.
bool PgRequired();

}  // namespace mljobs::testing
