// The one error type of mljobs: a code plus a human message. Thrown where a problem is
// detected, caught only by the HTTP session (mapped to a JSON error) and by main (exit code).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace mljobs {

enum class ErrorCode {
  kInvalidArgument,  // 400: the client's input is wrong
  kUnauthenticated,  // 401: no or bad credentials
  kPermissionDenied, // 403: credentials fine, role not allowed
  kNotFound,         // 404
  kMethodNotAllowed, // 405
  kConflict,         // 409: the resource is not in a state that allows this
  kPayloadTooLarge,  // 413
  kUnavailable,      // 503: the database (or another dependency) is unreachable
  kInternal,         // 500: a bug; never the client's fault
};

class Error : public std::runtime_error {
 public:
  // `reason` is a stable machine-readable word for the JSON body ("invalid_cursor");
  // when empty, the code's default word is used.
  Error(ErrorCode code, std::string message, std::string reason = {})
      : std::runtime_error(std::move(message)), code_(code), reason_(std::move(reason)) {}

  ErrorCode code() const { return code_; }
  const std::string& reason() const { return reason_; }

 private:
  ErrorCode code_;
  std::string reason_;
};

// HTTP status for an error code.
constexpr int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

// Default machine-readable word for a code, used in `{"error":{"code":...}}`.
constexpr std::string_view CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace mljobs
