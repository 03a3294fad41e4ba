#include "panels/marzban/marzban.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "domain/rules.hpp"
#include "panels/marzban/marzban_json.hpp"

namespace ms::panels {

using marzban_json::answer_error;
using marzban_json::counts_against_health;
using marzban_json::int_or;
using marzban_json::opt_time;
using marzban_json::string_or;
using marzban_json::transport_error;
using nlohmann::json;

namespace {

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// A fixed-size pool of call slots per panel.
class Slots {
 public:
  explicit Slots(int n) : free_(std::max(1, n)) {}
  bool acquire(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return free_ > 0; })) return false;
    --free_;
    return true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

struct Call {
  std::string method = "GET";
  std::string path;  // after the base URL: "/api/user/x"
  std::string body;  // JSON unless form
  bool form = false;
  bool idempotent = false;
  bool health_probe = false;  // allowed while down
};

struct Outcome {
  http::ClientResponse response;
  int attempts = 1;
};

}  // namespace

struct MarzbanPanel::Impl {
  http::HttpClient& http;
  MarzbanOptions opt;
  const Clock& clock;
  Slots slots;

  mutable std::mutex mu;  // guards everything below
  std::string base;       // normalized, or empty before the first call
  std::optional<Error> bad_url;
  crypto::Secret token;
  std::uint64_t token_generation = 0;
  HealthState state;
  std::vector<InboundInfo> inbound_cache;
  std::chrono::steady_clock::time_point inbounds_read{};
  std::mutex login_mu;  // one login at a time

  Impl(http::HttpClient& h, MarzbanOptions o)
      : http(h),
        opt(std::move(o)),
        clock(opt.clock ? *opt.clock : SystemClock::instance()),
        slots(opt.max_concurrent),
        token(opt.cached_token) {
    auto normalized = normalize_url(opt.base_url);
    if (normalized) {
      base = *normalized;
    } else {
      bad_url = normalized.error();
    }
  }

  // ---- one exchange -------------------------------------------------------------------------
  // Health after a call: the panel answered like a panel (a 404 is an answer), or it failed.
  // Only a health check brings a panel that is down back up.
  void record(const std::optional<PanelError>& failure, bool probe) {
    std::lock_guard lock(mu);
    state.checked_at = clock.now();
    if (!failure || !counts_against_health(*failure)) {
      state.consecutive_failures = 0;
      if (!failure) state.last_error.reset();
      if (probe) state.up = true;
      return;
    }
    ++state.consecutive_failures;
    state.last_error = failure;
    if (probe || state.consecutive_failures >= opt.failures_before_down) {
      if (state.up) spdlog::warn("panel {}: marked down: {}", origin(), failure->describe());
      state.up = false;
    }
  }

  std::string origin() const {
    auto o = http::loggable_origin(base);
    return o ? *o : std::string("<invalid url>");
  }

