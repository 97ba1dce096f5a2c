#include "obs/prometheus_text.hpp"

#include <cmath>
#include <cstdio>

namespace mljobs::obs {
namespace {

void AppendNumber(std::string& out, double value) {
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  // Integers (counters) print without a fraction; %.17g keeps every other value exact.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
  }
  out += buffer;
}

void AppendLabels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    for (char c : value) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  out += '}';
}

}  // namespace

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, const Labels& labels, double value) {
  out += name;
  AppendLabels(out, labels);
  out += ' ';
  AppendNumber(out, value);
  out += '\n';
}

void AppendHistogram(std::string& out, std::string_view name, const Labels& labels,
                     const Histogram& histogram) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += histogram.buckets[i];
    std::snprintf(le, sizeof le, "%g", kLatencyBuckets[i]);
    Labels with_le = labels;
    with_le.emplace_back("le", le);
    AppendSample(out, bucket, with_le, static_cast<double>(cumulative));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  AppendSample(out, bucket, inf, static_cast<double>(histogram.count));
  AppendSample(out, std::string(name) + "_sum", labels, histogram.sum_seconds);
  AppendSample(out, std::string(name) + "_count", labels, static_cast<double>(histogram.count));
}

}  // namespace mljobs::obs
