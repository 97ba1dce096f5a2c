// Writers of the Prometheus text exposition format (version 0.0.4): HELP/TYPE lines,
// samples with escaped label values, cumulative histograms. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "obs/histogram.hpp"

namespace mljobs::obs {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// "# HELP name help\n# TYPE name type\n"; once per metric name.
void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help);

// `name{k="v",...} value\n`, label values escaped (\\, \", \n).
void AppendSample(std::string& out, std::string_view name, const Labels& labels, double value);

// name_bucket{...,le="..."} (cumulative, ending with +Inf), name_sum, name_count.
void AppendHistogram(std::string& out, std::string_view name, const Labels& labels,
                     const Histogram& histogram);

}  // namespace mljobs::obs
