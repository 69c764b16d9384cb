#include "report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

namespace weft::bench {

std::string Table::render() const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string> &r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  };
  measure(header_);
  for (const auto &r : rows_)
    measure(r);
  size_t total = 0;
  for (auto w : width)
    total += w + 3;
  auto line = [&](const std::vector<std::string> &r) {
    std::string out;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      // The label column is left-aligned, figures right-aligned.
      out += i == 0 ? cell + std::string(width[i] - cell.size(), ' ') : std::string(width[i] - cell.size(), ' ') + cell;
      out += i + 1 < width.size() ? "   " : "";
    }
    return out + "\n";
  };
  std::string out = line(header_) + std::string(total - 3, '-') + "\n";
  for (const auto &r : rows_)
    out += r.empty() ? std::string(total - 3, '-') + "\n" : line(r);
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string machine_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return std::to_string(std::thread::hardware_concurrency()) + " cores" + (model.empty() ? "" : ", " + model);
}

} // namespace weft::bench
