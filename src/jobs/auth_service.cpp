#include "jobs/auth_service.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::jobs {
namespace {

constexpr std::string_view kBearer = "Bearer ";
constexpr std::string_view kTokenPrefix = "mlj_";
constexpr std::size_t kTokenRandomBytes = 32;
constexpr std::size_t kMaxTokenNameBytes = 64;

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

Error Unauthenticated(std::string message) {
  return Error(ErrorCode::kUnauthenticated, std::move(message));
}

void CheckTokenName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTokenNameBytes) {
    throw Error(ErrorCode::kInvalidArgument, "name: must be 1..64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) throw Error(ErrorCode::kInvalidArgument, "name: may hold only letters, digits and - _ . @");
  }
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kWorker: return "worker";
    case Role::kUser: return "user";
  }
  return "user";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "worker") return Role::kWorker;
  if (name == "user") return Role::kUser;
  return std::nullopt;
}

AuthService::AuthService(TokenStore& store, std::chrono::steady_clock::duration cache_ttl)
    : store_(store), cache_ttl_(cache_ttl) {}

std::string AuthService::HashToken(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256 failed");
  }
  return Hex(digest, size);
}

std::string AuthService::NewToken() {
  unsigned char bytes[kTokenRandomBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw Error(ErrorCode::kInternal, "RAND_bytes failed");
  return std::string(kTokenPrefix) + Hex(bytes, sizeof bytes);
}

std::optional<Caller> AuthService::Cached(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(hash);
  if (it == cache_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.caller;
}

void AuthService::Remember(const std::string& hash, const Caller& caller) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (cache_.size() >= kMaxCachedTokens) {
    std::erase_if(cache_, [now](const auto& entry) { return entry.second.expires <= now; });
    // Still full of live entries: start over rather than track recency for a rare case.
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
  }
  cache_[hash] = CacheEntry{caller, now + cache_ttl_};
}

asio::awaitable<Caller> AuthService::Authenticate(obs::RequestStats& stats,
                                                  std::optional<std::string_view> authorization) {
  if (!authorization) throw Unauthenticated("missing Authorization: Bearer <token> header");
  // The scheme is case-insensitive (RFC 9110); the token is not.
  const bool bearer =
      authorization->size() >= kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization->begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
      });
  if (!bearer) {
    throw Unauthenticated("Authorization header must be \"Bearer <token>\"");
  }
  std::string_view token = authorization->substr(kBearer.size());
  if (token.empty()) throw Unauthenticated("Authorization header has an empty token");
  const std::string hash = HashToken(token);
  if (auto caller = Cached(hash)) co_return *caller;
  std::optional<TokenInfo> info = co_await store_.FindActive(stats, hash);
  // The index found the row by hash; the final comparison is constant-time all the same.
  // (Lookups by hash leak nothing useful: timing could reveal a prefix of a SHA-256 hash,
  // never of a token.)
  if (!info || info->token_hash.size() != hash.size() ||
      CRYPTO_memcmp(info->token_hash.data(), hash.data(), hash.size()) != 0) {
    throw Unauthenticated("invalid or revoked token");
  }
  Caller caller{info->name, info->role};
  Remember(hash, caller);
  co_return caller;
}

asio::awaitable<CreatedToken> AuthService::CreateToken(obs::RequestStats& stats,
                                                       std::string_view name, Role role) {
  CheckTokenName(name);
  std::string token = NewToken();
  TokenInfo info = co_await store_.Create(stats, name, role, HashToken(token), NowMicros());
  co_return CreatedToken{std::move(info), std::move(token)};
}

asio::awaitable<std::optional<CreatedToken>> AuthService::Bootstrap(obs::RequestStats& stats) {
  std::string token = NewToken();
  std::optional<TokenInfo> info =
      co_await store_.CreateFirst(stats, "admin", Role::kAdmin, HashToken(token), NowMicros());
  if (!info) co_return std::nullopt;
  co_return CreatedToken{std::move(*info), std::move(token)};
}

asio::awaitable<std::vector<TokenInfo>> AuthService::ListTokens(obs::RequestStats& stats) {
  co_return co_await store_.List(stats);
}

asio::awaitable<void> AuthService::RevokeToken(obs::RequestStats& stats, std::string_view name) {
  CheckTokenName(name);
  if (!co_await store_.Revoke(stats, name, NowMicros())) {
    throw Error(ErrorCode::kNotFound, "no active token named '" + std::string(name) + "'");
  }
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [name](const auto& entry) { return entry.second.caller.name == name; });
}

}  // namespace mljobs::jobs
