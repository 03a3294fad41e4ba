// The strict Marzban: state, validation and routes. Every status code, body shape and
// message here comes from ../shared/reference/marzban/ (README + openapi-v0.7.0.json); where
// the reference is silent the behaviour follows Marzban's source as the README describes it.
#include "marzban_server.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <limits>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/crypto/primitives.hpp"
#include "core/timer_queue.hpp"
#include "http/server.hpp"
#include "tls_front.hpp"

namespace ms::marzban_test {

using json = nlohmann::ordered_json;
using http::Method;
using http::Request;
using http::Responder;
using http::Response;

std::vector<Inbound> default_inbounds() {
  return {{"VMess TCP", "vmess", "tcp", "none", 18081},
          {"VLESS TCP", "vless", "tcp", "none", 18082},
          {"Shadowsocks TCP", "shadowsocks", "tcp", "none", 18083}};
}

namespace {

const std::vector<std::string> kProtocols = {"vmess", "vless", "trojan", "shadowsocks"};

std::string enum_name(const std::string& protocol) {
  if (protocol == "vmess") return "ProxyTypes.VMess";
  if (protocol == "vless") return "ProxyTypes.VLESS";
  if (protocol == "trojan") return "ProxyTypes.Trojan";
  return "ProxyTypes.Shadowsocks";
}

std::string permitted(const std::vector<std::string>& values) {
  std::string out = "value is not a valid enumeration member; permitted: ";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", '" : "'") + values[i] + "'";
  return out;
}

const std::vector<std::string> kResetStrategies = {"no_reset", "day", "week", "month", "year"};
const std::vector<std::string> kCreateStatuses = {"active", "on_hold"};
const std::vector<std::string> kModifyStatuses = {"active", "disabled", "on_hold"};
const std::vector<std::string> kAllStatuses = {"active", "disabled", "limited", "expired", "on_hold"};
const std::vector<std::string> kSorts = {"username",  "used_traffic",  "data_limit",  "expire",  "created_at",
                                         "-username", "-used_traffic", "-data_limit", "-expire", "-created_at"};
constexpr const char* kUsernameMessage =
    "Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between.";

Response detail(int status, const std::string& text) {
  return Response::json(status, nlohmann::json{{"detail", text}});
}
Response detail_fields(const json& fields) {
  Response r;
  r.status = 422;
  r.headers.set("Content-Type", "application/json");
  r.body = json{{"detail", fields}}.dump();
  return r;
}
Response ojson(int status, const json& body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = body.dump();
  return r;
}
Response not_authenticated(const std::string& text) {
  Response r = detail(401, text);
  r.headers.set("WWW-Authenticate", "Bearer");
  return r;
}

// Python's datetime.isoformat() of a naive UTC datetime: no zone, microseconds only if set.
std::string iso_naive(std::int64_t micros) {
  std::time_t secs = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (auto frac = micros % 1'000'000; frac != 0) {
    char f[16];  // "." and six digits; room for what the compiler cannot rule out
    std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
    out += f;
  }
  return out;
}

// pydantic v1 int coercion: ints, bools, floats (truncated), and strings Python's int() takes.
// nullopt + `error` set when not an int; `overflow` when it does not fit a database BIGINT.
struct IntField {
  bool present = false;
  bool null = false;
  std::int64_t value = 0;
  std::string error;
  bool overflow = false;
};

IntField read_int(const json& body, const char* name) {
  IntField f;
  auto it = body.find(name);
  if (it == body.end()) return f;
  f.present = true;
  const json& v = *it;
  if (v.is_null()) {
    f.null = true;
  } else if (v.is_boolean()) {
    f.value = v.get<bool>() ? 1 : 0;
  } else if (v.is_number_integer() && !v.is_number_unsigned()) {
    f.value = v.get<std::int64_t>();
  } else if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) f.overflow = true;
    f.value = static_cast<std::int64_t>(u);
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) {
      f.error = "value is not a valid integer";
    } else if (std::fabs(d) >= 9.2e18) {
      f.overflow = true;
    } else {
      f.value = static_cast<std::int64_t>(d);
    }
  } else if (v.is_string()) {
    static const std::regex kInt(R"(^\s*[+-]?\d+\s*$)");
    const std::string s = v.get<std::string>();
    if (!std::regex_match(s, kInt)) {
      f.error = "value is not a valid integer";
    } else {
      try {
        f.value = std::stoll(s);
      } catch (const std::out_of_range&) {
        f.overflow = true;
      }
    }
  } else {
    f.error = "value is not a valid integer";
  }
  return f;
}

std::string random_uuid(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> nib(0, 15);
  std::string out;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    int v = nib(rng);
    if (i == 12) v = 4;
    if (i == 16) v = 8 | (v & 3);
    out += hex[v];
  }
  return out;
}

bool is_uuid(const std::string& s) {
  static const std::regex kUuid(R"(^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$)");
  return std::regex_match(s, kUuid);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string status = "active";
  json proxies = json::object();                             // protocol -> settings
  std::map<std::string, std::vector<std::string>> inbounds;  // protocol -> included tags
  std::optional<std::int64_t> expire;
  std::optional<std::int64_t> data_limit;
  std::string reset_strategy = "no_reset";
  std::optional<std::string> note;
  std::optional<std::int64_t> on_hold_expire_duration;
  std::optional<std::string> on_hold_timeout;
  std::optional<std::int64_t> auto_delete_in_days;
  std::int64_t used_traffic = 0;
  std::int64_t lifetime_used_traffic = 0;
  std::int64_t created_micros = 0;
  std::int64_t sub_revoked_micros = 0;
  std::optional<std::int64_t> online_micros;
  std::optional<std::int64_t> sub_updated_micros;
  std::optional<std::string> sub_last_user_agent;
  std::string admin;
};

struct Admin {
  std::string password;
  bool sudo = true;
  std::int64_t password_reset_micros = 0;
};

struct TokenInfo {
  std::string admin;
  std::int64_t issued_micros = 0;
  std::int64_t expires_unix = 0;
};

// The request's path relative to the prefix matched against a fault's path.
bool path_matches(const std::string& pattern, const std::string& path) {
  if (pattern.empty()) return true;
  if (pattern.back() == '*') return path.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == path;
}

}  // namespace

