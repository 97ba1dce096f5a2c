// Strict reading of JSON request bodies, shared by every resource: each helper throws
// Error(kInvalidArgument) naming the field ("jobs[3].model: must be a string, not a
// number"), so a bad body is a 400 before anything changes. `where` prefixes field names.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

namespace mljobs::api {

[[noreturn]] void ThrowInvalid(std::string message);

// "a string", "an object", ...: for messages.
const char* KindName(const boost::json::value& v);

// Rejects fields outside `allowed`: a misspelt field must not silently fall back to a default.
void RequireKnownFields(const boost::json::object& o,
                        std::initializer_list<std::string_view> allowed, const std::string& where);

const boost::json::object& RequireObject(const boost::json::value& v, const std::string& what);
std::string RequireString(const boost::json::object& o, std::string_view key,
                          const std::string& where);
// A 32-bit integer (a JSON number without fraction).
int RequireInt(const boost::json::value& v, std::string_view key, const std::string& where);
int OptionalInt(const boost::json::object& o, std::string_view key, int fallback,
                const std::string& where);
double RequireNumber(const boost::json::object& o, std::string_view key, const std::string& where);

}  // namespace mljobs::api
