// A parsed HTTP request and response as handlers see them: no Beast types, so handlers
// and their tests compile without the HTTP stack.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mljobs::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query string
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<std::pair<std::string, std::string>> path_params;  // from "{name}" segments
  std::string body;

  // First value of a query parameter, or nullopt.
  std::optional<std::string_view> Query(std::string_view key) const;
  // First value of a header (name matched case-insensitively), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // Value of a "{name}" path segment; empty when the route has none of that name.
  std::string_view PathParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Builds the error body `{"error":{"code":...,"message":...}}` with its status.
Response ErrorResponse(int status, std::string_view code, std::string_view message);

}  // namespace mljobs::http
