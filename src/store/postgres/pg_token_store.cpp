#include "store/postgres/pg_token_store.hpp"

#include "common/error.hpp"
#include "store/postgres/pg_token_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Reads MLJOBS_PG_TOKEN_COLUMNS (and token_hash, when present) of one row.
jobs::TokenInfo ReadToken(const PgResult& result, int row) {
  jobs::TokenInfo info;
  info.id = result.Int(row, 0);
  info.name = std::string(result.Text(row, 1));
  info.role = jobs::ParseRole(result.Text(row, 2)).value_or(jobs::Role::kUser);
  info.created_at = result.Timestamp(row, 3);
  if (!result.IsNull(row, 4)) info.revoked_at = result.Timestamp(row, 4);
  if (int hash = result.Column("token_hash"); hash >= 0) {
    info.token_hash = std::string(result.Text(row, hash));
  }
  return info;
}

PgParams NewTokenParams(std::string_view name, jobs::Role role, std::string_view token_hash,
                        jobs::Micros now) {
  PgParams params;
  params.AddText(name);
  params.AddText(jobs::RoleName(role));
  params.AddText(token_hash);
  params.AddTimestamp(now);
  return params;
}

}  // namespace

asio::awaitable<jobs::TokenInfo> PgTokenStore::Create(obs::RequestStats& stats,
                                                      std::string_view name, jobs::Role role,
                                                      std::string_view token_hash,
                                                      jobs::Micros now) {
  PgParams params = NewTokenParams(name, role, token_hash, now);
  auto conn = co_await pool_.Acquire();
  PgResult result;
  try {
    result = co_await conn->Run(stats, Prepared(kCreateToken, &params));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kConflict) throw;
    throw Error(ErrorCode::kConflict, "a token named '" + std::string(name) + "' exists");
  }
  co_return ReadToken(result, 0);
}

asio::awaitable<std::optional<jobs::TokenInfo>> PgTokenStore::CreateFirst(
    obs::RequestStats& stats, std::string_view name, jobs::Role role,
    std::string_view token_hash, jobs::Micros now) {
  PgParams params = NewTokenParams(name, role, token_hash, now);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kCreateFirstToken, &params));
  if (result.Rows() == 0) co_return std::nullopt;
  co_return ReadToken(result, 0);
}

asio::awaitable<std::optional<jobs::TokenInfo>> PgTokenStore::FindActive(
    obs::RequestStats& stats, std::string_view token_hash) {
  PgParams params;
  params.AddText(token_hash);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kFindActiveToken, &params));
  if (result.Rows() == 0) co_return std::nullopt;
  co_return ReadToken(result, 0);
}

asio::awaitable<std::vector<jobs::TokenInfo>> PgTokenStore::List(obs::RequestStats& stats) {
  PgParams params;
  params.AddInt32(jobs::kMaxListedTokens);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kListTokens, &params));
  std::vector<jobs::TokenInfo> out;
  out.reserve(result.Rows());
  for (int i = 0; i < result.Rows(); ++i) out.push_back(ReadToken(result, i));
  co_return out;
}

asio::awaitable<bool> PgTokenStore::Revoke(obs::RequestStats& stats, std::string_view name,
                                           jobs::Micros now) {
  PgParams params;
  params.AddText(name);
  params.AddTimestamp(now);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kRevokeToken, &params));
  co_return result.Rows() > 0;
}

}  // namespace mljobs::store::postgres
