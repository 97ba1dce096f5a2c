#include "api/json_response.hpp"

#include <boost/json/serialize.hpp>

namespace mljobs::api {

http::Response JsonResponse(int status, const boost::json::value& body) {
  http::Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

}  // namespace mljobs::api
