// Parses router.yaml. All problems are collected and reported together, sorted by position, so a user fixes a file in
// one pass instead of one error per run.
#include "config.h"

#include <weft/text.hpp>
#include <yaml-cpp/yaml.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

namespace weft {
namespace {

namespace fs = std::filesystem;

// Problems found so far, each pinned to a position; reported together in one Error.
struct Diagnostics {
  std::string file;
  std::vector<std::tuple<int, int, std::string>> items;

  void fail(const YAML::Mark &m, const std::string &what) {
    int line = m.is_null() ? 1 : m.line + 1;
    int col = m.is_null() ? 1 : m.column + 1;
    items.emplace_back(line, col, what);
  }
  void fail(const YAML::Node &n, const std::string &what) { fail(n.Mark(), what); }
  // Points at the value, or at its key when the value is empty: yaml-cpp marks an empty value at the next token.
  void fail(const YAML::Node &key, const YAML::Node &value, const std::string &what) {
    fail(value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark(), what);
  }
  bool empty() const { return items.empty(); }
  Error error() const {
    auto sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
      return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
    });
    std::string msg;
    for (const auto &[line, col, what] : sorted) {
      if (!msg.empty()) msg += '\n';
      msg += file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what;
    }
    return Error{code::kInternal, msg};
  }
};

// How a value looks in a message: "got 'two'", "got a list".
std::string describe(const YAML::Node &n) {
  if (n.IsScalar()) {
    const std::string &s = n.Scalar();
    return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'";
  }
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "nothing";
}

std::string join(const std::vector<std::string_view> &names) {
  std::string out;
  for (auto n : names)
    out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The known key a typo most likely meant, if any is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view name, const std::vector<std::string_view> &known) {
  std::optional<std::string_view> best;
  std::size_t best_d = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (auto k : known) {
    std::size_t dist = edit_distance(name, k);
    if (dist < best_d) {
      best_d = dist;
      best = k;
    }
  }
  return best;
}

// A whole decimal integer with an optional sign; anything else (spaces, "2.0", "two") is not one.
std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.starts_with('+') && !s.starts_with("+-")) s.remove_prefix(1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A scalar as YAML 1.2's core schema reads it; quoted or !!str-tagged scalars always stay strings.
boost::json::value scalar_to_json(const YAML::Node &n) {
  const std::string &s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return boost::json::value(s);
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (auto v = parse_int(s)) return *v;
  std::string_view unsigned_text = s;
  if (unsigned_text.starts_with('+')) unsigned_text.remove_prefix(1);
  // Integers above int64 (and 0x / 0o forms) parse as unsigned; a '-' here was already refused by parse_int.
  std::string_view digits = unsigned_text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0o")) {
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  }
  std::uint64_t u = 0;
  auto [uend, uec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
  if (!digits.empty() && uec == std::errc() && uend == digits.data() + digits.size()) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
    return u;
  }
  // The character check keeps from_chars from reading "inf" or "nan", which JSON cannot carry.
  if (s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    double d = 0;
    auto [end, ec] = std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), d);
    if (!unsigned_text.empty() && ec == std::errc() && end == unsigned_text.data() + unsigned_text.size()) return d;
  }
  return boost::json::value(s); // includes .inf and .nan, which JSON cannot carry
}

boost::json::value to_json(Diagnostics &d, const YAML::Node &n, const std::string &label) {
  if (n.IsScalar()) return scalar_to_json(n);
  if (n.IsSequence()) {
    boost::json::array a;
    for (std::size_t i = 0; i < n.size(); ++i)
      a.push_back(to_json(d, n[i], label + "[" + std::to_string(i) + "]"));
    return a;
  }
  if (n.IsMap()) {
    boost::json::object o;
    for (const auto &kv : n) { // by value: yaml-cpp's iterators hand out temporaries
      if (!kv.first.IsScalar()) {
        d.fail(kv.first, "keys in " + label + " must be scalars, got " + describe(kv.first));
        continue;
      }
      std::string k = kv.first.Scalar();
      if (o.contains(k)) {
        d.fail(kv.first, "duplicate key '" + k + "' in " + label + "; keep one");
        continue;
      }
      o[k] = to_json(d, kv.second, label + "." + k);
    }
    return o;
  }
  return nullptr;
}

using text::is_name;

