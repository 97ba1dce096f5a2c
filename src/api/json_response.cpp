#include "api/json_response.hpp"

#include <boost/json/serialize.hpp>

namespace mljobs::api {

http::Response JsonResponse(int status, const boost::json::value& body) {
  http::Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

http::Response JsonTextResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace mljobs::api
