// Splits a console line into words the way a POSIX shell does for plain words and quotes, so that
// `sendTransaction a.b.c set greeting "hello weft"` passes "hello weft" as one argument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::console {

struct SplitLine {
  std::vector<std::string> words;
  std::string error; // empty on success, else what is wrong with the line (unterminated quote, trailing backslash)

  bool ok() const { return error.empty(); }
};

// Rules: whitespace separates words; '...' keeps everything literally; "..." keeps everything but lets a backslash
// escape `"` and `\`; outside quotes a backslash escapes the next character. Adjacent pieces join into one word
// (a"b"c is abc), and "" is an empty word.
SplitLine split_line(std::string_view line);

} // namespace weft::console
