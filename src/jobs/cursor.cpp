#include "jobs/cursor.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "common/error.hpp"

namespace mljobs::jobs {
namespace {

// Layout (all integers big-endian):
//   version(1) order(1) created_at(8) id(8) filter_fingerprint(8) | mac(12)
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kPayloadSize = 1 + 1 + 8 + 8 + 8;
constexpr std::size_t kMacSize = 12;  // 96 bits: forging one is out of reach
constexpr std::size_t kTokenSize = kPayloadSize + kMacSize;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(const std::uint8_t* data, std::size_t n) {
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (n - i == 1) {
    std::uint32_t v = data[i] << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    for (int s = 18; s >= 6; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Decodes exactly kTokenSize bytes; false for any other length or a foreign character.
bool Base64UrlDecode(std::string_view text, std::array<std::uint8_t, kTokenSize>& out) {
  if (text.size() != (kTokenSize * 4 + 2) / 3) return false;
  std::size_t o = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == out.size()) return false;
      out[o++] = static_cast<std::uint8_t>((acc >> bits) & 0xff);
    }
  }
  return o == out.size();
}

void PutU64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}

std::uint64_t GetU64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// The filter in a canonical text form, hashed: a cursor is only valid for the same filter.
std::uint64_t Fingerprint(const JobFilter& filter) {
  std::string canon = "s=";
  for (JobStatus s : filter.statuses) {
    canon += ToString(s);
    canon += ',';
  }
  auto add = [&](std::string_view key, const std::string& value) {
    canon += '\n';
    canon += key;
    canon += std::to_string(value.size());  // length-prefixed: no separator ambiguity
    canon += ':';
    canon += value;
  };
  if (filter.model) add("m", *filter.model);
  if (filter.owner) add("o", *filter.owner);
  if (filter.created_after) add("a", std::to_string(*filter.created_after));
  if (filter.created_before) add("b", std::to_string(*filter.created_before));
  // Only when set, so the cursors of live-only lists made before the option stay valid.
  if (filter.include_archived) canon += "\nx";
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(canon.data()), canon.size(), digest.data());
  return GetU64(digest.data());
}

std::array<unsigned char, EVP_MAX_MD_SIZE> Mac(const std::string& secret, const std::uint8_t* data,
                                               std::size_t n) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data, n, mac.data(), &len);
  return mac;
}

[[noreturn]] void Reject(std::string message) {
  throw Error(ErrorCode::kInvalidArgument, std::move(message), "invalid_cursor");
}

}  // namespace

std::string CursorCodec::Encode(const Position& pos, const JobFilter& filter,
                                SortOrder order) const {
  std::array<std::uint8_t, kTokenSize> token{};
  token[0] = kVersion;
  token[1] = order == SortOrder::kDesc ? 0 : 1;
  PutU64(&token[2], static_cast<std::uint64_t>(pos.created_at));
  PutU64(&token[10], static_cast<std::uint64_t>(pos.id));
  PutU64(&token[18], Fingerprint(filter));
  auto mac = Mac(secret_, token.data(), kPayloadSize);
  std::memcpy(&token[kPayloadSize], mac.data(), kMacSize);
  return Base64UrlEncode(token.data(), token.size());
}

Position CursorCodec::Decode(std::string_view text, const JobFilter& filter,
                             SortOrder order) const {
  std::array<std::uint8_t, kTokenSize> token{};
  if (!Base64UrlDecode(text, token)) Reject("cursor is malformed or truncated");
  auto mac = Mac(secret_, token.data(), kPayloadSize);
  if (CRYPTO_memcmp(mac.data(), &token[kPayloadSize], kMacSize) != 0) {
    Reject("cursor signature does not match (tampered, or from another database)");
  }
  if (token[0] != kVersion) Reject("cursor version is not supported");
  if (token[1] != (order == SortOrder::kDesc ? 0 : 1)) {
    Reject("cursor was made for the other sort order");
  }
  if (GetU64(&token[18]) != Fingerprint(filter)) {
    Reject("cursor was made for a different filter");
  }
  return Position{static_cast<Micros>(GetU64(&token[2])), static_cast<std::int64_t>(GetU64(&token[10]))};
}

}  // namespace mljobs::jobs
