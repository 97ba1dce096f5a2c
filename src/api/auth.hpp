// Authentication and roles on routes: wraps a handler so that it runs only for a caller
// whose bearer token is valid and whose role the route allows, and hands it that caller.
// 401 (with WWW-Authenticate) for a missing, bad or revoked token; 403 for a wrong role.
// A Guard is shared by the io threads; it is immutable after construction.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>

#include "http/router.hpp"
#include "jobs/auth_service.hpp"

namespace mljobs::api {

// Who may call a route. Admins may call every route.
enum class Access {
  kAdmin,    // admin only
  kWorker,   // worker or admin: claim and report results
  kUser,     // user or admin: submit, read and cancel jobs
  kAnyRole,  // any valid token
};

using CallerHandler =
    std::function<boost::asio::awaitable<http::Response>(http::Exchange&, const jobs::Caller&)>;

class Guard {
 public:
  // `auth` null: authentication is off (serve --auth=off, loopback only) and every request
  // is the caller "anonymous" with the admin role.
  explicit Guard(jobs::AuthService* auth) : auth_(auth) {}

  http::Handler Require(Access access, CallerHandler handler) const;

 private:
  jobs::AuthService* auth_;
};

// Which owner's jobs a caller reads: all (nullopt) for an admin, else its own.
std::optional<std::string> OwnerScope(const jobs::Caller& caller);

}  // namespace mljobs::api
