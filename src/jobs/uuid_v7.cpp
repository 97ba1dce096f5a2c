#include "jobs/uuid_v7.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace mljobs::jobs {
namespace {

std::uint64_t RandomBits() {
  // One generator per thread, seeded from the OS: ids must not collide across threads.
  thread_local std::mt19937_64 engine{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  return engine();
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string NewUuidV7(Micros now) {
  std::array<std::uint8_t, 16> b{};
  const std::uint64_t ms = static_cast<std::uint64_t>(now / 1000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  // rand_a carries the sub-millisecond fraction (RFC 9562 method 3) so ids made in the
  // same millisecond still sort by time.
  const std::uint16_t sub_ms = static_cast<std::uint16_t>((now % 1000) * 4096 / 1000);
  b[6] = static_cast<std::uint8_t>(0x70 | ((sub_ms >> 8) & 0x0f));
  b[7] = static_cast<std::uint8_t>(sub_ms & 0xff);
  const std::uint64_t r = RandomBits();
  for (int i = 8; i < 16; ++i) b[i] = static_cast<std::uint8_t>(r >> (8 * (i - 8)));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10

  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

std::optional<std::string> NormalizeUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
    } else if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace mljobs::jobs
