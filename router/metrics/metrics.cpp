#include "metrics/metrics.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace weft {

namespace {

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void check_label_names(const std::string &metric, const std::vector<std::string> &names, bool histogram) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!valid_label_name(names[i]))
      throw std::invalid_argument("metric " + metric + ": invalid label name '" + names[i] + "'");
    if (histogram && names[i] == "le")
      throw std::invalid_argument("metric " + metric + ": the label 'le' is reserved for histogram buckets");
    for (size_t j = 0; j < i; ++j)
      if (names[j] == names[i]) throw std::invalid_argument("metric " + metric + ": label '" + names[i] + "' twice");
  }
}

// Values print in the shortest form that reads back exactly, without an exponent where people expect none: integers
// (heights, counts, Unix seconds) as integers, and bucket bounds such as 0.0005 as written (Go's client does the same).
void append_value(std::string &out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    std::to_chars_result r;
    double magnitude = std::fabs(v);
    if (v == std::trunc(v) && magnitude < 9007199254740992.0) // 2^53: every integer below is exact
      r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    else if (magnitude >= 1e-4 && magnitude < 1e15)
      r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    else
      r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_value(std::string &out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// In a label value: backslash, double quote and newline are escaped.
void append_label_value(std::string &out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// In HELP text: backslash and newline are escaped (a double quote is not).
void append_help(std::string &out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// `{a="x",b="y"}`, with `le` last for a bucket; nothing at all when there are no labels.
void append_labels(std::string &out, const std::vector<std::string> &names, const LabelValues &values,
                   const char *le = nullptr) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_header(std::string &out, const std::string &name, const std::string &help, const char *type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_help(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class V>
void append_sample(std::string &out, std::string_view name, const std::vector<std::string> &label_names,
                   const LabelValues &values, V value, const char *le = nullptr) {
  out += name;
  append_labels(out, label_names, values, le);
  out += ' ';
  append_value(out, value);
  out += '\n';
}

// A gauge family whose samples a callback computes at each scrape.
class GaugeCallbackFamily final : public metrics_detail::FamilyBase {
 public:
  GaugeCallbackFamily(std::string name, std::string help, std::vector<std::string> label_names,
                      std::function<MetricsRegistry::GaugeSamples()> fn)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)), fn_(std::move(fn)) {}

  void render(std::string &out) const override {
    append_header(out, name_, help_, "gauge");
    MetricsRegistry::GaugeSamples samples;
    try {
      samples = fn_();
    } catch (...) {
      return; // a broken source must not take every other metric down with it
    }
    std::erase_if(samples, [&](const auto &s) { return s.first.size() != label_names_.size(); });
    std::stable_sort(samples.begin(), samples.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    auto last =
        std::unique(samples.begin(), samples.end(), [](const auto &a, const auto &b) { return a.first == b.first; });
    samples.erase(last, samples.end());
    for (const auto &[values, v] : samples) append_sample(out, name_, label_names_, values, v);
  }

 private:
  std::function<MetricsRegistry::GaugeSamples()> fn_;
};

} // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double v) {
  // Bucket i counts bounds[i-1] < v <= bounds[i]; NaN is above every bound.
  size_t i = std::isnan(v) ? bounds_.size() : std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <class T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {
  // A family without labels has exactly one child: create it so that it renders from the start.
  if (label_names_.empty()) labels(std::span<const std::string_view>{});
}

template <class T> T &Family<T>::labels(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(values.size()));
  {
    std::shared_lock lock(mu_);
    if (auto it = children_.find(values); it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>)
      child = std::make_unique<Histogram>(std::span<const double>(bounds_));
    else
      child = std::make_unique<T>();
    it = children_.emplace(LabelValues(values.begin(), values.end()), std::move(child)).first;
  }
  return *it->second;
}

template <class T> void Family<T>::render(std::string &out) const {
  if constexpr (std::is_same_v<T, Counter>)
    append_header(out, name_, help_, "counter");
  else if constexpr (std::is_same_v<T, Gauge>)
    append_header(out, name_, help_, "gauge");
  else
    append_header(out, name_, help_, "histogram");

  std::shared_lock lock(mu_);
  for (const auto &[values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      Histogram::Snapshot s = child->snapshot();
      const std::string bucket = name_ + "_bucket";
      std::string le;
      for (size_t i = 0; i < bounds_.size(); ++i) {
        le.clear();
        append_value(le, bounds_[i]);
        append_sample(out, bucket, label_names_, values, s.cumulative[i], le.c_str());
      }
      append_sample(out, bucket, label_names_, values, s.count, "+Inf");
      append_sample(out, name_ + "_sum", label_names_, values, s.sum);
      append_sample(out, name_ + "_count", label_names_, values, s.count);
    } else {
      append_sample(out, name_, label_names_, values, child->value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

void MetricsRegistry::add(std::unique_ptr<metrics_detail::FamilyBase> family,
                          std::initializer_list<std::string_view> suffixes) {
  const std::string &name = family->name();
  std::vector<std::string> claimed = {name};
  for (auto suffix : suffixes) claimed.push_back(name + std::string(suffix));
  std::lock_guard lock(mu_);
  for (const auto &n : claimed)
    if (sample_names_.contains(n))
      throw std::invalid_argument("metric " + name + ": the name " + n + " is already registered");
  sample_names_.insert(claimed.begin(), claimed.end());
  families_.emplace(name, std::move(family));
}

Family<Counter> &MetricsRegistry::add_counter(std::string name, std::string help,
                                              std::vector<std::string> label_names) {
  if (!valid_metric_name(name) || !name.ends_with("_total") || name == "_total")
    throw std::invalid_argument("counter name '" + name + "' must be a metric name ending in _total");
  check_label_names(name, label_names, false);
  auto family = std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(label_names));
  auto &ref = *family;
  add(std::move(family), {});
  return ref;
}

Family<Gauge> &MetricsRegistry::add_gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  check_label_names(name, label_names, false);
  auto family = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(label_names));
  auto &ref = *family;
  add(std::move(family), {});
  return ref;
}

Family<Histogram> &MetricsRegistry::add_histogram(std::string name, std::string help,
                                                  std::vector<std::string> label_names, std::vector<double> bounds) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  check_label_names(name, label_names, true);
  for (size_t i = 0; i < bounds.size(); ++i)
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
      throw std::invalid_argument("histogram " + name + ": bucket bounds must be finite and strictly increasing");
  auto family =
      std::make_unique<Family<Histogram>>(std::move(name), std::move(help), std::move(label_names), std::move(bounds));
  auto &ref = *family;
  add(std::move(family), {"_bucket", "_sum", "_count"});
  return ref;
}

void MetricsRegistry::add_gauge_callback(std::string name, std::string help, std::vector<std::string> label_names,
                                         std::function<GaugeSamples()> fn) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  if (!fn) throw std::invalid_argument("gauge " + name + ": no callback");
  check_label_names(name, label_names, false);
  add(std::make_unique<GaugeCallbackFamily>(std::move(name), std::move(help), std::move(label_names), std::move(fn)),
      {});
}

std::string MetricsRegistry::render() const {
  std::vector<const metrics_detail::FamilyBase *> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto &[name, family] : families_) families.push_back(family.get());
  }
  // Families are never removed, so rendering needs no registry lock; callbacks run without it.
  std::string out;
  for (const auto *f : families) f->render(out);
  return out;
}

} // namespace weft