struct MarzbanTestServer::State {
  Options opt;
  const Clock* clock;
  bool v08 = false;
  mutable std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, Admin> admins;
  std::map<std::string, TokenInfo> tokens;
  std::map<std::string, User> users;  // by username (case kept; lookups are exact)
  std::vector<Inbound> inbounds;
  std::int64_t next_id = 1;
  std::int64_t sub_counter = 0;
  std::string sub_secret = crypto::random_token(16);
  std::vector<Fault> faults;
  // Parked requests: what answers one (doing the call first for kHold), or drops it at stop.
  struct Held {
    std::function<void()> answer;
    std::function<void()> drop;
  };
  std::vector<Held> held;
  std::map<std::string, int> hits;
  std::unique_ptr<TimerQueue> timers;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<TlsFront> front;

  std::int64_t now_micros() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(clock->now().time_since_epoch()).count();
  }
  std::int64_t now_unix() const { return clock->unix_seconds(); }

  std::uint16_t public_port() const { return front ? front->port() : server->bound_port(); }
  std::string base_url() const {
    return std::string(front ? "https" : "http") + "://127.0.0.1:" + std::to_string(public_port()) + opt.path_prefix;
  }

  // ---- inbounds -------------------------------------------------------------------------
  std::vector<std::string> tags_of(const std::string& protocol) const {
    std::vector<std::string> out;
    for (const auto& i : inbounds)
      if (i.protocol == protocol) out.push_back(i.tag);
    return out;
  }
  const Inbound* inbound(const std::string& tag) const {
    for (const auto& i : inbounds)
      if (i.tag == tag) return &i;
    return nullptr;
  }

  // Marzban's review job, run on every read: active users past their expiry or limit.
  void refresh(User& u) const {
    if (u.status != "active") return;
    if (u.expire && *u.expire > 0 && *u.expire <= now_unix()) {
      u.status = "expired";
    } else if (u.data_limit && *u.data_limit > 0 && u.used_traffic >= *u.data_limit) {
      u.status = "limited";
    }
  }

  std::string subscription_url(const User& u) {
    // Its token embeds the time of reading, so every read gives another URL; all stay valid
    // until revoke_sub.
    std::int64_t stamp = std::max(now_micros(), u.sub_revoked_micros) + (++sub_counter % 1000);
    std::string payload = u.username + "," + std::to_string(stamp);
    std::string sig = crypto::hmac_sha256_hex(sub_secret, payload).substr(0, 10);
    std::string token = crypto::base64_encode(payload, crypto::Base64Variant::kUrlSafeNoPadding) + sig;
    std::string prefix = opt.relative_subscription_urls
                             ? std::string()
                             : (opt.subscription_url_prefix.empty() ? base_url() : opt.subscription_url_prefix);
    return prefix + "/sub/" + token;
  }

  // The user named by a subscription token, or nullptr (bad, or revoked since).
  User* user_by_token(const std::string& token) {
    if (token.size() <= 10) return nullptr;
    std::string sig = token.substr(token.size() - 10);
    auto payload = crypto::base64_decode(token.substr(0, token.size() - 10), crypto::Base64Variant::kUrlSafeNoPadding);
    if (!payload) return nullptr;
    if (crypto::hmac_sha256_hex(sub_secret, *payload).substr(0, 10) != sig) return nullptr;
    auto comma = payload->rfind(',');
    if (comma == std::string::npos) return nullptr;
    auto it = users.find(payload->substr(0, comma));
    if (it == users.end()) return nullptr;
    std::int64_t stamp = std::stoll(payload->substr(comma + 1));
    if (stamp < it->second.sub_revoked_micros || stamp < it->second.created_micros) return nullptr;
    return &it->second;
  }

  std::vector<std::string> links(const User& u) const {
    std::vector<std::string> out;
    for (const auto& [protocol, tags] : u.inbounds) {
      const json& settings = u.proxies.at(protocol);
      for (const auto& tag : tags) {
        const Inbound* in = inbound(tag);
        if (in == nullptr) continue;
        std::string name = "%F0%9F%9A%80%20Marz%20%28" + u.username + "%29%20%5B" + tag + "%5D";
        std::string where = "127.0.0.1:" + std::to_string(in->port);
        if (protocol == "vless") {
          out.push_back("vless://" + settings.value("id", "") + "@" + where + "?security=none&type=tcp#" + name);
        } else if (protocol == "vmess") {
          json v = {
              {"add", "127.0.0.1"}, {"id", settings.value("id", "")}, {"port", in->port}, {"ps", tag}, {"v", "2"}};
          out.push_back("vmess://" + crypto::base64_encode(v.dump()));
        } else if (protocol == "trojan") {
          out.push_back("trojan://" + settings.value("password", "") + "@" + where + "?security=none#" + name);
        } else {
          out.push_back("ss://" +
                        crypto::base64_encode(settings.value("method", "chacha20-ietf-poly1305") + ":" +
                                              settings.value("password", "")) +
                        "@" + where + "#" + name);
        }
      }
    }
    return out;
  }

  json user_json(User& u) {
    refresh(u);
    json j;
    j["proxies"] = u.proxies;
    j["expire"] = u.expire ? json(*u.expire) : json(nullptr);
    j["data_limit"] = u.data_limit ? json(*u.data_limit) : json(nullptr);
    j["data_limit_reset_strategy"] = u.reset_strategy;
    json inb = json::object();
    for (const auto& [p, tags] : u.inbounds) inb[p] = tags;
    j["inbounds"] = inb;
    j["note"] = u.note ? json(*u.note) : json(nullptr);
    j["sub_updated_at"] = u.sub_updated_micros ? json(iso_naive(*u.sub_updated_micros)) : json(nullptr);
    j["sub_last_user_agent"] = u.sub_last_user_agent ? json(*u.sub_last_user_agent) : json(nullptr);
    j["online_at"] = u.online_micros ? json(iso_naive(*u.online_micros)) : json(nullptr);
    j["on_hold_expire_duration"] = u.on_hold_expire_duration ? json(*u.on_hold_expire_duration) : json(nullptr);
    j["on_hold_timeout"] = u.on_hold_timeout ? json(*u.on_hold_timeout) : json(nullptr);
    j["auto_delete_in_days"] = u.auto_delete_in_days ? json(*u.auto_delete_in_days) : json(nullptr);
    if (v08) j["next_plan"] = nullptr;
    j["username"] = u.username;
    j["status"] = u.status;
    j["used_traffic"] = u.used_traffic;
    j["lifetime_used_traffic"] = u.lifetime_used_traffic;
    j["created_at"] = iso_naive(u.created_micros);
    j["links"] = links(u);
    j["subscription_url"] = subscription_url(u);
    json excluded = json::object();
    for (const auto& [p, tags] : u.inbounds) {
      json ex = json::array();
      for (const auto& t : tags_of(p))
        if (std::find(tags.begin(), tags.end(), t) == tags.end()) ex.push_back(t);
      excluded[p] = ex;
    }
    j["excluded_inbounds"] = excluded;
    const Admin& a = admins.at(u.admin);
    j["admin"] = {{"username", u.admin}, {"is_sudo", a.sudo}, {"telegram_id", nullptr}, {"discord_webhook", nullptr}};
    return j;
  }

  // ---- auth -------------------------------------------------------------------------------
  std::string issue_token(const std::string& admin) {
    std::int64_t iat = now_unix();
    json header = {{"alg", "HS256"}, {"typ", "JWT"}};
    json payload = {{"sub", admin},
                    {"access", admins.at(admin).sudo ? "sudo" : "admin"},
                    {"iat", iat},
                    {"exp", iat + opt.token_lifetime.count()}};
    auto b64 = [](const std::string& s) { return crypto::base64_encode(s, crypto::Base64Variant::kUrlSafeNoPadding); };
    std::string token = b64(header.dump()) + "." + b64(payload.dump()) + "." + b64(crypto::random_bytes(32));
    tokens[token] = TokenInfo{admin, now_micros(), iat + opt.token_lifetime.count()};
    return token;
  }

  // The admin behind the request's bearer token, or the 401 to answer.
  std::variant<std::string, Response> authenticate(const Request& req) const {
    auto h = req.header("Authorization");
    if (!h) return not_authenticated("Not authenticated");
    std::string_view v = *h;
    auto space = v.find(' ');
    if (space == std::string_view::npos || !http::iequals(v.substr(0, space), "bearer")) {
      return not_authenticated("Not authenticated");
    }
    std::string token(v.substr(space + 1));
    auto it = tokens.find(token);
    if (it == tokens.end() || it->second.expires_unix <= now_unix()) {
      return not_authenticated("Could not validate credentials");
    }
    auto admin = admins.find(it->second.admin);
    if (admin == admins.end() || it->second.issued_micros < admin->second.password_reset_micros) {
      return not_authenticated("Could not validate credentials");
    }
    return it->second.admin;
  }

  bool is_sudo(const std::string& admin) const { return admins.at(admin).sudo; }

  // The user a request names, or the 404/403 to answer.
  std::variant<User*, Response> owned_user(const std::string& admin, const std::string& username) {
    auto it = users.find(username);
    if (it == users.end()) return detail(404, "User not found");
    if (!is_sudo(admin) && it->second.admin != admin) return detail(403, "You're not allowed");
    return &it->second;
  }

  // ---- validation shared by create and modify ------------------------------------------
  // Fills `out` from body["proxies"]; errors go into `errors`.
  void read_proxies(const json& body, json& out, json& errors, bool create) {
    auto it = body.find("proxies");
    if (it == body.end() || it->is_null()) {
      if (create) errors["proxies"] = "Each user needs at least one proxy";
      return;
    }
    if (!it->is_object()) {
      errors["proxies"] = "value is not a valid dict";
      return;
    }
    for (const auto& [key, settings] : it->items()) {
      if (std::find(kProtocols.begin(), kProtocols.end(), key) == kProtocols.end()) {
        errors["__key__"] = permitted(kProtocols);
        return;
      }
      if (!settings.is_object()) {
        errors[key] = "value is not a valid dict";
        return;
      }
      json s = json::object();
      if (key == "vmess" || key == "vless") {
        std::string id = settings.contains("id") && settings["id"].is_string() ? settings["id"].get<std::string>() : "";
        if (settings.contains("id") && !settings["id"].is_null() && (!settings["id"].is_string() || !is_uuid(id))) {
          errors["id"] = "value is not a valid uuid";
          return;
        }
        s["id"] = id.empty() ? random_uuid(rng) : lower(id);
        if (key == "vless") s["flow"] = settings.value("flow", "");
      } else {
        std::string pw = settings.contains("password") && settings["password"].is_string()
                             ? settings["password"].get<std::string>()
                             : crypto::random_token(16);
        s["password"] = pw;
        if (key == "trojan") s["flow"] = settings.value("flow", "");
        if (key == "shadowsocks") s["method"] = settings.value("method", "chacha20-ietf-poly1305");
      }
      out[key] = s;
    }
    if (create && out.empty()) errors["proxies"] = "Each user needs at least one proxy";
  }

  // body["inbounds"] as protocol -> tags, or an error.
  bool read_inbounds(const json& body, std::map<std::string, std::vector<std::string>>& out, json& errors) {
    auto it = body.find("inbounds");
    if (it == body.end() || it->is_null()) return true;
    if (!it->is_object()) {
      errors["inbounds"] = "value is not a valid dict";
      return false;
    }
    for (const auto& [key, tags] : it->items()) {
      if (std::find(kProtocols.begin(), kProtocols.end(), key) == kProtocols.end()) {
        errors["__key__"] = permitted(kProtocols);
        return false;
      }
      if (!tags.is_array()) {
        errors[key] = "value is not a valid list";
        return false;
      }
      std::vector<std::string> list;
      for (const auto& t : tags) {
        if (!t.is_string()) {
          errors["inbounds"] = "str type expected";
          return false;
        }
        list.push_back(t.get<std::string>());
      }
      out[key] = std::move(list);
    }
    return true;
  }

  void read_enum(const json& body, const char* name, const std::vector<std::string>& allowed,
                 std::optional<std::string>& out, json& errors) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return;
    if (!it->is_string() || std::find(allowed.begin(), allowed.end(), it->get<std::string>()) == allowed.end()) {
      errors[name] = permitted(allowed);
      return;
    }
    out = it->get<std::string>();
  }

  // note: pydantic's str (numbers are coerced) and Marzban's 500-character cap, counted in
  // characters, not bytes.
  void read_note(const json& body, std::optional<std::string>& out, bool& present, json& errors) {
    auto it = body.find("note");
    if (it == body.end()) return;
    present = true;
    if (it->is_null()) return;
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
    } else if (it->is_number()) {
      text = it->dump();
    } else {
      errors["note"] = "str type expected";
      return;
    }
    std::size_t chars = 0;
    for (unsigned char c : text)
      if ((c & 0xC0) != 0x80) ++chars;
    if (chars > 500) {
      errors["note"] = "User's note can be a maximum of 500 character";
      return;
    }
    out = std::move(text);
  }

  // ---- routes ------------------------------------------------------------------------------
  Response token(const Request& req) {
    std::map<std::string, std::string> form;
    auto ct = req.header("Content-Type");
    if (ct && ct->find("application/x-www-form-urlencoded") != std::string_view::npos) {
      std::string_view body = req.body;
      while (!body.empty()) {
        auto amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
        auto eq = pair.find('=');
        auto k = http::percent_decode(pair.substr(0, eq), true);
        auto v = http::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
        if (k && v && !form.count(*k)) form[*k] = *v;
      }
    }
    json errors = json::object();
    if (!form.count("username")) errors["username"] = "field required";
    if (!form.count("password")) errors["password"] = "field required";
    if (!errors.empty()) return detail_fields(errors);
    auto admin = admins.find(form["username"]);
    if (admin == admins.end() || admin->second.password != form["password"]) {
      return not_authenticated("Incorrect username or password");
    }
    return Response::json(200, nlohmann::json{{"access_token", issue_token(admin->first)}, {"token_type", "bearer"}});
  }

  Response create_user(const Request& req, const std::string& admin) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return detail_fields(json{{"body", "Expecting value"}});
    if (!body.is_object()) return detail_fields(json{{"__root__", "value is not a valid dict"}});
    json errors = json::object();
    bool overflow = false;
    json proxies = json::object();
    read_proxies(body, proxies, errors, true);
    IntField expire = read_int(body, "expire");
    if (!expire.error.empty()) errors["expire"] = expire.error;
    IntField limit = read_int(body, "data_limit");
    if (!limit.error.empty()) {
      errors["data_limit"] = limit.error;
    } else if (limit.present && !limit.null && limit.value < 0 && !limit.overflow) {
      errors["data_limit"] = "ensure this value is greater than or equal to 0";
    }
    overflow = overflow || expire.overflow || limit.overflow;
    std::optional<std::string> strategy;
    read_enum(body, "data_limit_reset_strategy", kResetStrategies, strategy, errors);
    std::map<std::string, std::vector<std::string>> inbounds;
    if (read_inbounds(body, inbounds, errors) && errors.find("proxies") == errors.end()) {
      // Inbounds of protocols the user has not are dropped; a missing or empty list means
      // every inbound of that protocol; an unknown tag is refused.
      for (auto it = inbounds.begin(); it != inbounds.end();) {
        it = proxies.contains(it->first) ? std::next(it) : inbounds.erase(it);
      }
      for (const auto& [protocol, _] : proxies.items()) {
        auto& tags = inbounds[protocol];
        if (tags.empty()) {
          tags = tags_of(protocol);
          continue;
        }
        for (const auto& t : tags) {
          if (inbound(t) == nullptr) {
            errors["inbounds"] = "Inbound " + t + " doesn't exist";
            break;
          }
        }
      }
    }
    std::optional<std::string> note;
    bool note_present = false;
    read_note(body, note, note_present, errors);
    IntField hold = read_int(body, "on_hold_expire_duration");
    if (!hold.error.empty()) errors["on_hold_expire_duration"] = hold.error;
    IntField auto_delete = read_int(body, "auto_delete_in_days");
    if (!auto_delete.error.empty()) errors["auto_delete_in_days"] = auto_delete.error;
    std::string username;
    if (!body.contains("username") || body["username"].is_null()) {
      errors["username"] = "field required";
    } else if (!body["username"].is_string()) {
      errors["username"] = "str type expected";
    } else {
      username = body["username"].get<std::string>();
      static const std::regex kName(R"(^(?=\w{3,32}\b)[a-zA-Z0-9\-_@.]+(?:_[a-zA-Z0-9\-_@.]+)*$)");
      if (!std::regex_search(username, kName)) errors["username"] = kUsernameMessage;
    }
    std::optional<std::string> status;
    read_enum(body, "status", kCreateStatuses, status, errors);
    if (status == "on_hold") {
      if (hold.null || !hold.present || hold.value == 0) {
        errors["status"] = "User cannot be on hold without a valid on_hold_expire_duration.";
      } else if (v08 && expire.present && !expire.null && expire.value != 0) {
        errors["status"] = "User cannot be on hold with specified expire.";
      }
    }
    if (!errors.empty()) return detail_fields(errors);
    for (const auto& [protocol, _] : proxies.items()) {
      if (tags_of(protocol).empty())
        return detail(400, "Protocol " + enum_name(protocol) + " is disabled on your server");
    }
    if (overflow) return Response::text(500, "Internal Server Error");
    if (users.count(username)) return detail(409, "User already exists");
    User u;
    u.id = next_id++;
    u.username = username;
    u.status = status.value_or("active");
    u.proxies = proxies;
    u.inbounds = inbounds;
    if (!expire.null && expire.present && expire.value != 0) u.expire = expire.value;
    if (!limit.null && limit.present && limit.value != 0) u.data_limit = limit.value;
    u.reset_strategy = strategy.value_or("no_reset");
    u.note = note;
    if (hold.present && !hold.null) u.on_hold_expire_duration = hold.value;
    if (auto_delete.present && !auto_delete.null) u.auto_delete_in_days = auto_delete.value;
    if (body.contains("on_hold_timeout") && body["on_hold_timeout"].is_string()) {
      u.on_hold_timeout = body["on_hold_timeout"].get<std::string>();
    }
    u.created_micros = now_micros();
    u.admin = admin;
    auto& stored = users[username] = std::move(u);
    return ojson(200, user_json(stored));
  }

  Response modify_user(const Request& req, const std::string& admin, const std::string& username) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return detail_fields(json{{"body", "Expecting value"}});
    if (!body.is_object()) return detail_fields(json{{"__root__", "value is not a valid dict"}});
    json errors = json::object();
    json proxies = json::object();
    read_proxies(body, proxies, errors, false);
    IntField expire = read_int(body, "expire");
    if (!expire.error.empty()) errors["expire"] = expire.error;
    IntField limit = read_int(body, "data_limit");
    if (!limit.error.empty()) {
      errors["data_limit"] = limit.error;
    } else if (limit.present && !limit.null && limit.value < 0 && !limit.overflow) {
      errors["data_limit"] = "ensure this value is greater than or equal to 0";
    }
    std::optional<std::string> strategy;
    read_enum(body, "data_limit_reset_strategy", kResetStrategies, strategy, errors);
    std::map<std::string, std::vector<std::string>> inbounds;
    if (read_inbounds(body, inbounds, errors)) {
      for (const auto& [protocol, tags] : inbounds) {
        if (tags.empty()) {
          errors["inbounds"] = enum_name(protocol) + " inbounds cannot be empty";
          break;
        }
        for (const auto& t : tags) {
          if (inbound(t) == nullptr) {
            errors["inbounds"] = "Inbound " + t + " doesn't exist";
            break;
          }
        }
      }
    }
    std::optional<std::string> note;
    bool note_present = false;
    read_note(body, note, note_present, errors);
    IntField hold = read_int(body, "on_hold_expire_duration");
    if (!hold.error.empty()) errors["on_hold_expire_duration"] = hold.error;
    std::optional<std::string> status;
    read_enum(body, "status", kModifyStatuses, status, errors);
    if (status == "on_hold" && (!hold.present || hold.null || hold.value == 0)) {
      errors["status"] = "User cannot be on hold without a valid on_hold_expire_duration.";
    }
    if (!errors.empty()) return detail_fields(errors);
    for (const auto& [protocol, _] : proxies.items()) {
      if (tags_of(protocol).empty())
        return detail(400, "Protocol " + enum_name(protocol) + " is disabled on your server");
    }
    auto found = owned_user(admin, username);
    if (auto* r = std::get_if<Response>(&found)) return *r;
    User& u = *std::get<User*>(found);
    if (expire.overflow || limit.overflow) return Response::text(500, "Internal Server Error");
    refresh(u);
    if (!proxies.empty()) {
      for (const auto& [protocol, settings] : proxies.items()) {
        u.proxies[protocol] = settings;
        if (!u.inbounds.count(protocol)) u.inbounds[protocol] = tags_of(protocol);
      }
      for (auto it = u.proxies.begin(); it != u.proxies.end();) {
        if (!proxies.contains(it.key())) {
          u.inbounds.erase(it.key());
          it = u.proxies.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& [protocol, tags] : inbounds)
      if (u.proxies.contains(protocol)) u.inbounds[protocol] = tags;
    if (status) u.status = *status;
    if (limit.present && !limit.null) {
      u.data_limit = limit.value ? std::optional<std::int64_t>(limit.value) : std::nullopt;
      if (u.status != "expired" && u.status != "disabled") {
        if (!u.data_limit || u.used_traffic < *u.data_limit) {
          if (u.status != "on_hold") u.status = "active";
        } else {
          u.status = "limited";
        }
      }
    }
    if (expire.present && !expire.null) {
      u.expire = expire.value ? std::optional<std::int64_t>(expire.value) : std::nullopt;
      if (u.status == "active" || u.status == "expired") {
        u.status = (!u.expire || *u.expire > now_unix()) ? "active" : "expired";
      }
    }
    if (strategy) u.reset_strategy = *strategy;
    if (note_present) u.note = note;
    if (hold.present && !hold.null) u.on_hold_expire_duration = hold.value;
    return ojson(200, user_json(u));
  }

  Response list_users(const Request& req, const std::string& admin) {
    json errors = json::object();
    auto int_param = [&](const char* name) -> std::optional<std::int64_t> {
      auto v = req.query_param(name);
      if (!v) return std::nullopt;
      json probe = std::string(*v);
      IntField f = read_int(json{{name, probe}}, name);
      if (!f.error.empty() || f.overflow) {
        errors[name] = "value is not a valid integer";
        return std::nullopt;
      }
      return f.value;
    };
    auto offset = int_param("offset");
    auto limit = int_param("limit");
    std::optional<std::string> status;
    if (auto s = req.query_param("status")) {
      if (std::find(kAllStatuses.begin(), kAllStatuses.end(), std::string(*s)) == kAllStatuses.end()) {
        errors["status"] = permitted(kAllStatuses);
      } else {
        status = std::string(*s);
      }
    }
    if (!errors.empty()) return detail_fields(errors);
    std::vector<std::string> sorts;
    if (auto s = req.query_param("sort")) {
      std::string text(*s);
      while (!text.empty() && text.front() == ',') text.erase(0, 1);
      while (!text.empty() && text.back() == ',') text.pop_back();
      std::size_t start = 0;
      for (;;) {
        auto comma = text.find(',', start);
        std::string opt = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (std::find(kSorts.begin(), kSorts.end(), opt) == kSorts.end()) {
          return detail(400, "\"" + opt + "\" is not a valid sort option");
        }
        sorts.push_back(opt);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    std::set<std::string> names;
    for (auto [it, end] = req.query.equal_range("username"); it != end; ++it) names.insert(it->second);
    std::string search = lower(std::string(req.query_param("search").value_or("")));
    std::vector<User*> match;
    for (auto& [name, u] : users) {
      refresh(u);
      if (!is_sudo(admin) && u.admin != admin) continue;
      if (!names.empty() && !names.count(name)) continue;
      if (status && u.status != *status) continue;
      if (!search.empty() && lower(name).find(search) == std::string::npos &&
          (!u.note || lower(*u.note).find(search) == std::string::npos)) {
        continue;
      }
      match.push_back(&u);
    }
    std::sort(match.begin(), match.end(), [&](const User* a, const User* b) {
      for (const auto& s : sorts) {
        bool desc = s.front() == '-';
        std::string key = desc ? s.substr(1) : s;
        auto cmp = [&](auto x, auto y) -> int { return x < y ? -1 : (y < x ? 1 : 0); };
        int c = 0;
        if (key == "username") c = cmp(a->username, b->username);
        if (key == "used_traffic") c = cmp(a->used_traffic, b->used_traffic);
        if (key == "data_limit") c = cmp(a->data_limit.value_or(-1), b->data_limit.value_or(-1));
        if (key == "expire") c = cmp(a->expire.value_or(-1), b->expire.value_or(-1));
        if (key == "created_at") c = cmp(a->id, b->id);
        if (c != 0) return desc ? c > 0 : c < 0;
      }
      return a->id < b->id;
    });
    std::size_t total = match.size();
    std::size_t from = static_cast<std::size_t>(std::max<std::int64_t>(0, offset.value_or(0)));
    std::size_t count = limit ? static_cast<std::size_t>(std::max<std::int64_t>(0, *limit)) : total;
    json list = json::array();
    for (std::size_t i = from; i < total && i - from < count; ++i) list.push_back(user_json(*match[i]));
    json out = {{"users", list}, {"total", total}};
    return ojson(200, out);
  }

  Response system() {
    std::int64_t active = 0, disabled = 0, expired = 0, limited = 0, on_hold = 0;
    for (auto& [_, u] : users) {
      refresh(u);
      active += u.status == "active";
      disabled += u.status == "disabled";
      expired += u.status == "expired";
      limited += u.status == "limited";
      on_hold += u.status == "on_hold";
    }
    json j = {{"version", opt.version}, {"mem_total", 25276026880LL}, {"mem_used", 405356544LL},
              {"cpu_cores", 2},         {"cpu_usage", 12.5},          {"total_user", users.size()}};
    if (v08) j["online_users"] = 0;
    j["users_active"] = active;
    if (v08) {
      j["users_on_hold"] = on_hold;
      j["users_disabled"] = disabled;
      j["users_expired"] = expired;
      j["users_limited"] = limited;
    }
    j["incoming_bandwidth"] = 0;
    j["outgoing_bandwidth"] = 0;
    j["incoming_bandwidth_speed"] = 770;
    j["outgoing_bandwidth_speed"] = 770;
    return ojson(200, j);
  }

  Response inbounds_json() const {
    json j = json::object();
    for (const auto& p : kProtocols) {
      json list = json::array();
      for (const auto& i : inbounds)
        if (i.protocol == p)
          list.push_back(
              {{"tag", i.tag}, {"protocol", i.protocol}, {"network", i.network}, {"tls", i.tls}, {"port", i.port}});
      if (!list.empty()) j[p] = list;
    }
    return ojson(200, j);
  }

  Response subscription(const Request& req, bool info) {
    User* u = user_by_token(std::string(req.path_param("token").value_or("")));
    if (u == nullptr) return v08 ? detail(404, "Not Found") : Response{204, {}, {}};
    refresh(*u);
    if (info) {
      json j = user_json(*u);
      json out;
      for (const char* k : {"proxies", "expire", "data_limit", "data_limit_reset_strategy", "sub_updated_at",
                            "sub_last_user_agent", "online_at", "username", "status", "used_traffic",
                            "lifetime_used_traffic", "created_at", "links", "subscription_url"})
        out[k] = j[k];
      return ojson(200, out);
    }
    u->sub_updated_micros = now_micros();
    u->sub_last_user_agent = std::string(req.header("User-Agent").value_or(""));
    std::string text;
    for (const auto& l : links(*u)) text += l + "\n";
    Response r = Response::text(200, crypto::base64_encode(text));
    r.headers.set("subscription-userinfo", "upload=0; download=" + std::to_string(u->used_traffic) +
                                               "; total=" + std::to_string(u->data_limit.value_or(0)) +
                                               "; expire=" + std::to_string(u->expire.value_or(0)));
    r.headers.set("profile-update-interval", "12");
    return r;
  }

  // ---- faults ------------------------------------------------------------------------------
  std::optional<Fault> take_fault(const Request& req, const std::string& rel) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->method.empty() && it->method != http::to_string(req.method)) continue;
      if (!path_matches(it->path, rel)) continue;
      Fault f = *it;
      if (it->times > 0 && --it->times == 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }
};

namespace {

Response proxy_error_page(int status) {
  std::string reason = status == 502   ? "Bad Gateway"
                       : status == 503 ? "Service Temporarily Unavailable"
                       : status == 504 ? "Gateway Time-out"
                                       : "Error";
  std::string title = std::to_string(status) + " " + reason;
  return Response::text(status,
                        "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
                            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                        "text/html");
}

Response login_page() {
  return Response::text(200, "<!DOCTYPE html><html><head><title>Login</title></head><body>Sign in</body></html>",
                        "text/html; charset=utf-8");
}

Fault::Kind parse_kind(const std::string& s) {
  if (s == "drop") return Fault::Kind::kDrop;
  if (s == "delay") return Fault::Kind::kDelay;
  if (s == "html") return Fault::Kind::kHtml;
  if (s == "apply_drop") return Fault::Kind::kApplyDrop;
  if (s == "apply_delay") return Fault::Kind::kApplyDelay;
  if (s == "hold") return Fault::Kind::kHold;
  if (s == "apply_hold") return Fault::Kind::kApplyHold;
  return Fault::Kind::kStatus;
}

}  // namespace

MarzbanTestServer::MarzbanTestServer(Options options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.opt = std::move(options);
  s.clock = s.opt.clock ? s.opt.clock : &SystemClock::instance();
  s.v08 = s.opt.version.rfind("0.8", 0) == 0;
  s.inbounds = s.opt.inbounds;
  s.admins[s.opt.username] = Admin{s.opt.password, s.opt.sudo, 0};
}

MarzbanTestServer::~MarzbanTestServer() { stop(); }

Result<void> MarzbanTestServer::start() {
  State& s = *state_;
  if (s.opt.version != "0.7.0" && s.opt.version != "0.8.4") {
    return fail(ErrorCode::kInvalidArgument, "version must be 0.7.0 or 0.8.4");
  }
  const std::string& prefix = s.opt.path_prefix;
  if (!prefix.empty() && (prefix.front() != '/' || prefix.back() == '/')) {
    return fail(ErrorCode::kInvalidArgument, "path prefix must start with '/' and not end with one");
  }
  s.timers = std::make_unique<TimerQueue>();
  http::ServerOptions so;
  so.listen = s.opt.tls_cert_file.empty() ? s.opt.listen : "127.0.0.1:0";
  so.threads = 2;
  so.handler_timeout = std::chrono::minutes(5);  // faults answer late on purpose
  so.idle_timeout = std::chrono::minutes(5);
  s.server = std::make_unique<http::Server>(so, *s.clock);
  http::Router& router = s.server->router();
  State* st = &s;

  // Every Marzban route: counted, then faults, then the route itself under the state lock.
  using Body = std::function<Response(Request&)>;
  auto add = [st, &router, prefix](Method m, const std::string& pattern, Body body) {
    std::string key = std::string(http::to_string(m)) + " " + pattern;
    router.add(m, prefix + pattern, [st, key, prefix, body](Request& req, Responder respond) {
      std::optional<Fault> fault;
      {
        std::lock_guard lock(st->mu);
        ++st->hits[key];
        fault = st->take_fault(req, req.path.substr(prefix.size()));
      }
      auto run = [st, body](Request& r) {
        std::lock_guard lock(st->mu);
        return body(r);
      };
      if (!fault) return void(respond(run(req)));
      Request* r = &req;  // valid until respond is called
      if (fault->on_hit && fault->kind != Fault::Kind::kApplyHold) fault->on_hit();
      auto dropped = [] {
        Response drop;
        drop.drop_connection = true;
        return drop;
      };
      switch (fault->kind) {
        case Fault::Kind::kStatus:
          respond(fault->status >= 502 && fault->status <= 504
                      ? proxy_error_page(fault->status)
                      : Response::text(fault->status, "Internal Server Error"));
          return;
        case Fault::Kind::kDrop: {
          Response drop;
          drop.drop_connection = true;
          respond(std::move(drop));
          return;
        }
        case Fault::Kind::kHtml: respond(login_page()); return;
        case Fault::Kind::kDelay: st->timers->schedule(fault->delay, [run, r, respond] { respond(run(*r)); }); return;
        case Fault::Kind::kApplyDrop: {
          run(req);
          Response drop;
          drop.drop_connection = true;
          respond(std::move(drop));
          return;
        }
        case Fault::Kind::kApplyDelay: {
          auto answer = std::make_shared<Response>(run(req));
          st->timers->schedule(fault->delay, [answer, respond] { respond(std::move(*answer)); });
          return;
        }
        case Fault::Kind::kHold: {
          std::lock_guard lock(st->mu);
          st->held.push_back({[run, r, respond] { respond(run(*r)); }, [respond, dropped] { respond(dropped()); }});
          return;
        }
        case Fault::Kind::kApplyHold: {
          auto answer = std::make_shared<Response>(run(req));
          if (fault->on_hit) fault->on_hit();
          std::lock_guard lock(st->mu);
          st->held.push_back(
              {[answer, respond] { respond(std::move(*answer)); }, [respond, dropped] { respond(dropped()); }});
          return;
        }
      }
    });
  };
  // Routes that need an admin: 401 before anything else, as FastAPI's dependency does.
  using AdminBody = std::function<Response(Request&, const std::string& admin)>;
  auto authed = [st](AdminBody body) -> Body {
    return [st, body](Request& req) {
      auto who = st->authenticate(req);
      if (auto* r = std::get_if<Response>(&who)) return *r;
      return body(req, std::get<std::string>(who));
    };
  };
  auto sudo_only = [st](AdminBody body) -> AdminBody {
    return [st, body](Request& req, const std::string& admin) {
      if (!st->is_sudo(admin)) return detail(403, "You're not allowed");
      return body(req, admin);
    };
  };
  auto name_of = [](const Request& req) { return std::string(req.path_param("username").value_or("")); };

  add(Method::kGet, "/", [](Request&) { return login_page(); });
  add(Method::kPost, "/api/admin/token", [st](Request& req) { return st->token(req); });
  add(Method::kGet, "/api/admin", authed([st](Request&, const std::string& admin) {
        return Response::json(200, nlohmann::json{{"username", admin},
                                                  {"is_sudo", st->is_sudo(admin)},
                                                  {"telegram_id", nullptr},
                                                  {"discord_webhook", nullptr}});
      }));
  add(Method::kGet, "/api/system", authed([st](Request&, const std::string&) { return st->system(); }));
  add(Method::kGet, "/api/inbounds", authed([st](Request&, const std::string&) { return st->inbounds_json(); }));
  add(Method::kGet, "/api/nodes",
      authed(sudo_only([](Request&, const std::string&) { return Response::json(200, nlohmann::json::array()); })));
  add(Method::kPost, "/api/user",
      authed([st](Request& req, const std::string& admin) { return st->create_user(req, admin); }));
  add(Method::kGet, "/api/user/{username}", authed([st, name_of](Request& req, const std::string& admin) {
        auto found = st->owned_user(admin, name_of(req));
        if (auto* r = std::get_if<Response>(&found)) return *r;
        return ojson(200, st->user_json(*std::get<User*>(found)));
      }));
  add(Method::kPut, "/api/user/{username}", authed([st, name_of](Request& req, const std::string& admin) {
        return st->modify_user(req, admin, name_of(req));
      }));
  add(Method::kDelete, "/api/user/{username}", authed([st, name_of](Request& req, const std::string& admin) {
        auto found = st->owned_user(admin, name_of(req));
        if (auto* r = std::get_if<Response>(&found)) return *r;
        st->users.erase(name_of(req));
        return detail(200, "User successfully deleted");
      }));
  add(Method::kPost, "/api/user/{username}/reset", authed([st, name_of](Request& req, const std::string& admin) {
        auto found = st->owned_user(admin, name_of(req));
        if (auto* r = std::get_if<Response>(&found)) return *r;
        User& u = *std::get<User*>(found);
        st->refresh(u);
        u.used_traffic = 0;
        if (u.status == "limited") u.status = "active";
        return ojson(200, st->user_json(u));
      }));
  add(Method::kPost, "/api/user/{username}/revoke_sub", authed([st, name_of](Request& req, const std::string& admin) {
        auto found = st->owned_user(admin, name_of(req));
        if (auto* r = std::get_if<Response>(&found)) return *r;
        User& u = *std::get<User*>(found);
        u.sub_revoked_micros = st->now_micros() + 1;
        for (auto& [protocol, settings] : u.proxies.items()) {
          if (settings.contains("id")) settings["id"] = random_uuid(st->rng);
          if (settings.contains("password")) settings["password"] = crypto::random_token(16);
        }
        return ojson(200, st->user_json(u));
      }));
  add(Method::kGet, "/api/user/{username}/usage", authed([st, name_of](Request& req, const std::string& admin) {
        auto found = st->owned_user(admin, name_of(req));
        if (auto* r = std::get_if<Response>(&found)) return *r;
        User& u = *std::get<User*>(found);
        return Response::json(
            200, nlohmann::json{
                     {"username", u.username},
                     {"usages", {{{"node_id", nullptr}, {"node_name", "Master"}, {"used_traffic", u.used_traffic}}}}});
      }));
  add(Method::kGet, "/api/users",
      authed([st](Request& req, const std::string& admin) { return st->list_users(req, admin); }));
  if (s.v08) {
    add(Method::kPost, "/api/user/{username}/active-next",
        authed([st, name_of](Request& req, const std::string& admin) {
          auto found = st->owned_user(admin, name_of(req));
          if (auto* r = std::get_if<Response>(&found)) return *r;
          return detail(404, "User doesn't have next plan");
        }));
  }
  for (const char* p : {"/sub/{token}", "/sub/{token}/"})
    add(Method::kGet, p, [st](Request& req) { return st->subscription(req, false); });
  add(Method::kGet, "/sub/{token}/info", [st](Request& req) { return st->subscription(req, true); });

  // Test controls, outside the prefix (a real panel has none of these).
  router.add_sync(Method::kPost, "/_test/faults", [st](Request& req) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (!j.is_object()) return Response::error(400, "bad_request", "a JSON object, please");
    Fault f;
    f.method = j.value("method", "");
    f.path = j.value("path", "");
    f.kind = parse_kind(j.value("kind", "status"));
    f.status = j.value("status", 500);
    f.delay = std::chrono::milliseconds(j.value("delay_ms", 0));
    f.times = j.value("times", 1);
    std::lock_guard lock(st->mu);
    st->faults.push_back(f);
    return Response::json(200, nlohmann::json{{"ok", true}});
  });
  router.add_sync(Method::kDelete, "/_test/faults", [st](Request&) {
    std::lock_guard lock(st->mu);
    st->faults.clear();
    return Response::json(200, nlohmann::json{{"ok", true}});
  });
  router.add_sync(Method::kPost, "/_test/release", [st](Request&) {
    std::vector<State::Held> held;
    {
      std::lock_guard lock(st->mu);
      held.swap(st->held);
    }
    for (auto& h : held) h.answer();
    return Response::json(200, nlohmann::json{{"released", held.size()}});
  });
  router.add_sync(Method::kGet, "/_test/state", [st](Request&) {
    std::lock_guard lock(st->mu);
    nlohmann::json users = nlohmann::json::array();
    for (const auto& [name, _] : st->users) users.push_back(name);
    return Response::json(200, nlohmann::json{{"users", users}, {"hits", st->hits}, {"held", st->held.size()}});
  });

  // FastAPI's own answers for what no route matches; outside a prefix, the web server's page.
  s.server->use(http::Middleware{
      "fastapi-errors", nullptr, [prefix](const Request& req, Response& res) {
        if (!req.route.empty() && res.status != 405) return;
        if (res.status != 404 && res.status != 405) return;
        if (!prefix.empty() && req.path.rfind(prefix, 0) != 0) {
          res = Response::text(404,
                               "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 "
                               "Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                               "text/html");
          return;
        }
        res.body = res.status == 404 ? R"({"detail":"Not Found"})" : R"({"detail":"Method Not Allowed"})";
      }});

  if (auto started = s.server->start(); !started) return started;
  if (!s.opt.tls_cert_file.empty()) {
    auto port = http::parse_listen(s.opt.listen);
    s.front = std::make_unique<TlsFront>();
    auto tls = s.front->start(s.opt.tls_cert_file, s.opt.tls_key_file, port ? port->port : 0, s.server->bound_port());
    if (!tls) {
      s.server->stop(std::chrono::milliseconds(0));
      return tls;
    }
  }
  return ok();
}

void MarzbanTestServer::stop() {
  State& s = *state_;
  std::vector<State::Held> held;
  {
    std::lock_guard lock(s.mu);
    held.swap(s.held);
  }
  for (auto& h : held) h.drop();
  if (s.front) s.front->stop();
  if (s.server) s.server->stop(std::chrono::milliseconds(200));
  s.timers.reset();  // pending late answers are dropped with their connections
}

std::uint16_t MarzbanTestServer::port() const { return state_->public_port(); }
std::string MarzbanTestServer::base_url() const { return state_->base_url(); }

void MarzbanTestServer::add_fault(Fault fault) {
  std::lock_guard lock(state_->mu);
  state_->faults.push_back(std::move(fault));
}
std::size_t MarzbanTestServer::held() const {
  std::lock_guard lock(state_->mu);
  return state_->held.size();
}
void MarzbanTestServer::release_held() {
  std::vector<State::Held> held;
  {
    std::lock_guard lock(state_->mu);
    held.swap(state_->held);
  }
  for (auto& h : held) h.answer();
}
void MarzbanTestServer::clear_faults() {
  std::lock_guard lock(state_->mu);
  state_->faults.clear();
}
void MarzbanTestServer::add_admin(const std::string& username, const std::string& password, bool sudo) {
  std::lock_guard lock(state_->mu);
  state_->admins[username] = Admin{password, sudo, 0};
}
void MarzbanTestServer::set_password(const std::string& username, const std::string& password) {
  std::lock_guard lock(state_->mu);
  auto& a = state_->admins.at(username);
  a.password = password;
  a.password_reset_micros = state_->now_micros() + 1;
}
void MarzbanTestServer::expire_tokens() {
  std::lock_guard lock(state_->mu);
  state_->tokens.clear();
}
void MarzbanTestServer::remove_inbound(const std::string& tag) {
  std::lock_guard lock(state_->mu);
  auto& list = state_->inbounds;
  list.erase(std::remove_if(list.begin(), list.end(), [&](const Inbound& i) { return i.tag == tag; }), list.end());
  for (auto& [_, u] : state_->users)
    for (auto& [p, tags] : u.inbounds) tags.erase(std::remove(tags.begin(), tags.end(), tag), tags.end());
}
bool MarzbanTestServer::set_used_traffic(const std::string& username, std::int64_t bytes) {
  std::lock_guard lock(state_->mu);
  auto it = state_->users.find(username);
  if (it == state_->users.end()) return false;
  it->second.lifetime_used_traffic += std::max<std::int64_t>(0, bytes - it->second.used_traffic);
  it->second.used_traffic = bytes;
  return true;
}
std::size_t MarzbanTestServer::user_count() const {
  std::lock_guard lock(state_->mu);
  return state_->users.size();
}
bool MarzbanTestServer::has_user(const std::string& username) const {
  std::lock_guard lock(state_->mu);
  return state_->users.count(username) > 0;
}
std::optional<std::string> MarzbanTestServer::user_json(const std::string& username) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->users.find(username);
  if (it == state_->users.end()) return std::nullopt;
  return state_->user_json(it->second).dump();
}
int MarzbanTestServer::hits(const std::string& key) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->hits.find(key);
  return it == state_->hits.end() ? 0 : it->second;
}
std::map<std::string, int> MarzbanTestServer::all_hits() const {
  std::lock_guard lock(state_->mu);
  return state_->hits;
}

}  // namespace ms::marzban_test
