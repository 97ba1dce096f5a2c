// The fixed SQL of SqliteTokenStore; each constant's name is what RecordStatement records.
#pragma once

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {

inline constexpr char kTokenColumns[] = "id, name, role, created_at, revoked_at";

inline constexpr auto kCreateToken =
    MakeSql("create_token",
            "INSERT INTO mljobs_tokens (name, role, token_hash, created_at) "
            "VALUES (:name, :role, :token_hash, :now) RETURNING ",
            kTokenColumns);

// The bootstrap admin: inserted only into an empty table (all writes of a process are on
// one thread, and the UNIQUE name stops a second process).
inline constexpr auto kCreateFirstToken =
    MakeSql("create_first_token",
            "INSERT INTO mljobs_tokens (name, role, token_hash, created_at) "
            "SELECT :name, :role, :token_hash, :now "
            "WHERE NOT EXISTS (SELECT 1 FROM mljobs_tokens) "
            "ON CONFLICT DO NOTHING RETURNING ",
            kTokenColumns);

inline constexpr auto kFindActiveToken =
    MakeSql("find_active_token", "SELECT ", kTokenColumns,
            ", token_hash FROM mljobs_tokens "
            "WHERE token_hash = :token_hash AND revoked_at IS NULL");

inline constexpr auto kListTokens =
    MakeSql("list_tokens", "SELECT ", kTokenColumns, " FROM mljobs_tokens ORDER BY id LIMIT :limit");

inline constexpr auto kRevokeToken =
    MakeSql("revoke_token",
            "UPDATE mljobs_tokens SET revoked_at = :now "
            "WHERE name = :name AND revoked_at IS NULL RETURNING id");

}  // namespace mljobs::store::sqlite
