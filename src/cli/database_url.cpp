#include "cli/database_url.hpp"

#include <cstdlib>

namespace mljobs::cli {

std::string ResolveDbUrl(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("MLJOBS_DB"); env != nullptr && *env != '\0') return env;
  return kDefaultDbUrl;
}

std::string RedactDbUrl(const std::string& url) {
  // postgresql://user:secret@host -> postgresql://user:***@host
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace mljobs::cli
