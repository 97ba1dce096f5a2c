// A small synchronous HTTP/1.1 client for tests against a server on 127.0.0.1: one-shot
// requests, keep-alive connections, raw bytes (malformed, oversize, stalled requests) and
// incremental reading of chunked (streamed) responses. Every wait is bounded by a timeout
// so a broken server fails a test instead of hanging it. Use from one thread per object.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mljobs::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Bound on each connect, write and read of the client.
inline constexpr std::chrono::milliseconds kDefaultClientTimeout{10000};

struct HttpResult {
  int status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  std::string body;    // decoded (chunked responses are joined)

  // First value of a header (name in any case), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

// Sends one request on a fresh connection (with `Connection: close`) and reads the whole
// response. `headers` are added as given (Host and Content-Length are set for you).
// Throws std::runtime_error when connecting fails, the server closes before a complete
// response, or the timeout passes.
HttpResult Send(std::uint16_t port, std::string_view method, std::string_view target,
                std::string_view body = {}, const HeaderList& headers = {});

// One keep-alive connection for several requests in sequence.
class HttpConnection {
 public:
  // Connects now; throws std::runtime_error when it cannot.
  explicit HttpConnection(std::uint16_t port,
                          std::chrono::milliseconds timeout = kDefaultClientTimeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends a request (keep-alive unless `headers` says `Connection: close`) and reads its
  // response. Throws std::runtime_error as Send() does.
  HttpResult Send(std::string_view method, std::string_view target, std::string_view body = {},
                  const HeaderList& headers = {});

  // Waits until the server closes the connection: true when it did (EOF or reset) within
  // `timeout`, false when the connection is still open or bytes arrived instead.
  bool WaitForClose(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct RawResult {
  std::string data;     // every byte the server sent
  bool closed = false;  // the server closed the connection before the timeout
};

// Connects, writes `bytes` as they are (errors writing are ignored: the server may close
// early), then reads until the server closes or `timeout` passes.
RawResult SendRaw(std::uint16_t port, std::string_view bytes,
                  std::chrono::milliseconds timeout = kDefaultClientTimeout);

// The status code of the first response in raw bytes ("HTTP/1.1 404 ..."), or 0.
int RawStatus(std::string_view raw);
// The bytes after the first response's header block (not de-chunked).
std::string RawBody(std::string_view raw);

// Reads a streamed (chunked) response one chunk at a time and can hang up midway.
class StreamReader {
 public:
  // Connects, sends the request and reads the response's status line and headers.
  // Throws std::runtime_error on failure or timeout.
  StreamReader(std::uint16_t port, std::string_view method, std::string_view target,
               std::string_view body = {}, const HeaderList& headers = {},
               std::chrono::milliseconds timeout = kDefaultClientTimeout);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  int status() const;
  const HeaderList& headers() const;  // names lower-cased
  std::optional<std::string> Header(std::string_view name) const;
  bool chunked() const;

  // The next chunk exactly as the server wrote it; nullopt at the end of the body. For a
  // response that is not chunked (an error answered before streaming began), the whole
  // body is one "chunk". Throws std::runtime_error when the connection fails midway.
  std::optional<std::string> NextChunk();
  // All remaining chunks joined.
  std::string ReadToEnd();
  // Closes the socket abruptly, leaving the rest of the response unread.
  void Disconnect();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mljobs::testing
