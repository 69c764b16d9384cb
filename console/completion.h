// What the REPL offers on Tab: command names first, then resource or chain paths where a command expects one.
// Kept apart from libedit so the choices are testable.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::console {

// Candidates for the word being typed (`prefix`) after the complete words `before` of the line; `resources` are
// zone.chain.resource paths as listResources returned them. Sorted, without duplicates.
std::vector<std::string> complete(std::span<const std::string> before, std::string_view prefix,
                                  std::span<const std::string> resources);

} // namespace weft::console
