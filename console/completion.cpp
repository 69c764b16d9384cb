#include "completion.h"

#include "commands.h"

#include <algorithm>
#include <cctype>

namespace weft::console {

namespace {

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

std::vector<std::string> command_names(std::string_view prefix) {
  std::vector<std::string> names;
  for (const Command &command : command_table())
    if (starts_with_ignoring_case(command.name, prefix)) names.emplace_back(command.name);
  return names;
}

} // namespace

std::vector<std::string> complete(std::span<const std::string> before, std::string_view prefix,
                                  std::span<const std::string> resources) {
  std::vector<std::string> out;
  if (before.empty()) {
    out = command_names(prefix);
  } else if (const Command *command = find_command(before[0])) {
    auto args = before.subspan(1);
    if (command->name == "help" && args.empty()) {
      out = command_names(prefix);
    } else {
      if (command->takes_account && !args.empty() && args[0] == "--account") {
        if (args.size() == 1) return {}; // account names are not known to the console
        args = args.subspan(2);
      }
      if (args.empty()) {
        if (command->takes_account && before.size() == 1 && prefix.starts_with("-")) out.emplace_back("--account");
        for (const std::string &path : resources) {
          if (command->path_arg == PathArg::kResource && path.starts_with(prefix)) {
            out.push_back(path);
          } else if (command->path_arg == PathArg::kChain) {
            const auto last_dot = path.rfind('.');
            const std::string chain = last_dot == std::string::npos ? std::string() : path.substr(0, last_dot);
            if (!chain.empty() && chain.starts_with(prefix)) out.push_back(chain);
          }
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace weft::console
