// Builds a JSON http::Response from a Boost.JSON value, or from JSON text already written
// (json_writer).
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "http/request.hpp"

namespace mljobs::api {

http::Response JsonResponse(int status, const boost::json::value& body);
http::Response JsonTextResponse(int status, std::string body);

}  // namespace mljobs::api
