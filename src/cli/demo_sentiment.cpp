#include "cli/demo_sentiment.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

namespace mljobs::cli {
namespace {

constexpr std::array<std::string_view, 32> kPositive = {
    "good",    "great",   "excellent", "love",     "loved",    "like",    "happy",  "nice",
    "amazing", "awesome", "fantastic", "wonderful", "best",    "fast",    "enjoy",  "enjoyed",
    "perfect", "pleased", "glad",      "helpful",  "brilliant", "superb", "fine",   "works",
    "recommend", "clean", "easy",      "reliable", "smooth",   "beautiful", "win",  "thanks"};
constexpr std::array<std::string_view, 32> kNegative = {
    "bad",    "terrible", "awful",  "hate",     "hated",    "poor",     "sad",     "slow",
    "worst",  "broken",   "bug",    "bugs",     "crash",    "crashes",  "fail",    "failed",
    "fails",  "ugly",     "angry",  "annoying", "useless",  "horrible", "wrong",   "error",
    "refund", "disappointed", "disappointing", "problem", "problems", "lost", "hard", "never"};
constexpr std::array<std::string_view, 3> kNegators = {"not", "no", "never"};

bool In(std::string_view word, auto& list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

}  // namespace

Prediction DemoSentiment(std::string_view text) {
  int balance = 0;
  bool negate = false;
  std::string word;
  auto finish_word = [&] {
    if (word.empty()) return;
    int polarity = In(word, kPositive) ? 1 : In(word, kNegative) ? -1 : 0;
    if (In(word, kNegators)) {
      negate = true;
    } else {
      balance += negate ? -polarity : polarity;
      negate = false;
    }
    word.clear();
  };
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      finish_word();
    }
  }
  finish_word();
  Prediction p;
  p.label = balance > 0 ? "positive" : balance < 0 ? "negative" : "neutral";
  // Each word of evidence moves the confidence from 0.5 towards 1.
  p.score = balance == 0 ? 0.5 : 0.5 + 0.5 * std::tanh(std::abs(balance) / 2.0);
  return p;
}

}  // namespace mljobs::cli
