#include "api/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace mljobs::api {
namespace {

// For each byte: 0 = copied as is; a letter = its two-character escape; 'u' = \u00XX.
constexpr std::array<char, 256> MakeEscapes() {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}
constexpr std::array<char, 256> kEscapes = MakeEscapes();

// True when one of the 8 bytes at `p` may need escaping (below 0x20, '"' or '\'), by the
// bit tricks of "Bit Twiddling Hacks" (haszero/hasless): no false negatives, and a false
// positive only costs the byte-wise look. Most text has no escapes, so this is the loop.
bool MayNeedEscape(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  const std::uint64_t hits =
      ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
  return (hits & kHighs) != 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size() && !MayNeedEscape(s.data() + i)) {
      i += 8;
      continue;
    }
    const char escape = kEscapes[static_cast<unsigned char>(s[i])];
    if (escape == 0) {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    run = ++i;
    if (escape == 'u') {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto c = static_cast<unsigned char>(s[i - 1]);
      const char buf[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(buf, sizeof buf);
    } else {
      const char buf[] = {'\\', escape};
      out.append(buf, sizeof buf);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void AppendJsonInt(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void AppendJsonDouble(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[40];
  char* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
  if (std::string_view(buf, static_cast<std::size_t>(end - buf)).find_first_of(".e") ==
      std::string_view::npos) {
    out.append(".0");
  }
}

}  // namespace mljobs::api
