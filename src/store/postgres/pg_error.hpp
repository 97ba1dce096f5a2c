// Maps libpq failures (SQLSTATE of a result, a lost connection) to mljobs::Error codes.
// Pure functions; any thread.
#pragma once

#include <libpq-fe.h>

#include <string_view>

#include "common/error.hpp"

namespace mljobs::store::postgres {

// The Error a failed result stands for: connection loss and server shutdown (class 08,
// 57P01..57P03) -> kUnavailable; unique_violation 23505 -> kConflict; other data and
// integrity errors (classes 22, 23) -> kInvalidArgument; anything else -> kInternal.
Error ErrorFromResult(const PGresult* result, std::string_view statement);

// True when the error means the connection cannot be used any more.
bool IsConnectionLoss(const Error& error);

}  // namespace mljobs::store::postgres
