// A small Prometheus metrics library: counters, gauges and histograms with fixed label names, updated lock-free once a
// child is obtained, and a registry that renders the text exposition format 0.0.4. It does no I/O of its own.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft {

// The label values of one child, in the order of its family's label names.
using LabelValues = std::vector<std::string>;

// A count that only goes up (requests, calls, errors). Integer-valued: every counter of the router counts events.
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1) { value_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1) { value_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets; an observation is two relaxed atomic adds.
class Histogram {
 public:
  // `bounds` are the finite upper bounds, strictly increasing; they must outlive the histogram (its family owns them).
  explicit Histogram(std::span<const double> bounds);

  void observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative; // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Counts are read bucket by bucket, so under concurrent observes the snapshot is a moment's approximation, but it is
  // always self-consistent: buckets are cumulative and +Inf equals count.
  Snapshot snapshot() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_; // per bucket, not cumulative; the last one is +Inf
  std::atomic<double> sum_{0};
};

namespace metrics_detail {

// Orders label tuples of any string-like element type against each other, so lookups need not build strings.
struct LabelsLess {
  using is_transparent = void;
  template <class A, class B> bool operator()(const A &a, const B &b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// What the registry needs of every family: its name and how to render it.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  const std::string &name() const { return name_; }
  const std::vector<std::string> &label_names() const { return label_names_; }
  // Appends `# HELP`, `# TYPE` and every sample.
  virtual void render(std::string &out) const = 0;

 protected:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

} // namespace metrics_detail

// A metric with a fixed set of label names and one child per tuple of label values.
template <class T> class Family final : public metrics_detail::FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {});

  // The child for these label values (one per label name, in order), created on first use. The reference stays valid
  // as long as the registry. The lookup takes a shared lock: on the hottest paths obtain the child once and keep it.
  // Throws std::invalid_argument when the number of values differs from the number of label names.
  T &labels(std::span<const std::string_view> values);
  T &labels(std::initializer_list<std::string_view> values) { return labels(std::span(values.begin(), values.size())); }

  void render(std::string &out) const override;

 private:
  std::vector<double> bounds_; // histograms only
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>, metrics_detail::LabelsLess> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns metric families and renders them, ordered by name and then by label values, in the text format 0.0.4.
// Registration throws std::invalid_argument on an invalid or already used name; it is meant for startup.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry &) = delete;
  MetricsRegistry &operator=(const MetricsRegistry &) = delete;

  // A counter's name must end in `_total`, the name its samples carry.
  Family<Counter> &add_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge> &add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  // `bounds`: finite, strictly increasing upper bounds; the +Inf bucket is implicit. The label `le` is reserved.
  Family<Histogram> &add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                   std::vector<double> bounds);

  using GaugeSamples = std::vector<std::pair<LabelValues, double>>;
  // A gauge computed at scrape time by `fn`, called from render() without any registry lock held (so it may be called
  // from several scrapes at once and must be thread-safe). A sample whose label count is wrong, or a repeated tuple, is
  // dropped; if `fn` throws, the family renders with no samples rather than failing the whole scrape.
  void add_gauge_callback(std::string name, std::string help, std::vector<std::string> label_names,
                          std::function<GaugeSamples()> fn);

  // The exposition text of every family; safe to call while other threads update and register metrics.
  std::string render() const;

 private:
  // Claims the family's name and its name with each suffix (a histogram's _bucket, _sum, _count), then keeps it.
  void add(std::unique_ptr<metrics_detail::FamilyBase> family, std::initializer_list<std::string_view> suffixes);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<metrics_detail::FamilyBase>, std::less<>> families_;
  std::set<std::string, std::less<>> sample_names_; // every name a sample line may carry, to refuse clashes
};

} // namespace weft
