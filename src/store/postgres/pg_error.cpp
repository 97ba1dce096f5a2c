#include "store/postgres/pg_error.hpp"

#include <string>

namespace mljobs::store::postgres {

Error ErrorFromResult(const PGresult* result, std::string_view statement) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string_view sqlstate = state ? state : "";
  std::string message = "postgresql: " + std::string(statement) + ": ";
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  message += primary ? primary : PQresultErrorMessage(result);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (!sqlstate.empty()) message += " (SQLSTATE " + std::string(sqlstate) + ")";

  // libpq reports a dropped socket as a result without SQLSTATE.
  if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return Error(ErrorCode::kUnavailable, std::move(message));
  }
  if (sqlstate == "23505") return Error(ErrorCode::kConflict, std::move(message));
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    return Error(ErrorCode::kInvalidArgument, std::move(message));
  }
  return Error(ErrorCode::kInternal, std::move(message));
}

bool IsConnectionLoss(const Error& error) { return error.code() == ErrorCode::kUnavailable; }

}  // namespace mljobs::store::postgres
