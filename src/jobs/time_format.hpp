// RFC 3339 timestamps <-> jobs::Micros, and the service's clock. Output is always UTC with
// six fractional digits ("2026-11-22T14:30:00.123456Z").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jobs/job.hpp"

namespace mljobs::jobs {

Micros NowMicros();
std::string FormatRfc3339(Micros t);
// Appends FormatRfc3339(t) to `out` without a temporary: the form JSON rendering uses.
void AppendRfc3339(std::string& out, Micros t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t'/'z'/' ' tolerated as
// RFC 3339 allows). nullopt for anything else, including impossible dates.
std::optional<Micros> ParseRfc3339(std::string_view text);

}  // namespace mljobs::jobs
