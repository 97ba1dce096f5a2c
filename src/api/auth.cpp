#include "api/auth.hpp"

#include "common/error.hpp"

namespace mljobs::api {
namespace {

bool Allowed(Access access, jobs::Role role) {
  if (role == jobs::Role::kAdmin) return true;
  switch (access) {
    case Access::kAdmin: return false;
    case Access::kWorker: return role == jobs::Role::kWorker;
    case Access::kUser: return role == jobs::Role::kUser;
    case Access::kAnyRole: return true;
  }
  return false;
}

std::string_view Needs(Access access) {
  switch (access) {
    case Access::kAdmin: return "admin";
    case Access::kWorker: return "worker or admin";
    case Access::kUser: return "user or admin";
    case Access::kAnyRole: return "any";
  }
  return "admin";
}

}  // namespace

http::Handler Guard::Require(Access access, CallerHandler handler) const {
  jobs::AuthService* auth = auth_;
  return [auth, access, handler = std::move(handler)](
             http::Exchange& ex) -> boost::asio::awaitable<http::Response> {
    if (auth == nullptr) {
      // A named local, not a temporary in the co_await: GCC 12 destroys such a temporary
      // twice (free(): invalid pointer).
      const jobs::Caller anonymous{std::string(jobs::kAnonymousCaller), jobs::Role::kAdmin};
      co_return co_await handler(ex, anonymous);
    }
    std::optional<jobs::Caller> caller;
    std::string unauthenticated;
    try {
      caller = co_await auth->Authenticate(ex.stats(), ex.request().Header("authorization"));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kUnauthenticated) throw;
      unauthenticated = e.what();
    }
    if (!caller) {
      http::Response response = http::ErrorResponse(401, "unauthenticated", unauthenticated);
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      co_return response;
    }
    if (!Allowed(access, caller->role)) {
      throw Error(ErrorCode::kPermissionDenied,
                  "role '" + std::string(jobs::RoleName(caller->role)) + "' may not call " +
                      ex.request().method + " " + ex.request().path + " (needs " +
                      std::string(Needs(access)) + ")");
    }
    co_return co_await handler(ex, *caller);
  };
}

std::optional<std::string> OwnerScope(const jobs::Caller& caller) {
  if (caller.role == jobs::Role::kAdmin) return std::nullopt;
  return caller.name;
}

}  // namespace mljobs::api
