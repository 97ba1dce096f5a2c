// Who is calling: turns an `Authorization: Bearer <token>` value into a Caller, and
// creates, lists and revokes tokens. Tokens are 256 random bits, returned once, stored
// only as their SHA-256 hash and compared in constant time. Thread-safe: coroutines on any
// io thread share one AuthService (its cache is locked).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jobs/token_store.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

struct Caller {
  std::string name;  // the token's name; a user's jobs are owned by it
  Role role = Role::kUser;
};

struct CreatedToken {
  TokenInfo info;
  std::string token;  // the secret itself: shown once, never stored
};

// The owner recorded on jobs when authentication is off (`serve --auth=off`).
inline constexpr std::string_view kAnonymousCaller = "anonymous";

class AuthService {
 public:
  // A token seen within `cache_ttl` is trusted without asking the database, so a request
  // runs no extra statement for auth. A token revoked by another process therefore keeps
  // working for at most `cache_ttl`; one revoked through this service stops at once.
  static constexpr std::chrono::seconds kDefaultCacheTtl{10};
  static constexpr std::size_t kMaxCachedTokens = 4096;

  explicit AuthService(TokenStore& store, std::chrono::steady_clock::duration cache_ttl =
                                              kDefaultCacheTtl);

  // The caller of an Authorization header value. Throws Error(kUnauthenticated) when it is
  // missing, not "Bearer <token>", unknown or revoked; Error(kUnavailable) when the
  // database is down.
  asio::awaitable<Caller> Authenticate(obs::RequestStats& stats,
                                       std::optional<std::string_view> authorization);

  // Error(kInvalidArgument) for a bad name (1..64 of letters, digits, - _ . @),
  // Error(kConflict) when the name is taken.
  asio::awaitable<CreatedToken> CreateToken(obs::RequestStats& stats, std::string_view name,
                                            Role role);

  // An admin token named "admin" when the database has no token at all; nullopt otherwise.
  asio::awaitable<std::optional<CreatedToken>> Bootstrap(obs::RequestStats& stats);

  asio::awaitable<std::vector<TokenInfo>> ListTokens(obs::RequestStats& stats);

  // Error(kNotFound) when no unrevoked token has this name. Evicts it from the cache.
  asio::awaitable<void> RevokeToken(obs::RequestStats& stats, std::string_view name);

  // Lower-case hex SHA-256 of a token: what the store keeps.
  static std::string HashToken(std::string_view token);

 private:
  struct CacheEntry {
    Caller caller;
    std::chrono::steady_clock::time_point expires;
  };

  static std::string NewToken();
  std::optional<Caller> Cached(const std::string& hash);
  void Remember(const std::string& hash, const Caller& caller);

  TokenStore& store_;
  const std::chrono::steady_clock::duration cache_ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // by token hash; guarded by mu_
};

}  // namespace mljobs::jobs
