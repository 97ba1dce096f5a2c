// The built-in demo model of `mljobs worker --model demo-sentiment`: a small sentiment
// lexicon written for this project, so that jobs can be seen to complete end to end without
// any ML stack. Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

namespace mljobs::cli {

struct Prediction {
  std::string label;  // "positive", "negative" or "neutral"
  double score = 0;   // confidence in the label, 0.5 .. 1
};

// Counts lexicon words (case-insensitive, a preceding "not"/"never"/"no" flips one).
Prediction DemoSentiment(std::string_view text);

}  // namespace mljobs::cli
