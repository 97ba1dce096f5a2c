#include "api/json_fields.hpp"

#include <cstdint>

#include "common/error.hpp"

namespace mljobs::api {

namespace json = boost::json;

[[noreturn]] void ThrowInvalid(std::string message) {
  throw Error(ErrorCode::kInvalidArgument, std::move(message));
}

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

void RequireKnownFields(const json::object& o, std::initializer_list<std::string_view> allowed,
                        const std::string& where) {
  for (const auto& kv : o) {
    bool known = false;
    for (auto a : allowed) known = known || kv.key() == a;
    if (known) continue;
    std::string names;
    for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    ThrowInvalid(where + std::string(kv.key()) + ": unknown field (" + names + ")");
  }
}

const json::object& RequireObject(const json::value& v, const std::string& what) {
  if (!v.is_object()) ThrowInvalid(what + ": must be an object, not " + KindName(v));
  return v.get_object();
}

std::string RequireString(const json::object& o, std::string_view key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) ThrowInvalid(where + std::string(key) + ": is required");
  if (!v->is_string())
    ThrowInvalid(where + std::string(key) + ": must be a string, not " + KindName(*v));
  return std::string(v->get_string());
}

int RequireInt(const json::value& v, std::string_view key, const std::string& where) {
  if (v.is_int64() && v.get_int64() >= INT32_MIN && v.get_int64() <= INT32_MAX) {
    return static_cast<int>(v.get_int64());
  }
  if (v.is_uint64() || v.is_int64()) ThrowInvalid(where + std::string(key) + ": is out of range");
  ThrowInvalid(where + std::string(key) + ": must be an integer, not " + KindName(v));
}

int OptionalInt(const json::object& o, std::string_view key, int fallback,
                const std::string& where) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? fallback : RequireInt(*v, key, where);
}

double RequireNumber(const json::object& o, std::string_view key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) ThrowInvalid(where + std::string(key) + ": is required");
  if (!v->is_number())
    ThrowInvalid(where + std::string(key) + ": must be a number, not " + KindName(*v));
  return v->to_number<double>();
}

}  // namespace mljobs::api
