#include "bots/shop/store.hpp"

namespace ms::shop {

namespace {

using storage::Row;
using storage::Session;
using storage::Value;

constexpr std::string_view kPersonColumns =
    "id, telegram_id, username, first_name, language, balance_minor, currency, referrer_id, banned, blocked_bot, "
    "campaign, trial_used_at, created_at";
constexpr std::string_view kPlanColumns =
    "id, name, description, panel_id, duration_days, traffic_bytes, price_minor, currency, inbounds, kind, active";
constexpr std::string_view kServiceColumns =
    "id, user_id, plan_id, panel_id, order_id, panel_username, status, subscription_url, traffic_limit_bytes, "
    "traffic_used_bytes, expires_at, auto_renew, created_at";
constexpr std::string_view kOrderColumns =
    "id, user_id, plan_id, service_id, kind, status, amount_minor, currency, discount_code_id, discount_minor, note";

Value opt(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }
Value opt(const std::optional<std::string>& v) { return v ? Value{*v} : Value{}; }

Currency currency_of(const Row& r, std::string_view column = "currency") {
  return currency_from_code(r.get_string(column)).value_or(Currency::kIrr);
}

Plan plan_from_row(const Row& r) {
  Plan p;
  p.id = r.get_int("id");
  p.name = r.get_string("name");
  p.description = r.get_string("description");
  p.panel_id = r.opt_int("panel_id");
  p.duration_days = r.get_int("duration_days");
  p.traffic_bytes = r.opt_int("traffic_bytes");
  p.price = Money{r.get_int("price_minor"), currency_of(r)};
  p.inbounds_json = r.get_string("inbounds");
  p.kind = r.get_string("kind");
  p.active = r.get_bool("active");
  return p;
}

ServiceRow service_from_row(const Row& r) {
  ServiceRow s;
  s.id = r.get_int("id");
  s.user_id = r.get_int("user_id");
  s.plan_id = r.opt_int("plan_id");
  s.panel_id = r.get_int("panel_id");
  s.order_id = r.opt_int("order_id");
  s.panel_username = r.get_string("panel_username");
  s.status = r.get_string("status");
  s.subscription_url = r.opt_string("subscription_url").value_or("");
  s.traffic_limit_bytes = r.opt_int("traffic_limit_bytes");
  s.traffic_used_bytes = r.get_int("traffic_used_bytes");
  s.expires_at = r.opt_int("expires_at");
  s.auto_renew = r.get_bool("auto_renew");
  s.created_at = r.get_int("created_at");
  return s;
}

OrderRow order_from_row(const Row& r) {
  OrderRow o;
  o.id = r.get_int("id");
  o.user_id = r.get_int("user_id");
  o.plan_id = r.opt_int("plan_id");
  o.service_id = r.opt_int("service_id");
  o.kind = r.get_string("kind");
  o.status = r.get_string("status");
  o.amount = Money{r.get_int("amount_minor"), currency_of(r)};
  o.discount_code_id = r.opt_int("discount_code_id");
  o.discount_minor = r.get_int("discount_minor");
  o.note = r.opt_string("note");
  return o;
}

template <class T, class F>
Result<std::optional<T>> one(storage::Database& db, std::string sql, storage::Params params, F map) {
  return db.with_session([&](Session& s) -> Result<std::optional<T>> {
    auto row = s.query_one(sql, params);
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<T>();
    return std::optional<T>(map(**row));
  });
}

template <class T, class F>
Result<std::vector<T>> many(storage::Database& db, std::string sql, storage::Params params, F map) {
  return db.with_session([&](Session& s) -> Result<std::vector<T>> {
    auto rows = s.query(sql, params);
    if (!rows) return fail(std::move(rows.error()));
    std::vector<T> out;
    out.reserve(rows->size());
    for (const auto& r : *rows) out.push_back(map(r));
    return out;
  });
}

Result<void> exec(storage::Database& db, std::string_view sql, const storage::Params& params) {
  return db.with_session([&](Session& s) -> Result<void> {
    auto r = s.exec(sql, params);
    if (!r) return fail(std::move(r.error()));
    return ok();
  });
}

}  // namespace

Person person_from_row(const Row& r) {
  Person p;
  p.id = r.get_int("id");
  p.telegram_id = r.get_int("telegram_id");
  p.username = r.opt_string("username").value_or("");
  p.first_name = r.get_string("first_name");
  p.lang = i18n::parse_lang(r.get_string("language")).value_or(i18n::Lang::kFa);
  p.balance = Money{r.get_int("balance_minor"), currency_of(r)};
  p.referrer_id = r.opt_int("referrer_id");
  p.banned = r.get_bool("banned");
  p.blocked_bot = r.get_bool("blocked_bot");
  p.campaign = r.opt_string("campaign");
  p.trial_used_at = r.opt_int("trial_used_at");
  p.created_at = r.get_int("created_at");
  return p;
}

Result<std::pair<Person, bool>> ShopStore::enter(const Visitor& v, std::optional<std::int64_t> referrer_telegram_id,
                                                 std::optional<std::string> campaign, Currency wallet_currency,
                                                 std::int64_t now) {
  const std::string select = "SELECT " + std::string(kPersonColumns) + " FROM users WHERE telegram_id = :tg";
  // Most updates come from a person the shop knows, whose names are what they were a moment
  // ago: that is one read and no write (a write per button press would make every press wait
  // for the database's one writer). last_seen_at is kept to the minute.
  constexpr std::int64_t kSeenEvery = 60;
  auto known = db_.with_session([&](Session& s) -> Result<std::optional<Person>> {
    auto row =
        s.query_one(select + " AND last_seen_at >= :since", {{"tg", v.telegram_id}, {"since", now - kSeenEvery}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<Person>();
    return std::optional<Person>(person_from_row(**row));
  });
  if (!known) return fail(std::move(known.error()));
  if (*known && (*known)->username == v.username && (*known)->first_name == v.first_name && !(*known)->blocked_bot)
    return std::pair{std::move(**known), false};
  return db_.transaction([&](Session& s) -> Result<std::pair<Person, bool>> {
    auto found = s.query_one(select, {{"tg", v.telegram_id}});
    if (!found) return fail(std::move(found.error()));
    if (*found) {
      Person p = person_from_row(**found);
      // Names change; keep what Telegram says now, and note the visit.
      auto r = s.exec(
          "UPDATE users SET username = :u, first_name = :f, blocked_bot = 0, last_seen_at = :now WHERE id = :id",
          {{"u", v.username.empty() ? Value{} : Value{v.username}}, {"f", v.first_name}, {"now", now}, {"id", p.id}});
      if (!r) return fail(std::move(r.error()));
      p.username = v.username;
      p.first_name = v.first_name;
      p.blocked_bot = false;
      return std::pair{std::move(p), false};
    }
    std::optional<std::int64_t> referrer;
    if (referrer_telegram_id && *referrer_telegram_id != v.telegram_id) {
      auto ref = s.query_one("SELECT id FROM users WHERE telegram_id = :tg", {{"tg", *referrer_telegram_id}});
      if (!ref) return fail(std::move(ref.error()));
      if (*ref) referrer = (*ref)->get_int("id");
    }
    const bool english = v.language_code.rfind("en", 0) == 0;
    auto row = s.query_one(
        "INSERT INTO users (telegram_id, username, first_name, language, currency, referrer_id, campaign, created_at, "
        "updated_at, last_seen_at) VALUES (:tg, :u, :f, :lang, :cur, :ref, :camp, :now, :now, :now) RETURNING " +
            std::string(kPersonColumns),
        {{"tg", v.telegram_id},
         {"u", v.username.empty() ? Value{} : Value{v.username}},
         {"f", v.first_name},
         {"lang", std::string(english ? "en" : "fa")},
         {"cur", std::string(currency_code(wallet_currency))},
         {"ref", opt(referrer)},
         {"camp", opt(campaign)},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kInternal, "INSERT ... RETURNING returned no row");
    Person p = person_from_row(**row);
    if (referrer) {
      auto r =
          s.exec("INSERT INTO referrals (referrer_id, referred_id, currency, created_at) VALUES (:a, :b, :cur, :now)",
                 {{"a", *referrer}, {"b", p.id}, {"cur", std::string(currency_code(wallet_currency))}, {"now", now}});
      if (!r) return fail(std::move(r.error()));
    }
    return std::pair{std::move(p), true};
  });
}

Result<std::optional<Person>> ShopStore::person_by_telegram(std::int64_t telegram_id) {
  return one<Person>(db_, "SELECT " + std::string(kPersonColumns) + " FROM users WHERE telegram_id = :tg",
                     {{"tg", telegram_id}}, person_from_row);
}

Result<std::optional<Person>> ShopStore::person(std::int64_t id) {
  return one<Person>(db_, "SELECT " + std::string(kPersonColumns) + " FROM users WHERE id = :id", {{"id", id}},
                     person_from_row);
}

Result<std::optional<Person>> ShopStore::person_by_username(std::string_view username) {
  if (!username.empty() && username.front() == '@') username.remove_prefix(1);
  return one<Person>(db_, "SELECT " + std::string(kPersonColumns) + " FROM users WHERE lower(username) = lower(:u)",
                     {{"u", std::string(username)}}, person_from_row);
}

Result<void> ShopStore::set_language(std::int64_t user_id, i18n::Lang lang, std::int64_t now) {
  return exec(db_, "UPDATE users SET language = :lang, updated_at = :now WHERE id = :id",
              {{"lang", std::string(i18n::to_string(lang))}, {"now", now}, {"id", user_id}});
}

Result<void> ShopStore::set_banned(std::int64_t user_id, bool banned, std::int64_t now) {
  return exec(db_, "UPDATE users SET banned = :b, updated_at = :now WHERE id = :id",
              {{"b", std::int64_t{banned ? 1 : 0}}, {"now", now}, {"id", user_id}});
}

Result<void> ShopStore::set_blocked_by_telegram(std::int64_t telegram_id, bool blocked, std::int64_t now) {
  return exec(db_, "UPDATE users SET blocked_bot = :b, updated_at = :now WHERE telegram_id = :tg",
              {{"b", std::int64_t{blocked ? 1 : 0}}, {"now", now}, {"tg", telegram_id}});
}

Result<void> ShopStore::take_trial(std::int64_t user_id, std::int64_t now) {
  return db_.with_session([&](Session& s) -> Result<void> {
    auto n = s.exec("UPDATE users SET trial_used_at = :now WHERE id = :id AND trial_used_at IS NULL",
                    {{"now", now}, {"id", user_id}});
    if (!n) return fail(std::move(n.error()));
    if (*n == 0) return fail(ErrorCode::kConflict, "the free trial was already taken");
    return ok();
  });
}

Result<std::vector<Location>> ShopStore::locations() {
  return many<Location>(
      db_,
      "SELECT p.id, p.name FROM panels p WHERE p.enabled = 1 AND p.healthy = 1 AND EXISTS (SELECT 1 FROM plans "
      "WHERE plans.panel_id = p.id AND plans.active = 1 AND plans.kind = 'service') ORDER BY p.id",
      {}, [](const Row& r) {
        return Location{r.get_int("id"), r.get_string("name")};
      });
}

Result<std::vector<Plan>> ShopStore::plans(std::optional<std::int64_t> panel_id, std::string_view kind) {
  std::string sql = "SELECT " + std::string(kPlanColumns) + " FROM plans WHERE active = 1 AND kind = :kind";
  storage::Params params{{"kind", std::string(kind)}};
  if (panel_id) {
    sql += " AND panel_id = :panel";
    params.push_back({"panel", *panel_id});
  }
  sql += " ORDER BY sort_order, id";
  return many<Plan>(db_, sql, params, plan_from_row);
}

Result<std::optional<Plan>> ShopStore::plan(std::int64_t id) {
  return one<Plan>(db_, "SELECT " + std::string(kPlanColumns) + " FROM plans WHERE id = :id", {{"id", id}},
                   plan_from_row);
}

Result<std::int64_t> ShopStore::create_order(const OrderRow& o, std::int64_t now) {
  return db_.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO orders (user_id, plan_id, service_id, kind, status, amount_minor, currency, note, created_at, "
        "updated_at) VALUES (:user, :plan, :service, :kind, :status, :amount, :cur, :note, :now, :now) RETURNING id",
        {{"user", o.user_id},
         {"plan", opt(o.plan_id)},
         {"service", opt(o.service_id)},
         {"kind", o.kind},
         {"status", o.status.empty() ? std::string("pending") : o.status},
         {"amount", o.amount.minor},
         {"cur", std::string(currency_code(o.amount.currency))},
         {"note", opt(o.note)},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kInternal, "INSERT ... RETURNING returned no row");
    return (*row)->get_int("id");
  });
}

Result<std::optional<OrderRow>> ShopStore::order(std::int64_t id) {
  return one<OrderRow>(db_, "SELECT " + std::string(kOrderColumns) + " FROM orders WHERE id = :id", {{"id", id}},
                       order_from_row);
}

Result<bool> ShopStore::move_order(std::int64_t id, std::string_view from, std::string_view to, std::int64_t now) {
  return db_.with_session([&](Session& s) -> Result<bool> {
    auto n = s.exec("UPDATE orders SET status = :to, updated_at = :now WHERE id = :id AND status = :from",
                    {{"to", std::string(to)}, {"now", now}, {"id", id}, {"from", std::string(from)}});
    if (!n) return fail(std::move(n.error()));
    return *n == 1;
  });
}

Result<std::vector<std::int64_t>> ShopStore::undelivered_orders(int limit) {
  return many<std::int64_t>(db_,
                            "SELECT id FROM orders WHERE status IN ('paid', 'provisioning') ORDER BY id LIMIT :limit",
                            {{"limit", std::int64_t{limit}}}, [](const Row& r) { return r.get_int("id"); });
}

Result<std::vector<ServiceRow>> ShopStore::services_of(std::int64_t user_id) {
  return many<ServiceRow>(db_,
                          "SELECT " + std::string(kServiceColumns) +
                              " FROM services WHERE user_id = :user AND status <> 'deleted' AND status <> 'reserved' "
                              "ORDER BY id DESC LIMIT 50",
                          {{"user", user_id}}, service_from_row);
}

Result<std::optional<ServiceRow>> ShopStore::service(std::int64_t id) {
  return one<ServiceRow>(db_, "SELECT " + std::string(kServiceColumns) + " FROM services WHERE id = :id", {{"id", id}},
                         service_from_row);
}

Result<std::optional<ServiceRow>> ShopStore::service_of_order(std::int64_t order_id) {
  return one<ServiceRow>(db_, "SELECT " + std::string(kServiceColumns) + " FROM services WHERE order_id = :id",
                         {{"id", order_id}}, service_from_row);
}

Result<void> ShopStore::update_service(std::int64_t id, std::optional<std::int64_t> limit_bytes,
                                       std::int64_t used_bytes, std::optional<std::int64_t> expires_at,
                                       const std::string& status, const std::string& subscription_url,
                                       std::int64_t now) {
  return exec(db_,
              "UPDATE services SET traffic_limit_bytes = :limit, traffic_used_bytes = :used, expires_at = :exp, "
              "status = :status, subscription_url = :url, updated_at = :now WHERE id = :id",
              {{"limit", opt(limit_bytes)},
               {"used", used_bytes},
               {"exp", opt(expires_at)},
               {"status", status},
               {"url", subscription_url},
               {"now", now},
               {"id", id}});
}

Result<void> ShopStore::set_auto_renew(std::int64_t service_id, bool on, std::int64_t now) {
  return exec(db_, "UPDATE services SET auto_renew = :on, updated_at = :now WHERE id = :id",
              {{"on", std::int64_t{on ? 1 : 0}}, {"now", now}, {"id", service_id}});
}

Result<ReferralSummary> ShopStore::referral_summary(std::int64_t user_id) {
  return db_.with_session([&](Session& s) -> Result<ReferralSummary> {
    auto row = s.query_one(
        "SELECT count(*) AS people, coalesce(sum(reward_minor), 0) AS earned FROM referrals WHERE referrer_id = :id",
        {{"id", user_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return ReferralSummary{};
    return ReferralSummary{(*row)->get_int("people"), (*row)->get_int("earned")};
  });
}

}  // namespace ms::shop
