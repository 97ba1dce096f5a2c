// Opaque list cursors: a versioned, URL-safe token carrying the keyset position
// (created_at, id), the order and a fingerprint of the filter it was made for, signed with
// HMAC-SHA256 so that a tampered, truncated or foreign cursor is rejected (400).
#pragma once

#include <string>
#include <string_view>

#include "jobs/job_query.hpp"

namespace mljobs::jobs {

class CursorCodec {
 public:
  // `secret` comes from the database (JobStore::ServerSecret), so every server process
  // over the same database accepts the others' cursors, across restarts too.
  explicit CursorCodec(std::string secret) : secret_(std::move(secret)) {}

  std::string Encode(const Position& pos, const JobFilter& filter, SortOrder order) const;

  // The position, or Error(kInvalidArgument, ..., "invalid_cursor") when the text is not a
  // cursor of ours, or was made for another filter or order.
  Position Decode(std::string_view text, const JobFilter& filter, SortOrder order) const;

 private:
  std::string secret_;
};

}  // namespace mljobs::jobs
