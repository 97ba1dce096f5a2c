// Route matching. Paths are split on '/' after the leading one, keeping empty segments,
// so a trailing slash is a segment of its own: "/jobs/" matches neither "/jobs" nor
// "/jobs/{id}" (a capture never matches an empty segment) and is a 404.
//
// Precedence: among the routes registered for the request's method whose pattern matches,
// the most specific wins, comparing segments left to right (the first literal beats a
// capture). 405 is returned only when no route of that method matches but a route of
// another method does; Allow then lists every method that would route (sorted, ", ").
#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace mljobs::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool IsCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (IsCapture(pattern[i])) {
      if (path[i].empty()) return false;
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

// True when `a` is more specific than `b` (both matching the same path).
bool MoreSpecific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bool a_literal = !IsCapture(a[i]);
    bool b_literal = !IsCapture(b[i]);
    if (a_literal != b_literal) return a_literal;
  }
  return false;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + pattern);
  }
  for (const Route& route : routes_) {
    if (route.method == method && route.pattern == pattern) {
      throw std::logic_error("route added twice: " + method + " " + pattern);
    }
  }
  std::vector<std::string> segments;
  for (std::string_view s : SplitPath(pattern)) segments.emplace_back(s);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
}

Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  const std::vector<std::string_view> segments = SplitPath(path);
  if (segments.empty()) return match;

  const Route* best = nullptr;
  std::vector<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route.segments, segments)) continue;
    if (route.method == method) {
      if (best == nullptr || MoreSpecific(route.segments, best->segments)) best = &route;
    } else {
      allowed.push_back(route.method);
    }
  }

  if (best != nullptr) {
    match.handler = &best->handler;
    match.pattern = best->pattern;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const std::string& seg = best->segments[i];
      if (IsCapture(seg)) {
        match.params.emplace_back(seg.substr(1, seg.size() - 2), std::string(segments[i]));
      }
    }
  }
  if (allowed.empty()) return match;

  // Allow lists every method that routes this path, the request's own one included.
  match.path_known = true;
  if (best != nullptr) allowed.push_back(best->method);
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  for (std::string_view m : allowed) {
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += m;
  }
  return match;
}

}  // namespace mljobs::http
