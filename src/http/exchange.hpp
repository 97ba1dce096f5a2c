// What a route handler gets: the request, the per-request statement stats, and, for
// handlers that stream (NDJSON export), a way to send the body in chunks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/request.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::http {

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;
  virtual obs::RequestStats& stats() = 0;

  // Sends the status line and headers of a chunked response now. After this the handler
  // writes the body with WriteChunk and its returned Response is ignored. Any error
  // thrown after StartStream ends the connection (the status is already sent).
  virtual boost::asio::awaitable<void> StartStream(int status, std::string_view content_type) = 0;

  // Sends one chunk; false when the client has gone away (stop producing). Suspends
  // until the socket accepted it, so a slow client slows the producer (bounded memory).
  virtual boost::asio::awaitable<bool> WriteChunk(std::string_view data) = 0;
};

}  // namespace mljobs::http
