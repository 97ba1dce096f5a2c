// Public job ids: UUIDv7 (RFC 9562), time ordered so new ids land at the right edge of the
// unique index instead of scattering writes across it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jobs/job.hpp"

namespace mljobs::jobs {

// Lower-case canonical text form. Thread-safe.
std::string NewUuidV7(Micros now);

// The canonical lower-case form of a UUID written in any case, or nullopt if `text` is not
// 8-4-4-4-12 hex digits. Used to reject bad ids with 404 before touching the database.
std::optional<std::string> NormalizeUuid(std::string_view text);

}  // namespace mljobs::jobs
