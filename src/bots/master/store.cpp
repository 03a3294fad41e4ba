#include "bots/master/store.hpp"

#include "storage/package_repository.hpp"

namespace ms::master {

using storage::Row;
using storage::Session;

namespace {

CustomerRow customer_of(const Row& r) {
  CustomerRow c;
  c.id = r.get_int("id");
  c.telegram_id = r.opt_int("telegram_id").value_or(0);
  c.name = r.get_string("name");
  c.lang = i18n::parse_lang(r.get_string("language")).value_or(i18n::Lang::kFa);
  c.balance = Money{r.get_int("balance_minor"), currency_from_code(r.get_string("currency")).value_or(Currency::kIrr)};
  c.tenant_id = r.opt_int("tenant_id");
  c.status = r.get_string("status");
  return c;
}

constexpr std::string_view kCustomer =
    "SELECT id, telegram_id, name, language, balance_minor, currency, tenant_id, status FROM customers ";

ProgressRow progress_of(const Row& r) {
  ProgressRow p;
  p.instance_id = r.get_int("instance_id");
  p.chat_id = r.get_int("chat_id");
  p.message_id = r.get_int("message_id");
  p.lang = i18n::parse_lang(r.get_string("lang")).value_or(i18n::Lang::kFa);
  p.steps = nlohmann::json::parse(r.get_string("steps"), nullptr, false);
  if (!p.steps.is_object()) p.steps = nlohmann::json::object();
  p.panel_enc = r.opt_string("panel_enc");
  p.bot_username = r.get_string("bot_username");
  p.finished = r.get_bool("finished");
  return p;
}

constexpr std::string_view kProgress =
    "SELECT instance_id, chat_id, message_id, lang, steps, panel_enc, bot_username, finished FROM master_bot_progress ";

}  // namespace

Result<std::pair<CustomerRow, bool>> MasterStore::enter(std::int64_t telegram_id, const std::string& name,
                                                        i18n::Lang lang, std::int64_t now) {
  return db_.transaction([&](Session& s) -> Result<std::pair<CustomerRow, bool>> {
    auto found = s.query_one(std::string(kCustomer) + "WHERE telegram_id = :tg", {{"tg", telegram_id}});
    if (!found) return fail(std::move(found.error()));
    if (*found) return std::pair{customer_of(**found), false};
    auto made = s.query_one(
        "INSERT INTO customers (telegram_id, name, language, created_at, updated_at) VALUES (:tg, :name, :lang, :now, "
        ":now) RETURNING id, telegram_id, name, language, balance_minor, currency, tenant_id, status",
        {{"tg", telegram_id},
         {"name", name.substr(0, 200)},
         {"lang", std::string(i18n::to_string(lang))},
         {"now", now}});
    if (!made) return fail(std::move(made.error()));
    return std::pair{customer_of(**made), true};
  });
}

Result<std::optional<CustomerRow>> MasterStore::customer_by_telegram(std::int64_t telegram_id) {
  return db_.with_session([&](Session& s) -> Result<std::optional<CustomerRow>> {
    auto row = s.query_one(std::string(kCustomer) + "WHERE telegram_id = :tg", {{"tg", telegram_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(customer_of(**row));
  });
}

Result<std::optional<CustomerRow>> MasterStore::customer(std::int64_t id) {
  return db_.with_session([&](Session& s) -> Result<std::optional<CustomerRow>> {
    auto row = s.query_one(std::string(kCustomer) + "WHERE id = :id", {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(customer_of(**row));
  });
}

Result<void> MasterStore::set_language(std::int64_t customer_id, i18n::Lang lang, std::int64_t now) {
  auto n = db_.with_session([&](Session& s) {
    return s.exec("UPDATE customers SET language = :lang, updated_at = :now WHERE id = :id",
                  {{"lang", std::string(i18n::to_string(lang))}, {"now", now}, {"id", customer_id}});
  });
  if (!n) return fail(std::move(n.error()));
  return ok();
}

Result<std::vector<PackageRow>> MasterStore::packages_on_sale() {
  auto rows = db_.with_session(
      [](Session& s) { return s.query("SELECT id, code FROM packages WHERE active = 1 ORDER BY sort_order, id"); });
  if (!rows) return fail(std::move(rows.error()));
  auto all = storage::PackageRepository(db_).list();
  if (!all) return fail(std::move(all.error()));
  std::vector<PackageRow> out;
  for (const auto& r : *rows) {
    for (const auto& p : *all) {
      if (p.code == r.get_string("code")) out.push_back({r.get_int("id"), p});
    }
  }
  return out;
}

Result<std::optional<PackageRow>> MasterStore::package(std::int64_t id) {
  auto code = db_.with_session([&](Session& s) -> Result<std::optional<std::string>> {
    auto row = s.query_one("SELECT code FROM packages WHERE id = :id", {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>((*row)->get_string("code"));
  });
  if (!code) return fail(std::move(code.error()));
  if (!*code) return std::optional<PackageRow>();
  auto p = storage::PackageRepository(db_).get(**code);
  if (!p) return fail(std::move(p.error()));
  if (!*p) return std::optional<PackageRow>();
  return std::optional<PackageRow>(PackageRow{id, std::move(**p)});
}

Result<std::int64_t> MasterStore::create_order(std::int64_t customer_id, const PackageRow& package,
                                               domain::BillingCycle cycle, const std::string& kind, std::int64_t now) {
  const Money price = domain::price_for(package.package, cycle);
  return db_.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO package_orders (customer_id, package_id, billing_period, kind, status, amount_minor, currency, "
        "created_at, updated_at) VALUES (:c, :p, :cycle, :kind, 'pending', :amount, :cur, :now, :now) RETURNING id",
        {{"c", customer_id},
         {"p", package.id},
         {"cycle", std::string(domain::to_string(cycle))},
         {"kind", kind},
         {"amount", price.minor},
         {"cur", std::string(currency_code(price.currency))},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_int("id");
  });
}

Result<std::optional<PackageOrderRow>> MasterStore::order(std::int64_t id) {
  return db_.with_session([&](Session& s) -> Result<std::optional<PackageOrderRow>> {
    auto row = s.query_one(
        "SELECT id, customer_id, package_id, billing_period, kind, status, amount_minor, currency FROM package_orders "
        "WHERE id = :id",
        {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<PackageOrderRow>();
    const auto& r = **row;
    PackageOrderRow o;
    o.id = r.get_int("id");
    o.customer_id = r.get_int("customer_id");
    o.package_id = r.get_int("package_id");
    o.cycle = r.get_string("billing_period");
    o.kind = r.get_string("kind");
    o.status = r.get_string("status");
    o.amount = Money{r.get_int("amount_minor"), currency_from_code(r.get_string("currency")).value_or(Currency::kUsd)};
    return std::optional<PackageOrderRow>(std::move(o));
  });
}

Result<void> MasterStore::save_progress(const ProgressRow& p, std::int64_t now) {
  auto n = db_.with_session([&](Session& s) {
    return s.exec(
        "INSERT INTO master_bot_progress (instance_id, chat_id, message_id, lang, steps, panel_enc, bot_username, "
        "finished, created_at, updated_at) VALUES (:i, :c, :m, :lang, :steps, :panel, :u, :f, :now, :now) "
        "ON CONFLICT (instance_id) DO UPDATE SET chat_id = excluded.chat_id, message_id = excluded.message_id, "
        "lang = excluded.lang, steps = excluded.steps, panel_enc = excluded.panel_enc, bot_username = "
        "excluded.bot_username, finished = excluded.finished, updated_at = excluded.updated_at",
        {{"i", p.instance_id},
         {"c", p.chat_id},
         {"m", p.message_id},
         {"lang", std::string(i18n::to_string(p.lang))},
         {"steps", p.steps.dump()},
         {"panel", p.panel_enc ? storage::Value{*p.panel_enc} : storage::Value{}},
         {"u", p.bot_username},
         {"f", std::int64_t{p.finished ? 1 : 0}},
         {"now", now}});
  });
  if (!n) return fail(std::move(n.error()));
  return ok();
}

Result<std::optional<ProgressRow>> MasterStore::progress(std::int64_t instance_id) {
  return db_.with_session([&](Session& s) -> Result<std::optional<ProgressRow>> {
    auto row = s.query_one(std::string(kProgress) + "WHERE instance_id = :i", {{"i", instance_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<ProgressRow>();
    return std::optional<ProgressRow>(progress_of(**row));
  });
}

Result<std::vector<ProgressRow>> MasterStore::unfinished_progress() {
  return db_.with_session([&](Session& s) -> Result<std::vector<ProgressRow>> {
    auto rows = s.query(std::string(kProgress) + "WHERE finished = 0 ORDER BY instance_id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<ProgressRow> out;
    for (const auto& r : *rows) out.push_back(progress_of(r));
    return out;
  });
}

}  // namespace ms::master
