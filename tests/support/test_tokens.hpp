// API tokens for tests of a server with authentication on: created (and revoked) through a
// store of their own on the test database, as `mljobs token` would from another process.
// Call from the test's thread, after the server migrated the database.
#pragma once

#include <string>

#include "jobs/token_store.hpp"
#include "support/http_client.hpp"
#include "support/test_backends.hpp"

namespace mljobs::testing {

// Creates a token named `name` with `role` and returns the secret.
std::string CreateTestToken(const TestDatabase& database, const std::string& name, jobs::Role role);

// Revokes the token named `name`.
void RevokeTestToken(const TestDatabase& database, const std::string& name);

// {"Authorization", "Bearer <token>"}.
HeaderList Bearer(const std::string& token);

}  // namespace mljobs::testing
