#include "line_split.h"

namespace weft::console {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
} // namespace

SplitLine split_line(std::string_view line) {
  SplitLine result;
  std::string word;
  // A word exists once anything (even an empty quoted string) has been seen, so "" yields an empty argument.
  bool in_word = false;
  enum class Quote { kNone, kSingle, kDouble } quote = Quote::kNone;

  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    switch (quote) {
    case Quote::kSingle:
      if (c == '\'')
        quote = Quote::kNone;
      else
        word += c;
      break;
    case Quote::kDouble:
      if (c == '"') {
        quote = Quote::kNone;
      } else if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word += line[++i];
      } else {
        word += c;
      }
      break;
    case Quote::kNone:
      if (is_space(c)) {
        if (in_word) {
          result.words.push_back(std::move(word));
          word.clear();
          in_word = false;
        }
      } else if (c == '\'') {
        quote = Quote::kSingle;
        in_word = true;
      } else if (c == '"') {
        quote = Quote::kDouble;
        in_word = true;
      } else if (c == '\\') {
        if (i + 1 >= line.size()) {
          result.error = "trailing backslash";
          result.words.clear();
          return result;
        }
        word += line[++i];
        in_word = true;
      } else {
        word += c;
        in_word = true;
      }
      break;
    }
  }
  if (quote != Quote::kNone) {
    result.error = quote == Quote::kSingle ? "unterminated single quote" : "unterminated double quote";
    result.words.clear();
    return result;
  }
  if (in_word) result.words.push_back(std::move(word));
  return result;
}

} // namespace weft::console
