#include "support/test_tokens.hpp"

#include <boost/asio/io_context.hpp>

#include "jobs/auth_service.hpp"
#include "support/run_sync.hpp"

namespace mljobs::testing {

std::string CreateTestToken(const TestDatabase& database, const std::string& name,
                            jobs::Role role) {
  boost::asio::io_context io;
  OpenedStore store = OpenTestStore(database.url(), io);
  jobs::AuthService auth(store.backend().tokens());
  obs::RequestStats stats;
  return RunSync(io, auth.CreateToken(stats, name, role)).token;
}

void RevokeTestToken(const TestDatabase& database, const std::string& name) {
  boost::asio::io_context io;
  OpenedStore store = OpenTestStore(database.url(), io);
  jobs::AuthService auth(store.backend().tokens());
  obs::RequestStats stats;
  RunSync(io, auth.RevokeToken(stats, name));
}

HeaderList Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace mljobs::testing
