// Builds a JSON http::Response from a Boost.JSON value.
#pragma once

#include <boost/json/value.hpp>

#include "http/request.hpp"

namespace mljobs::api {

http::Response JsonResponse(int status, const boost::json::value& body);

}  // namespace mljobs::api