  PanelResult<http::ClientResponse> send_once(const Call& call, const std::string& bearer) {
    http::ClientRequest req;
    req.method = call.method;
    req.url = base + call.path;
    req.timeout = opt.timeout;
    req.connect_timeout = std::min(opt.timeout, std::chrono::milliseconds(10'000));
    req.tls = opt.tls;
    req.refuse_private_addresses = opt.refuse_private_addresses;
    // libcurl re-sends a request on its own when a reused connection dies before the answer:
    // never for a call that must not run twice, nor for a delete (whose own retry logic
    // must see the lost answer to read a 404 as "already gone").
    req.fresh_connection = !call.idempotent || call.method == "DELETE";
    req.headers.emplace_back("Accept", "application/json");
    if (call.form) {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    } else if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
      req.headers.emplace_back("Content-Type", "application/json");
    }
    if (!bearer.empty()) req.headers.emplace_back("Authorization", "Bearer " + bearer);
    req.body = call.body;
    auto r = http.send_sync(std::move(req));
    if (!r) return tl::unexpected(transport_error(r.error(), opt.timeout));
    return std::move(*r);
  }

  PanelResult<void> do_login() {
    Call call;
    call.method = "POST";
    call.path = "/api/admin/token";
    call.form = true;
    call.body = "username=" + url_encode(opt.username) + "&password=" + url_encode(opt.password.reveal());
    auto r = send_once(call, "");
    call.body.assign(call.body.size(), '\0');  // the password does not linger in memory
    if (!r) return tl::unexpected(r.error());
    if (r->status != 200) {
      PanelError e = answer_error(*r);
      if (e.kind == PanelErrorKind::kUnauthorized) e.detail = "the panel refused the username or password";
      if (e.kind == PanelErrorKind::kNotFound) e.kind = PanelErrorKind::kBadResponse;
      return tl::unexpected(e);
    }
    json body = json::parse(r->body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("access_token") ||
        !body["access_token"].is_string()) {
      return panel_fail(PanelErrorKind::kBadResponse, "the login answer has no access token", r->status);
    }
    crypto::Secret fresh(body["access_token"].get<std::string>());
    {
      std::lock_guard lock(mu);
      token = fresh;
      ++token_generation;
    }
    if (opt.on_login) opt.on_login(fresh);
    return {};
  }

  // The current token (logging in if there is none), with its generation.
  PanelResult<std::pair<std::string, std::uint64_t>> current_token() {
    {
      std::lock_guard lock(mu);
      if (!token.empty()) return std::pair{token.reveal(), token_generation};
    }
    std::lock_guard login_lock(login_mu);
    {
      std::lock_guard lock(mu);
      if (!token.empty()) return std::pair{token.reveal(), token_generation};
    }
    if (auto l = do_login(); !l) return tl::unexpected(l.error());
    std::lock_guard lock(mu);
    return std::pair{token.reveal(), token_generation};
  }

  // Logs in again unless another thread already did since `stale_generation`.
  PanelResult<void> relogin(std::uint64_t stale_generation) {
    std::lock_guard login_lock(login_mu);
    {
      std::lock_guard lock(mu);
      if (token_generation != stale_generation && !token.empty()) return {};
    }
    return do_login();
  }

  // Cap, down check, auth with one re-login on 401, retries for idempotent calls, health.
  PanelResult<Outcome> exchange(const Call& call) {
    if (bad_url) return panel_fail(PanelErrorKind::kConnection, "the panel URL is not valid: " + bad_url->message);
    {
      std::lock_guard lock(mu);
      if (!state.up && !call.health_probe) {
        PanelError e{
            PanelErrorKind::kDown, 0, state.last_error ? state.last_error->describe() : std::string("marked down"), {}};
        return tl::unexpected(e);
      }
    }
    if (!slots.acquire(opt.queue_timeout)) {
      return panel_fail(PanelErrorKind::kBusy, "too many calls to this panel at once");
    }
    struct Release {
      Slots& s;
      ~Release() { s.release(); }
    } release{slots};

    const int attempts = call.idempotent ? std::max(1, opt.attempts) : 1;
    bool relogged = false;
    std::optional<PanelError> last;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      if (attempt > 1) std::this_thread::sleep_for(opt.backoff * (1 << std::min(attempt - 2, 8)));
      auto t = current_token();
      if (!t) {
        last = t.error();
        if (!t.error().transient()) break;
        continue;
      }
      auto r = send_once(call, t->first);
      if (r && r->status == 401 && !relogged) {
        relogged = true;
        if (auto l = relogin(t->second); !l) {
          last = l.error();
          break;
        }
        --attempt;  // the re-login's repeat is not a retry
        continue;
      }
      if (!r) {
        last = r.error();
        continue;
      }
      if (r->status >= 500) {
        last = answer_error(*r);
        continue;
      }
      Outcome out{std::move(*r), attempt};
      if (out.response.status >= 400) {
        PanelError e = answer_error(out.response);
        record(e, call.health_probe);
      } else {
        record(std::nullopt, call.health_probe);
      }
      return out;
    }
    record(last, call.health_probe);
    return tl::unexpected(*last);
  }

  // exchange() + 2xx check + JSON parse.
  PanelResult<std::pair<json, int>> call_json(const Call& call) {
    auto out = exchange(call);
    if (!out) return tl::unexpected(out.error());
    if (out->response.status < 200 || out->response.status >= 300) {
      PanelError e = answer_error(out->response);
      // A delete repeated after a lost answer finds the account gone: that is the success.
      if (call.method == "DELETE" && out->attempts > 1 && e.kind == PanelErrorKind::kNotFound) {
        return std::pair{json::object(), out->attempts};
      }
      return tl::unexpected(e);
    }
    json body = json::parse(out->response.body, nullptr, false);
    if (body.is_discarded()) {
      PanelError e{PanelErrorKind::kBadResponse,
                   out->response.status,
                   "the address did not answer like a Marzban panel (not JSON)",
                   {}};
      record(e, call.health_probe);
      return tl::unexpected(e);
    }
    return std::pair{std::move(body), out->attempts};
  }

  PanelResult<Account> parse_account(const json& j) const { return marzban_json::account_from_json(j, base); }

  PanelResult<Account> account_call(const Call& call) {
    auto r = call_json(call);
    if (!r) return tl::unexpected(r.error());
    return parse_account(r->first);
  }

