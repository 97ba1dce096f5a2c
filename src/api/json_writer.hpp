// Appends JSON values straight to a std::string, with no DOM in between: the output path of
// every job response (job_json), where building a Boost.JSON value per row cost more than
// the query. The caller writes the structure ('{', keys, ',').
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mljobs::api {

// A JSON string (RFC 8259): '"' and '\' escaped, control characters as \b \f \n \r \t or
// \u00XX, every other byte (UTF-8 included) as is. Byte-identical to Boost.JSON's output.
void AppendJsonString(std::string& out, std::string_view s);
void AppendJsonInt(std::string& out, std::int64_t v);
// Shortest text that reads back as the same double. Integral values get ".0" so typed
// parsers still see a double; NaN and infinities, which JSON cannot hold, become null.
void AppendJsonDouble(std::string& out, double v);

// '[', each item written by append_one(out, item), ',' between them, ']'.
template <typename Range, typename AppendOne>
void AppendJsonArray(std::string& out, const Range& items, AppendOne append_one) {
  out.push_back('[');
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    append_one(out, item);
  }
  out.push_back(']');
}

// The value written by append(out, *value), or null when there is none.
template <typename T, typename Append>
void AppendJsonNullable(std::string& out, const std::optional<T>& value, Append append) {
  if (value) {
    append(out, *value);
  } else {
    out.append("null");
  }
}

}  // namespace mljobs::api
