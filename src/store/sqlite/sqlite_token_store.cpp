#include "store/sqlite/sqlite_token_store.hpp"

#include "common/error.hpp"
#include "store/sqlite/sqlite_token_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

// Reads kTokenColumns (and token_hash as column 5 when `with_hash`).
jobs::TokenInfo ReadToken(const Statement& statement, bool with_hash) {
  jobs::TokenInfo info;
  info.id = statement.Int64(0);
  info.name = statement.Text(1);
  info.role = jobs::ParseRole(statement.Text(2)).value_or(jobs::Role::kUser);
  info.created_at = statement.Int64(3);
  info.revoked_at = statement.OptionalInt64(4);
  if (with_hash) info.token_hash = statement.Text(5);
  return info;
}

void BindNewToken(Statement& statement, std::string_view name, jobs::Role role,
                  std::string_view token_hash, jobs::Micros now) {
  statement.BindText(":name", name);
  statement.BindText(":role", jobs::RoleName(role));
  statement.BindText(":token_hash", token_hash);
  statement.BindInt64(":now", now);
}

}  // namespace

asio::awaitable<jobs::TokenInfo> SqliteTokenStore::Create(obs::RequestStats& stats,
                                                          std::string_view name, jobs::Role role,
                                                          std::string_view token_hash,
                                                          jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kCreateToken.name);
    Statement statement = connection.Prepare(kCreateToken.sql());
    BindNewToken(statement, name, role, token_hash, now);
    try {
      statement.Step();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict) throw;
      throw Error(ErrorCode::kConflict, "a token named '" + std::string(name) + "' exists");
    }
    jobs::TokenInfo info = ReadToken(statement, false);
    statement.Step();  // to the end: commits
    timer.Done(1);
    return info;
  });
}

asio::awaitable<std::optional<jobs::TokenInfo>> SqliteTokenStore::CreateFirst(
    obs::RequestStats& stats, std::string_view name, jobs::Role role,
    std::string_view token_hash, jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kCreateFirstToken.name);
    Statement statement = connection.Prepare(kCreateFirstToken.sql());
    BindNewToken(statement, name, role, token_hash, now);
    std::optional<jobs::TokenInfo> info;
    if (statement.Step()) {
      info = ReadToken(statement, false);
      statement.Step();
    }
    timer.Done(info ? 1 : 0);
    return info;
  });
}

asio::awaitable<std::optional<jobs::TokenInfo>> SqliteTokenStore::FindActive(
    obs::RequestStats& stats, std::string_view token_hash) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kFindActiveToken.name);
    Statement statement = connection.Prepare(kFindActiveToken.sql());
    statement.BindText(":token_hash", token_hash);
    std::optional<jobs::TokenInfo> info;
    if (statement.Step()) info = ReadToken(statement, true);
    timer.Done(info ? 1 : 0);
    return info;
  });
}

asio::awaitable<std::vector<jobs::TokenInfo>> SqliteTokenStore::List(obs::RequestStats& stats) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kListTokens.name);
    Statement statement = connection.Prepare(kListTokens.sql());
    statement.BindInt64(":limit", jobs::kMaxListedTokens);
    std::vector<jobs::TokenInfo> out;
    while (statement.Step()) out.push_back(ReadToken(statement, false));
    timer.Done(static_cast<std::int64_t>(out.size()));
    return out;
  });
}

asio::awaitable<bool> SqliteTokenStore::Revoke(obs::RequestStats& stats, std::string_view name,
                                               jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kRevokeToken.name);
    Statement statement = connection.Prepare(kRevokeToken.sql());
    statement.BindText(":name", name);
    statement.BindInt64(":now", now);
    const bool revoked = statement.Step();
    if (revoked) statement.Step();
    timer.Done(revoked ? 1 : 0);
    return revoked;
  });
}

}  // namespace mljobs::store::sqlite
