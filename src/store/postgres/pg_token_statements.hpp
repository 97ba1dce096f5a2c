// The fixed SQL of PgTokenStore; each constant's name is its prepared-statement name.
#pragma once

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

#define MLJOBS_PG_TOKEN_COLUMNS "id, name, role, created_at, revoked_at"

inline constexpr PgStatement kCreateToken{
    "create_token",
    "INSERT INTO mljobs_tokens (name, role, token_hash, created_at) "
    "VALUES ($1::text, $2::text, $3::text, $4::timestamptz) RETURNING " MLJOBS_PG_TOKEN_COLUMNS};

// The bootstrap admin: inserted only into an empty table. Two servers starting at once
// may both see it empty; the UNIQUE name then rejects the second (ON CONFLICT: no row).
inline constexpr PgStatement kCreateFirstToken{
    "create_first_token",
    "INSERT INTO mljobs_tokens (name, role, token_hash, created_at) "
    "SELECT $1::text, $2::text, $3::text, $4::timestamptz "
    "WHERE NOT EXISTS (SELECT 1 FROM mljobs_tokens) "
    "ON CONFLICT DO NOTHING RETURNING " MLJOBS_PG_TOKEN_COLUMNS};

inline constexpr PgStatement kFindActiveToken{
    "find_active_token",
    "SELECT " MLJOBS_PG_TOKEN_COLUMNS ", token_hash FROM mljobs_tokens "
    "WHERE token_hash = $1::text AND revoked_at IS NULL"};

inline constexpr PgStatement kListTokens{
    "list_tokens",
    "SELECT " MLJOBS_PG_TOKEN_COLUMNS " FROM mljobs_tokens ORDER BY id LIMIT $1::int4"};

inline constexpr PgStatement kRevokeToken{
    "revoke_token",
    "UPDATE mljobs_tokens SET revoked_at = $2::timestamptz "
    "WHERE name = $1::text AND revoked_at IS NULL RETURNING id"};

}  // namespace mljobs::store::postgres