  static std::string user_path(const std::string& username) { return "/api/user/" + url_encode(username); }

  PanelResult<json> raw_user(const std::string& username) {
    Call call;
    call.path = user_path(username);
    call.idempotent = true;
    auto r = call_json(call);
    if (!r) return tl::unexpected(r.error());
    return std::move(r->first);
  }

  // ---- inbounds ---------------------------------------------------------------------------
  PanelResult<std::vector<InboundInfo>> read_inbounds() {
    Call call;
    call.path = "/api/inbounds";
    call.idempotent = true;
    auto r = call_json(call);
    if (!r) return tl::unexpected(r.error());
    if (!r->first.is_object()) return panel_fail(PanelErrorKind::kBadResponse, "inbounds are not an object");
    std::vector<InboundInfo> out;
    for (const auto& [p, list] : r->first.items()) {
      auto protocol = parse_protocol(p);
      if (!protocol || !list.is_array()) continue;
      for (const auto& i : list) {
        InboundInfo info;
        info.protocol = *protocol;
        info.tag = string_or(i, "tag");
        info.network = string_or(i, "network");
        info.tls = string_or(i, "tls");
        if (i.contains("port")) info.port = i["port"].is_string() ? i["port"].get<std::string>() : i["port"].dump();
        if (!info.tag.empty()) out.push_back(std::move(info));
      }
    }
    std::lock_guard lock(mu);
    inbound_cache = out;
    inbounds_read = clock.steady_now();
    return out;
  }

  PanelResult<std::vector<InboundInfo>> cached_inbounds() {
    {
      std::lock_guard lock(mu);
      if (inbounds_read != std::chrono::steady_clock::time_point{} &&
          clock.steady_now() - inbounds_read < opt.inbounds_ttl) {
        return inbound_cache;
      }
    }
    return read_inbounds();
  }

  void forget_inbounds() {
    std::lock_guard lock(mu);
    inbounds_read = {};
  }

  // The selection checked against the panel's inbounds: every protocol has one, every tag
  // exists and belongs to its protocol. Empty lists become every tag of the protocol.
  PanelResult<InboundSelection> resolve(const InboundSelection& wanted) {
    if (wanted.empty()) return panel_fail(PanelErrorKind::kValidation, "choose at least one protocol");
    auto have = cached_inbounds();
    if (!have) return tl::unexpected(have.error());
    InboundSelection out;
    for (const auto& [protocol, tags] : wanted) {
      std::vector<std::string> all;
      for (const auto& i : *have)
        if (i.protocol == protocol) all.push_back(i.tag);
      if (all.empty()) {
        return panel_fail(PanelErrorKind::kBadRequest,
                          "the panel has no inbound for " + std::string(to_string(protocol)) + " any more");
      }
      for (const auto& t : tags) {
        if (std::find(all.begin(), all.end(), t) == all.end()) {
          PanelError e{PanelErrorKind::kValidation,
                       0,
                       "inbounds: the panel has no " + std::string(to_string(protocol)) + " inbound '" + t + "'",
                       {{"inbounds", "no inbound " + t}}};
          return tl::unexpected(e);
        }
      }
      out[protocol] = tags.empty() ? all : tags;
    }
    return out;
  }

  static PanelResult<void> check_common(std::optional<std::int64_t> limit, std::optional<std::int64_t> expire,
                                        const std::optional<std::string>& note) {
    if (limit && *limit < 0) return panel_fail(PanelErrorKind::kValidation, "data_limit: cannot be negative");
    if (expire && *expire < 0) return panel_fail(PanelErrorKind::kValidation, "expire: cannot be negative");
    if (note && utf8_length(*note) > 500) {
      return panel_fail(PanelErrorKind::kValidation, "note: at most 500 characters");
    }
    return {};
  }
};

MarzbanPanel::MarzbanPanel(http::HttpClient& http, MarzbanOptions options)
    : impl_(std::make_unique<Impl>(http, std::move(options))) {}
MarzbanPanel::~MarzbanPanel() = default;