// Accepts "host:port" and "[v6]:port"; a bare IPv6 address is refused because its last group would read as a port.
bool parse_listen(std::string_view s, RpcConfig &rpc) {
  std::string_view host;
  std::string_view port;
  if (s.starts_with('[')) {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return false;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (host.empty() || host.find_first_of(" \t[]") != std::string_view::npos) return false;
  auto n = parse_int(port);
  if (!n || *n < 0 || *n > 65535 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  rpc.host = std::string(host);
  rpc.port = static_cast<std::uint16_t>(*n);
  return true;
}

// A mapping's keys after checking that each is known and appears once.
struct Field {
  YAML::Node key, value;
};
using Fields = std::map<std::string, Field, std::less<>>;

Fields fields(Diagnostics &d, const YAML::Node &map, const std::string &section,
              const std::vector<std::string_view> &known) {
  Fields out;
  for (const auto &kv : map) { // by value: yaml-cpp's iterators hand out temporaries
    const YAML::Node &key = kv.first;
    if (!key.IsScalar()) {
      d.fail(key, "keys in " + section + " must be plain names, got " + describe(key));
      continue;
    }
    const std::string &name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string msg = "unknown key '" + name + "' in " + section;
      auto near = closest(name, known);
      d.fail(key, msg + (near ? "; did you mean '" + std::string(*near) + "'?" : "; known keys: " + join(known)));
    } else if (auto [prev, fresh] = out.emplace(name, Field{key, kv.second}); !fresh) {
      d.fail(key, "duplicate key '" + name + "' in " + section + " (first at line " +
                      std::to_string(prev->second.key.Mark().line + 1) + "); keep one");
    }
  }
  return out;
}

const Field *get(const Fields &f, std::string_view name) {
  auto it = f.find(name);
  return it == f.end() ? nullptr : &it->second;
}

// A section that may be absent or empty (null) and otherwise must be a mapping.
bool is_mapping(Diagnostics &d, const Field &f, const std::string &name) {
  if (f.value.IsNull()) return false;
  if (!f.value.IsMap()) d.fail(f.key, f.value, name + " must be a mapping, got " + describe(f.value));
  return f.value.IsMap();
}

std::string list_item(std::string_view list, std::size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

class Parser {
public:
  Parser(Diagnostics &d, fs::path base_dir) : d_(d), base_dir_(std::move(base_dir)) {}

  RouterConfig run(const YAML::Node &root) {
    if (!root.IsMap() && !root.IsNull()) {
      d_.fail(root,
              "the config must be a mapping with sections router, rpc, log, accounts, chains; got " + describe(root));
      return std::move(cfg_);
    }
    Fields top;
    if (root.IsMap()) top = fields(d_, root, "the top level", {"router", "rpc", "metrics", "auth", "xa", "htlc", "log", "accounts", "chains"});
    // Order matters: data_dir (and its override) must be final before account key files resolve against it, and
    // accounts must all be known before chains name them.
    router(get(top, "router"));
    if (auto *f = get(top, "rpc"); f && is_mapping(d_, *f, "rpc"))
      rpc(fields(d_, f->value, "rpc",
                 {"listen", "threads", "handoff", "max_body_bytes", "header_timeout_ms", "idle_timeout_ms",
                  "request_timeout_ms", "max_in_flight", "ready_file", "url_prefix", "tls", "allow_insecure"}));
    if (auto *f = get(top, "auth"); f && is_mapping(d_, *f, "auth"))
      auth(fields(d_, f->value, "auth", {"login", "register", "token_life_s"}));
    if (auto *f = get(top, "xa"); f && is_mapping(d_, *f, "xa")) {
      auto x = fields(d_, f->value, "xa", {"timeout_s", "retry_max_ms", "start_in_step"});
      integer(get(x, "timeout_s"), "xa.timeout_s", 1, 31'536'000, cfg_.xa.timeout_s);
      integer(get(x, "retry_max_ms"), "xa.retry_max_ms", 10, 3'600'000, cfg_.xa.retry_max_ms);
      boolean(get(x, "start_in_step"), "xa.start_in_step", cfg_.xa.start_in_step);
    }
    if (auto *f = get(top, "htlc"); f && is_mapping(d_, *f, "htlc")) {
      auto h = fields(d_, f->value, "htlc", {"min_window_ms", "margin_ms", "poll_ms"});
      integer(get(h, "min_window_ms"), "htlc.min_window_ms", 0, 31'536'000'000, cfg_.htlc.min_window_ms);
      integer(get(h, "margin_ms"), "htlc.margin_ms", 0, 86'400'000, cfg_.htlc.margin_ms);
      integer(get(h, "poll_ms"), "htlc.poll_ms", 10, 60'000, cfg_.htlc.poll_ms);
    }
    if (auto *f = get(top, "metrics"); f && is_mapping(d_, *f, "metrics"))
      metrics(fields(d_, f->value, "metrics", {"listen", "ready_file"}));
    if (auto *f = get(top, "log"); f && is_mapping(d_, *f, "log")) log(fields(d_, f->value, "log", {"level", "file"}));
    if (auto *f = get(top, "accounts"))
      each_item(*f, "accounts", "('- name: alice')", [&](const YAML::Node &n, const std::string &l) { account(n, l); });
    if (auto *f = get(top, "chains"))
      each_item(*f, "chains", "('- name: ledger1')", [&](const YAML::Node &n, const std::string &l) { chain(n, l); });
    return std::move(cfg_);
  }

private:
  std::optional<std::string> string(const Field *f, const std::string &what) {
    if (!f) return std::nullopt;
    if (!f->value.IsScalar()) {
      d_.fail(f->key, f->value, what + " must be a string, got " + describe(f->value));
      return std::nullopt;
    }
    return f->value.Scalar();
  }

  // A string that must be one of `choices`; otherwise "<what> must be a, b or c, got '<value>'".
  std::optional<std::string> choice(const Field *f, const std::string &what,
                                    std::initializer_list<std::string_view> choices) {
    auto s = string(f, what);
    if (!s || std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
    std::string list;
    for (auto it = choices.begin(); it != choices.end(); ++it) {
      if (it != choices.begin()) list += std::next(it) == choices.end() ? " or " : ", ";
      list += *it;
    }
    d_.fail(f->value, what + " must be " + list + ", got '" + *s + "'");
    return std::nullopt;
  }

  // A name: 1..max characters of A-Z a-z 0-9 and `extra`.
  std::optional<std::string> name(const Field *f, const std::string &what, std::size_t max,
                                  std::string_view extra = "_-") {
    auto s = string(f, what);
    if (!s) return std::nullopt;
    if (is_name(*s, max, extra)) return s;
    std::string chars = "A-Z a-z 0-9";
    for (char c : extra)
      chars += std::string(" ") + c;
    d_.fail(f->key, f->value,
            what + " must be 1.." + std::to_string(max) + " characters of " + chars + ", got '" + *s + "'");
    return std::nullopt;
  }

  template <class T> void integer(const Field *f, const std::string &what, std::int64_t lo, std::int64_t hi, T &out) {
    if (!f) return;
    std::optional<std::int64_t> n;
    if (f->value.IsScalar()) n = parse_int(f->value.Scalar());
    if (n && *n >= lo && *n <= hi)
      out = static_cast<T>(*n);
    else
      d_.fail(f->key, f->value,
              what + " must be an integer " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                  describe(f->value));
  }

  // A path relative to `base`; an empty string means "not set".
  std::optional<fs::path> path(const Field *f, const std::string &what, const fs::path &base) {
    auto s = string(f, what);
    if (!s || s->empty()) return std::nullopt;
    return (base / *s).lexically_normal();
  }

  void router(const Field *section) {
    Fields f;
    if (section && is_mapping(d_, *section, "router"))
      f = fields(d_, section->value, "router",
                 {"zone", "data_dir", "plugin_dir", "chain_retry_initial_ms", "chain_retry_max_ms", "master_key_file"});
    if (!get(f, "zone"))
      d_.fail(section ? section->key.Mark() : YAML::Mark(),
              "router.zone is required: name this router's zone, e.g. 'router: { zone: payment }'");
    if (auto zone = name(get(f, "zone"), "router.zone", 32)) cfg_.zone = *zone;
    cfg_.data_dir = path(get(f, "data_dir"), "router.data_dir", base_dir_).value_or(base_dir_ / "data");
    cfg_.plugin_dir = path(get(f, "plugin_dir"), "router.plugin_dir", base_dir_).value_or(base_dir_ / "plugins");
    integer(get(f, "chain_retry_initial_ms"), "router.chain_retry_initial_ms", 10, 3'600'000,
            cfg_.chain_retry_initial_ms);
    integer(get(f, "chain_retry_max_ms"), "router.chain_retry_max_ms", 10, 86'400'000, cfg_.chain_retry_max_ms);
    cfg_.master_key_file = path(get(f, "master_key_file"), "router.master_key_file", base_dir_).value_or(fs::path());
    if (auto e = env_path("WEFT_DATA_DIR")) cfg_.data_dir = *e;
    if (auto e = env_path("WEFT_MASTER_KEY_FILE")) cfg_.master_key_file = *e;
    if (auto e = env_path("WEFT_PLUGIN_DIR")) cfg_.plugin_dir = *e;
  }

  static std::optional<fs::path> env_path(const char *var) {
    const char *v = std::getenv(var);
    if (!v || !*v) return std::nullopt;
    std::error_code ec;
    return fs::absolute(v, ec).lexically_normal();
  }

  void rpc(const Fields &f) {
    RpcConfig &r = cfg_.rpc;
    if (auto s = string(get(f, "listen"), "rpc.listen"); s && !parse_listen(*s, r))
      d_.fail(get(f, "listen")->value,
              "rpc.listen must be host:port with port 0..65535 (IPv6 as [::1]:8250), got '" + *s + "'");
    integer(get(f, "threads"), "rpc.threads", 1, 64, r.threads);
    if (auto h = choice(get(f, "handoff"), "rpc.handoff", {"auto", "share", "keep"})) r.handoff = *h;
    integer(get(f, "max_body_bytes"), "rpc.max_body_bytes", 1024, 64 * 1024 * 1024, r.max_body_bytes);
    integer(get(f, "header_timeout_ms"), "rpc.header_timeout_ms", 1, 3'600'000, r.header_timeout_ms);
    integer(get(f, "idle_timeout_ms"), "rpc.idle_timeout_ms", 1, 86'400'000, r.idle_timeout_ms);
    integer(get(f, "request_timeout_ms"), "rpc.request_timeout_ms", 1, 3'600'000, r.request_timeout_ms);
    integer(get(f, "max_in_flight"), "rpc.max_in_flight", 1, 1'000'000, r.max_in_flight);
    r.ready_file = path(get(f, "ready_file"), "rpc.ready_file", base_dir_).value_or(fs::path());
    tls(get(f, "tls"));
    boolean(get(f, "allow_insecure"), "rpc.allow_insecure", r.allow_insecure);
    if (auto p = string(get(f, "url_prefix"), "rpc.url_prefix"); p && !p->empty()) {
      // WeCross's rule: "/" then 1..18 of [A-Za-z0-9_-], neither starting nor ending with '_' or '-'.
      std::string_view body = std::string_view(*p).substr(p->starts_with('/') ? 1 : 0);
      if (!p->starts_with('/') || !is_name(body, 18, "_-") || body.front() == '_' || body.front() == '-' ||
          body.back() == '_' || body.back() == '-')
        d_.fail(get(f, "url_prefix")->value,
                "rpc.url_prefix must be '/' then 1..18 letters, digits, '_' or '-' (not first or last), e.g. "
                "'/weft', got '" + *p + "'");
      else
        r.url_prefix = *p;
    }
  }

  // rpc.tls: WeCross's sslSwitch as words. The files must exist now, so a typo stops the start, not the first client.
  void tls(const Field *section) {
    if (!section || !is_mapping(d_, *section, "rpc.tls")) return;
    Fields f = fields(d_, section->value, "rpc.tls", {"mode", "certificate", "private_key", "ca_certificate", "ciphers"});
    RpcTlsConfig &t = cfg_.rpc.tls;
    if (auto m = choice(get(f, "mode"), "rpc.tls.mode", {"plain", "tls", "mutual"})) t.mode = *m;
    t.certificate = path(get(f, "certificate"), "rpc.tls.certificate", base_dir_).value_or(fs::path());
    t.private_key = path(get(f, "private_key"), "rpc.tls.private_key", base_dir_).value_or(fs::path());
    t.ca_certificate = path(get(f, "ca_certificate"), "rpc.tls.ca_certificate", base_dir_).value_or(fs::path());
    if (auto c = string(get(f, "ciphers"), "rpc.tls.ciphers")) t.ciphers = *c;
    if (t.mode == "plain") return;
    auto need = [&](const fs::path &p, const char *key) {
      std::error_code ec;
      if (p.empty())
        d_.fail(section->key, std::string("rpc.tls.") + key + " is required when rpc.tls.mode is " + t.mode);
      else if (!fs::is_regular_file(p, ec))
        d_.fail(get(f, key)->value, std::string("rpc.tls.") + key + " " + p.string() + " does not exist");
    };
    need(t.certificate, "certificate");
    need(t.private_key, "private_key");
    if (t.mode == "mutual") need(t.ca_certificate, "ca_certificate");
  }

  void auth(const Fields &f) {
    boolean(get(f, "login"), "auth.login", cfg_.auth.login);
    boolean(get(f, "register"), "auth.register", cfg_.auth.allow_register);
    integer(get(f, "token_life_s"), "auth.token_life_s", 60, 31'536'000, cfg_.auth.token_life_s);
  }

  void boolean(const Field *f, const std::string &what, bool &out) {
    if (!f) return;
    if (f->value.IsScalar()) {
      const std::string &v = f->value.Scalar();
      if (v == "true" || v == "True" || v == "TRUE") return void(out = true);
      if (v == "false" || v == "False" || v == "FALSE") return void(out = false);
    }
    d_.fail(f->key, f->value, what + " must be true or false, got " + describe(f->value));
  }

  void metrics(const Fields &f) {
    MetricsConfig &m = cfg_.metrics;
    RpcConfig listen;
    if (auto s = string(get(f, "listen"), "metrics.listen"); s) {
      if (s->empty()) {
        m.enabled = false;
      } else if (!parse_listen(*s, listen)) {
        d_.fail(get(f, "listen")->value,
                "metrics.listen must be host:port (or \"\" to turn the listener off), got '" + *s + "'");
      } else {
        m.host = listen.host;
        m.port = listen.port;
      }
    }
    m.ready_file = path(get(f, "ready_file"), "metrics.ready_file", base_dir_).value_or(fs::path());
  }

  void log(const Fields &f) {
    static const std::vector<std::string_view> levels = {"trace", "debug", "info", "warn", "error", "off"};
    if (auto s = string(get(f, "level"), "log.level")) {
      if (std::find(levels.begin(), levels.end(), *s) != levels.end())
        cfg_.log_level = *s;
      else
        d_.fail(get(f, "level")->value, "log.level must be one of trace|debug|info|warn|error|off, got '" + *s + "'");
    }
    cfg_.log_file = path(get(f, "file"), "log.file", base_dir_).value_or(fs::path());
  }

  template <class Fn> void each_item(const Field &f, const std::string &list, const std::string &example, Fn fn) {
    if (f.value.IsNull()) return;
    if (!f.value.IsSequence()) {
      d_.fail(f.key, f.value, list + " must be a list " + example + ", got " + describe(f.value));
      return;
    }
    for (std::size_t i = 0; i < f.value.size(); ++i) {
      YAML::Node n = f.value[i];
      if (n.IsMap())
        fn(n, list_item(list, i));
      else
        d_.fail(n, list_item(list, i) + " must be a mapping " + example + ", got " + describe(n));
    }
  }

  // Records a list item's name, refusing a second item with the same name.
  bool unique(std::map<std::string, int> &seen, const std::string &what, const std::string &nm, const Field *f) {
    auto [prev, fresh] = seen.emplace(nm, f->key.Mark().line + 1);
    if (!fresh)
      d_.fail(f->value, "duplicate " + what + " name '" + nm + "' (first defined at line " +
                            std::to_string(prev->second) + "); " + what + " names must be unique");
    return fresh;
  }

  void account(const YAML::Node &node, const std::string &label) {
    Fields f = fields(d_, node, label, {"name", "algorithm", "key_file", "certificate", "msp_id"});
    AccountConfig acc;
    acc.line = node.Mark().line + 1;
    if (auto alg = string(get(f, "algorithm"), label + ".algorithm")) {
      // sm2 signs for guomi (GM) chains such as FISCO BCOS's; p256 keys of the router's own are not offered yet.
      if (*alg == "p256")
        d_.fail(get(f, "algorithm")->value,
                label + ".algorithm 'p256' is not supported yet for router accounts; use secp256k1 or sm2");
      else if (*alg != "secp256k1" && *alg != "sm2")
        d_.fail(get(f, "algorithm")->value, label + ".algorithm must be secp256k1 or sm2, got '" + *alg + "'");
      acc.algorithm = *alg;
    }
    if (!get(f, "name")) {
      d_.fail(node, label + ".name is required, e.g. 'name: alice'");
      return;
    }
    auto nm = name(get(f, "name"), label + ".name", 64);
    if (!nm || !unique(account_lines_, "account", *nm, get(f, "name"))) return;
    acc.name = *nm;
    acc.key_file = path(get(f, "key_file"), label + ".key_file", cfg_.data_dir)
                       .value_or((cfg_.data_dir / "keys" / (acc.name + ".key")).lexically_normal());
    acc.certificate = path(get(f, "certificate"), label + ".certificate", base_dir_).value_or(fs::path());
    if (auto msp = name(get(f, "msp_id"), label + ".msp_id", 128, "_-.")) acc.msp_id = *msp;
    if (acc.certificate.empty() != acc.msp_id.empty())
      d_.fail(node, label + ": certificate and msp_id go together (a Fabric identity needs both)");
    cfg_.accounts.push_back(std::move(acc));
  }

  void chain(const YAML::Node &node, const std::string &label) {
    Fields f = fields(d_, node, label, {"name", "type", "default_account", "options"});
    ChainConfig c;
    c.line = node.Mark().line + 1;
    if (!get(f, "name")) d_.fail(node, label + ".name is required, e.g. 'name: ledger1'");
    if (!get(f, "type"))
      d_.fail(node, label + ".type is required: the stub type its adapter serves, e.g. 'type: RefChain'");
    auto nm = name(get(f, "name"), label + ".name", 64);
    auto type = name(get(f, "type"), label + ".type", 64, "_-.");
    if (auto *o = get(f, "options"); o && is_mapping(d_, *o, label + ".options"))
      c.options = to_json(d_, o->value, label + ".options").as_object();
    if (auto *a = get(f, "default_account"); auto acc = string(a, label + ".default_account")) {
      if (account_lines_.count(*acc) == 0) {
        std::vector<std::string_view> names;
        for (const auto &x : cfg_.accounts)
          names.push_back(x.name);
        d_.fail(a->value, "chain '" + nm.value_or(label) + "': default_account '" + *acc +
                              "' is not defined; add it under accounts or use one of: " +
                              (names.empty() ? std::string("(no accounts defined)") : join(names)));
      }
      c.default_account = *acc;
    } else if (!a && !cfg_.accounts.empty()) {
      c.default_account = cfg_.accounts.front().name;
    }
    if (!nm || !type || !unique(chain_lines_, "chain", *nm, get(f, "name"))) return;
    c.name = *nm;
    c.type = *type;
    cfg_.chains.push_back(std::move(c));
  }

  Diagnostics &d_;
  fs::path base_dir_;
  RouterConfig cfg_;
  std::map<std::string, int> account_lines_, chain_lines_;
};

} // namespace

std::string RpcConfig::listen() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

bool RpcConfig::handoff_keeps(unsigned cores) const {
  return handoff == "keep" || (handoff == "auto" && cores <= 2);
}

Result<RouterConfig> parse_config(std::string_view text, std::string_view file_name, const fs::path &base_dir) {
  Diagnostics d{std::string(file_name), {}};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException &e) {
    d.fail(e.mark, "YAML syntax error: " + e.msg);
    return d.error();
  }
  std::error_code ec;
  fs::path base = fs::absolute(base_dir, ec).lexically_normal();
  RouterConfig cfg;
  try {
    cfg = Parser(d, base).run(root);
  } catch (const YAML::Exception &e) {
    // The parser tests node types before reading; this backstop keeps a surprise from escaping as an exception.
    d.fail(e.mark, "cannot read this value: " + e.msg);
  }
  if (!d.empty()) return d.error();
  return cfg;
}

Result<RouterConfig> load_config(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return Error{code::kInternal, path.string() + ": cannot read the config file: " + std::strerror(err) +
                                      "; pass the path of a router.yaml (see docs/config.md)"};
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec).lexically_normal();
  auto result = parse_config(text.str(), path.string(), abs.parent_path());
  if (result) result->config_path = abs;
  return result;
}

} // namespace weft
