// The storage interface of API tokens (store/postgres, store/sqlite implement it). Only a
// token's SHA-256 hash is stored; the store never sees a token itself. Coroutines on the
// caller's executor; each method runs one statement, recorded in the given RequestStats.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// admin: everything; worker: claim and report results; user: submit and see its own jobs.
enum class Role { kAdmin, kWorker, kUser };

std::string_view RoleName(Role role);
// nullopt for anything but "admin", "worker", "user".
std::optional<Role> ParseRole(std::string_view name);

struct TokenInfo {
  std::int64_t id = 0;
  std::string name;
  Role role = Role::kUser;
  Micros created_at = 0;
  std::optional<Micros> revoked_at;
  std::string token_hash;  // set by FindActive only
};

// Bound on what List returns: tokens are created by hand, so more is a mistake.
inline constexpr int kMaxListedTokens = 1000;

class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Stores a new token. Throws Error(kConflict) when `name` is taken (revoked names stay
  // taken, so a name in a log always means one token).
  virtual asio::awaitable<TokenInfo> Create(obs::RequestStats& stats, std::string_view name,
                                            Role role, std::string_view token_hash,
                                            Micros now) = 0;

  // Stores the token only when no token exists yet (the bootstrap admin); nullopt when one
  // did, or another server process won the race.
  virtual asio::awaitable<std::optional<TokenInfo>> CreateFirst(obs::RequestStats& stats,
                                                                std::string_view name, Role role,
                                                                std::string_view token_hash,
                                                                Micros now) = 0;

  // The unrevoked token with this hash, or nullopt. Uses the unique token_hash index.
  virtual asio::awaitable<std::optional<TokenInfo>> FindActive(obs::RequestStats& stats,
                                                               std::string_view token_hash) = 0;

  // Every token (revoked ones too) by id, at most kMaxListedTokens. No hashes.
  virtual asio::awaitable<std::vector<TokenInfo>> List(obs::RequestStats& stats) = 0;

  // Sets revoked_at on the unrevoked token named `name`; false when there is none.
  virtual asio::awaitable<bool> Revoke(obs::RequestStats& stats, std::string_view name,
                                       Micros now) = 0;
};

}  // namespace mljobs::jobs
