// A small synchronous HTTP/1.1 client for `mljobs worker`: one keep-alive connection to the
// server, JSON in and out, a bearer token on every request, reconnecting once when the
// server closed the connection. One thread per object.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace mljobs::cli {

struct HttpAnswer {
  int status = 0;  // 0: no answer (the server is unreachable)
  boost::json::value body;
};

class WorkerHttp {
 public:
  // `server` like "http://127.0.0.1:8080". Throws Error(kInvalidArgument) for another form.
  WorkerHttp(const std::string& server, std::string token, std::chrono::seconds timeout);
  ~WorkerHttp();
  WorkerHttp(const WorkerHttp&) = delete;
  WorkerHttp& operator=(const WorkerHttp&) = delete;

  // POSTs `body` as JSON. Never throws for network trouble: status 0 then.
  HttpAnswer Post(const std::string& target, const boost::json::value& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mljobs::cli