Result<std::string> MarzbanPanel::normalize_url(std::string_view url) {
  std::string u(url);
  while (!u.empty() && std::isspace(static_cast<unsigned char>(u.back()))) u.pop_back();
  while (!u.empty() && std::isspace(static_cast<unsigned char>(u.front()))) u.erase(0, 1);
  if (auto cut = u.find_first_of("#?"); cut != std::string::npos) u.erase(cut);
  auto origin = http::loggable_origin(u);
  if (!origin) return fail(ErrorCode::kInvalidArgument, "the panel URL must look like https://host:port");
  while (!u.empty() && u.back() == '/') u.pop_back();
  const std::string dashboard = "/dashboard";
  if (u.size() > dashboard.size() && u.compare(u.size() - dashboard.size(), dashboard.size(), dashboard) == 0) {
    u.erase(u.size() - dashboard.size());
  }
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

PanelResult<void> MarzbanPanel::login() {
  if (impl_->bad_url) return panel_fail(PanelErrorKind::kConnection, impl_->bad_url->message);
  std::lock_guard login_lock(impl_->login_mu);
  auto r = impl_->do_login();
  if (!r) impl_->record(r.error(), false);
  return r;
}

std::string MarzbanPanel::version() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.version;
}

PanelResult<Account> MarzbanPanel::create(const NewAccount& a) {
  if (!domain::is_valid_panel_username(a.username)) {
    PanelError e{PanelErrorKind::kValidation,
                 0,
                 "username: 3 to 32 of a-z, 0-9 and underscores in between",
                 {{"username", "invalid"}}};
    return tl::unexpected(e);
  }
  if (auto c = Impl::check_common(a.data_limit_bytes, a.expire_at, a.note); !c) return tl::unexpected(c.error());
  if (a.on_hold_seconds < 0) return panel_fail(PanelErrorKind::kValidation, "on_hold: cannot be negative");
  if (a.on_hold_seconds > 0 && a.expire_at > 0) {
    return panel_fail(PanelErrorKind::kValidation, "an on-hold account starts its period at first use: no expiry");
  }
  auto selection = impl_->resolve(a.inbounds);
  if (!selection) return tl::unexpected(selection.error());
  json proxies = json::object();
  json inbounds = json::object();
  for (const auto& [protocol, tags] : *selection) {
    proxies[std::string(to_string(protocol))] = json::object();
    inbounds[std::string(to_string(protocol))] = tags;
  }
  json body = {{"username", a.username},
               {"proxies", proxies},
               {"inbounds", inbounds},
               {"data_limit", a.data_limit_bytes},
               {"data_limit_reset_strategy", std::string(to_string(a.reset))},
               {"note", a.note}};
  if (a.on_hold_seconds > 0) {
    body["status"] = "on_hold";
    body["on_hold_expire_duration"] = a.on_hold_seconds;
  } else {
    body["status"] = "active";
    body["expire"] = a.expire_at;
  }
  Call call;
  call.method = "POST";
  call.path = "/api/user";
  call.body = body.dump();
  auto r = impl_->call_json(call);
  if (!r) {
    if (r.error().kind == PanelErrorKind::kBadRequest || r.error().fields.count("inbounds")) impl_->forget_inbounds();
    return tl::unexpected(r.error());
  }
  return impl_->parse_account(r->first);
}

PanelResult<Account> MarzbanPanel::get(const std::string& username) {
  auto j = impl_->raw_user(username);
  if (!j) return tl::unexpected(j.error());
  return impl_->parse_account(*j);
}

PanelResult<Account> MarzbanPanel::modify(const std::string& username, const AccountChanges& c) {
  if (auto v = Impl::check_common(c.data_limit_bytes, c.expire_at, c.note); !v) return tl::unexpected(v.error());
  json body = json::object();
  if (c.inbounds) {
    auto selection = impl_->resolve(*c.inbounds);
    if (!selection) return tl::unexpected(selection.error());
    auto current = impl_->raw_user(username);
    if (!current) return tl::unexpected(current.error());
    json proxies = json::object();
    json inbounds = json::object();
    for (const auto& [protocol, tags] : *selection) {
      std::string p(to_string(protocol));
      // Kept protocols keep their settings: {} would make Marzban issue new credentials.
      const json& old = (*current)["proxies"];
      proxies[p] = old.is_object() && old.contains(p) ? old[p] : json::object();
      inbounds[p] = tags;
    }
    body["proxies"] = proxies;
    body["inbounds"] = inbounds;
  }
  if (c.data_limit_bytes) body["data_limit"] = *c.data_limit_bytes;
  if (c.expire_at) body["expire"] = *c.expire_at;
  if (c.reset) body["data_limit_reset_strategy"] = std::string(to_string(*c.reset));
  if (c.note) body["note"] = *c.note;
  if (body.empty()) return get(username);
  Call call;
  call.method = "PUT";
  call.path = Impl::user_path(username);
  call.body = body.dump();
  call.idempotent = true;  // absolute values: repeating it changes nothing
  return impl_->account_call(call);
}

