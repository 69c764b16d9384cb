// The benchmark's one table: rows of a label and one cell per system, then the ratio column.
#pragma once

#include <string>
#include <vector>

namespace weft::bench {

class Table {
public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void rule() { rows_.push_back({}); }
  std::string render() const;

private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string fixed(double v, int decimals);
// The machine the figures come from: cores and CPU model.
std::string machine_description();

} // namespace weft::bench