PanelResult<Account> MarzbanPanel::renew(const std::string& username, const Renewal& renewal) {
  auto current = get(username);
  if (!current) return tl::unexpected(current.error());
  auto plan = plan_renewal(*current, renewal, impl_->clock.unix_seconds());
  if (!plan) return tl::unexpected(plan.error());
  PanelResult<Account> out = *current;
  if (plan->changes.data_limit_bytes || plan->changes.expire_at) {
    out = modify(username, plan->changes);
    if (!out) return out;
  }
  if (plan->reset_usage) out = reset_usage(username);
  return out;
}

PanelResult<Account> MarzbanPanel::reset_usage(const std::string& username) {
  Call call;
  call.method = "POST";
  call.path = Impl::user_path(username) + "/reset";
  call.idempotent = true;  // sets usage to zero: the same after a repeat
  return impl_->account_call(call);
}

PanelResult<Account> MarzbanPanel::revoke_link(const std::string& username) {
  Call call;
  call.method = "POST";
  call.path = Impl::user_path(username) + "/revoke_sub";
  return impl_->account_call(call);
}

PanelResult<Account> MarzbanPanel::enable(const std::string& username) {
  Call call;
  call.method = "PUT";
  call.path = Impl::user_path(username);
  call.body = R"({"status":"active"})";
  call.idempotent = true;
  return impl_->account_call(call);
}

PanelResult<Account> MarzbanPanel::disable(const std::string& username) {
  Call call;
  call.method = "PUT";
  call.path = Impl::user_path(username);
  call.body = R"({"status":"disabled"})";
  call.idempotent = true;
  return impl_->account_call(call);
}

PanelResult<void> MarzbanPanel::remove(const std::string& username) {
  Call call;
  call.method = "DELETE";
  call.path = Impl::user_path(username);
  call.idempotent = true;
  auto r = impl_->call_json(call);
  if (!r) return tl::unexpected(r.error());
  return {};
}

PanelResult<AccountPage> MarzbanPanel::list(const ListQuery& q) {
  if (q.offset < 0 || q.limit < 1 || q.limit > 1000) {
    return panel_fail(PanelErrorKind::kValidation, "list: offset >= 0 and limit 1..1000");
  }
  Call call;
  call.path =
      "/api/users?offset=" + std::to_string(q.offset) + "&limit=" + std::to_string(q.limit) + "&sort=created_at";
  if (!q.search.empty()) call.path += "&search=" + url_encode(q.search);
  if (q.status) call.path += "&status=" + std::string(to_string(*q.status));
  call.idempotent = true;
  auto r = impl_->call_json(call);
  if (!r) return tl::unexpected(r.error());
  const json& j = r->first;
  if (!j.is_object() || !j.contains("users") || !j["users"].is_array()) {
    return panel_fail(PanelErrorKind::kBadResponse, "the users list has no 'users'");
  }
  AccountPage page;
  page.total = int_or(j, "total", static_cast<std::int64_t>(j["users"].size()));
  for (const auto& u : j["users"]) {
    auto a = impl_->parse_account(u);
    if (!a) return tl::unexpected(a.error());
    page.accounts.push_back(std::move(*a));
  }
  return page;
}

PanelResult<std::vector<InboundInfo>> MarzbanPanel::inbounds() { return impl_->read_inbounds(); }

PanelResult<SystemStats> MarzbanPanel::system() {
  Call call;
  call.path = "/api/system";
  call.idempotent = true;
  auto r = impl_->call_json(call);
  if (!r) return tl::unexpected(r.error());
  auto s = marzban_json::system_from_json(r->first);
  if (s) {
    std::lock_guard lock(impl_->mu);
    impl_->state.version = s->version;
  }
  return s;
}

PanelResult<SubscriptionInfo> MarzbanPanel::subscription(const std::string& username) {
  auto a = get(username);
  if (!a) return tl::unexpected(a.error());
  SubscriptionInfo s;
  s.url = a->subscription_url;
  s.links = a->links;
  s.status = a->status;
  s.used_bytes = a->used_bytes;
  s.data_limit_bytes = a->data_limit_bytes;
  s.expire_at = a->expire_at;
  return s;
}

PanelResult<SystemStats> MarzbanPanel::check_health() {
  Call call;
  call.path = "/api/system";
  call.idempotent = false;  // one honest try: the caller decides when to check again
  call.health_probe = true;
  auto r = impl_->call_json(call);
  if (!r) return tl::unexpected(r.error());
  auto s = marzban_json::system_from_json(r->first);
  if (!s) {
    impl_->record(s.error(), true);
    return s;
  }
  std::lock_guard lock(impl_->mu);
  impl_->state.version = s->version;
  return s;
}

HealthState MarzbanPanel::health() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state;
}

}  // namespace ms::panels
