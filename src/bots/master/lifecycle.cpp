#include "bots/master/lifecycle.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <spdlog/spdlog.h>

#include "deploy/deploy.hpp"
#include "bots/master/desk_common.hpp"
#include "storage/package_repository.hpp"

namespace ms::master {

namespace {

using domain::SubscriptionState;
using S = domain::SubscriptionState;

constexpr std::string_view kColumns =
    "SELECT s.id, s.customer_id, s.package_id, p.code, p.name_en, p.name_fa, s.state, s.cycle, s.period_start, "
    "s.period_end, s.cancelled_at, s.created_at, s.updated_at, c.telegram_id, c.tenant_id FROM subscriptions s "
    "JOIN packages p ON p.id = s.package_id JOIN customers c ON c.id = s.customer_id ";

// The moment the data of a suspended or cancelled subscription is erased.
std::int64_t erase_at(const domain::Subscription& sub) {
  if (sub.state == S::kCancelled) {
    return std::max(sub.period_end, sub.cancelled_at.value_or(sub.period_end)) + domain::kRetentionSeconds;
  }
  return sub.period_end + domain::kGraceSeconds + domain::kRetentionSeconds;
}

// Telegram errors that another try will not fix: the customer blocked the bot, or is gone.
bool final_send_error(const Error& e) {
  return e.code == ErrorCode::kPermissionDenied || e.code == ErrorCode::kNotFound ||
         e.code == ErrorCode::kInvalidArgument;
}

std::string limit_key(domain::LimitKind kind) { return "master.lifecycle.excess." + std::string(to_string(kind)); }

}  // namespace

std::string_view to_string(NoticeKind kind) {
  static constexpr std::array<std::string_view, 8> kNames = {"end_7d",    "end_3d",   "end_1d",   "grace",
                                                             "suspended", "erase_7d", "erase_1d", "erased"};
  return kNames[static_cast<std::size_t>(kind)];
}

std::string describe_excess(const domain::Package& package, const std::vector<Excess>& excess, i18n::Lang lang) {
  const std::string name = lang == i18n::Lang::kFa ? package.name_fa : package.name_en;
  std::string text = desk::t(lang, "master.lifecycle.does_not_fit", {{"package", name}});
  for (const auto& e : excess) {
    text += "\n" + desk::t(lang, limit_key(e.kind),
                           {{"package", name},
                            {"limit", desk::number(e.limit, lang)},
                            {"current", desk::number(e.current, lang)},
                            {"excess", desk::number(e.current - e.limit, lang)}});
  }
  return text;
}

struct SubscriptionLifecycle::Row {
  domain::Subscription sub;
  std::int64_t package_id = 0;
  std::string package_en, package_fa;
  std::optional<std::int64_t> telegram_id;
  std::optional<std::int64_t> tenant_id;

  static Row from(const storage::Row& r) {
    Row row;
    row.sub.id = r.get_int("id");
    row.sub.customer_id = r.get_int("customer_id");
    row.sub.package_code = r.get_string("code");
    row.sub.state = domain::parse<S>(r.get_string("state")).value_or(S::kActive);
    row.sub.cycle = domain::parse<domain::BillingCycle>(r.get_string("cycle")).value_or(domain::BillingCycle::kMonthly);
    row.sub.period_start = r.get_int("period_start");
    row.sub.period_end = r.get_int("period_end");
    row.sub.cancelled_at = r.opt_int("cancelled_at");
    row.sub.created_at = r.get_int("created_at");
    row.sub.updated_at = r.get_int("updated_at");
    row.package_id = r.get_int("package_id");
    row.package_en = r.get_string("name_en");
    row.package_fa = r.get_string("name_fa");
    row.telegram_id = r.opt_int("telegram_id");
    row.tenant_id = r.opt_int("tenant_id");
    return row;
  }
};

Result<int> SubscriptionLifecycle::tick(std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto rows = ctx_.db->with_session([](storage::Session& s) {
    // A customer's newest subscription is their subscription; older rows are history and
    // must never suspend or erase what a newer one pays for.
    return s.query(std::string(kColumns) +
                   "WHERE s.state <> 'erased' AND s.id = (SELECT max(n.id) FROM subscriptions n WHERE n.customer_id = "
                   "s.customer_id) ORDER BY s.id");
  });
  if (!rows) return fail(std::move(rows.error()));
  // Whose bots are suspended, and whose still serve: what the subscriptions say is done to
  // the bots after the state moved, so a crash or a failure between the two is put right here.
  auto bot_states = ctx_.db->with_session([](storage::Session& s) {
    return s.query(
        "SELECT DISTINCT customer_id, status FROM bot_instances WHERE deleted_at IS NULL AND status NOT IN "
        "('deleting', 'deleted')");
  });
  if (!bot_states) return fail(std::move(bot_states.error()));
  std::set<std::int64_t> with_suspended, with_live;
  for (const auto& r : *bot_states) {
    (r.get_string("status") == "suspended" ? with_suspended : with_live).insert(r.get_int("customer_id"));
  }
  int did = 0;
  for (const auto& r : *rows) {
    Row row = Row::from(r);
    auto n = process(row, now);
    if (!n) {
      spdlog::warn("lifecycle: subscription {}: {} (tried again next tick)", row.sub.id, n.error().to_string());
      continue;
    }
    did += *n;
    const auto c = row.sub.customer_id;
    Result<void> fixed = ok();
    if (row.sub.state == S::kSuspended) {
      if (with_live.count(c)) fixed = suspend_bots(c);
    } else if (row.sub.state != S::kCancelled && with_suspended.count(c)) {
      fixed = resume_bots(c);  // paid (trial, active, grace): nothing of theirs stays paused
    }
    if (!fixed) spdlog::warn("lifecycle: customer {}'s bots: {} (tried again next tick)", c, fixed.error().to_string());
  }
  // Erasures a crash interrupted: the state moved, the tenant's files are still there.
  auto pending = ctx_.db->with_session([](storage::Session& s) {
    return s.query(std::string(kColumns) +
                   "WHERE s.state = 'erased' AND s.erased_tenant_id IS NOT NULL AND EXISTS (SELECT 1 FROM tenants t "
                   "WHERE t.id = s.erased_tenant_id) ORDER BY s.id");
  });
  if (!pending) return fail(std::move(pending.error()));
  for (const auto& r : *pending) {
    Row row = Row::from(r);
    if (auto e = erase_customer(row); !e)
      spdlog::warn("lifecycle: erasing subscription {}: {}", row.sub.id, e.error().to_string());
  }
  return did;
}

Result<int> SubscriptionLifecycle::process(Row& row, std::int64_t now) {
  int did = 0;
  auto& sub = row.sub;
  const auto lang = desk::lang_of(ctx_, row.telegram_id.value_or(0));
  auto args = [&] {
    return i18n::Args{{"package", lang == i18n::Lang::kFa ? row.package_fa : row.package_en},
                      {"date", desk::date(sub.period_end, lang)},
                      {"until", desk::date(sub.period_end + domain::kGraceSeconds, lang)},
                      {"erase_date", desk::date(erase_at(sub), lang)}};
  };
  // The timed edges, one at a time (at most: active -> grace -> suspended -> erased).
  for (int step = 0; step < 4; ++step) {
    const S due = domain::due_state(sub, now);
    if (due == sub.state) break;
    // The state moves first, on the condition that nobody renewed meanwhile; only then are
    // bots suspended or data erased (a failure there is retried by the next tick).
    auto moved = move(row, due, now);
    if (!moved) return fail(std::move(moved.error()));
    if (!*moved) return did;  // renewed meanwhile: the next tick sees the new period
    ++did;
    if (due == S::kSuspended) {
      if (auto s = suspend_bots(sub.customer_id); !s)
        spdlog::warn("lifecycle: suspending customer {}'s bots: {}", sub.customer_id, s.error().to_string());
    } else if (due == S::kErased) {
      if (auto e = erase_customer(row); !e)
        spdlog::warn("lifecycle: erasing customer {}: {}", sub.customer_id, e.error().to_string());
    }
    spdlog::info("lifecycle: subscription {} of customer {} is now {}", sub.id, sub.customer_id, to_string(due));
    const NoticeKind kind = due == S::kGrace       ? NoticeKind::kGrace
                            : due == S::kSuspended ? NoticeKind::kSuspended
                                                   : NoticeKind::kErased;
    if (due == S::kGrace || due == S::kSuspended || due == S::kErased) {
      auto told = notify(row, kind, now, "master.lifecycle." + std::string(to_string(kind)), args());
      if (!told) return fail(std::move(told.error()));
      did += *told;
    }
  }
  // Reminders: the nearest of 7, 3, 1 days before the end (of the period, or of the data).
  std::int64_t left = 0;
  std::vector<std::pair<int, NoticeKind>> windows;
  if (sub.state == S::kTrial || sub.state == S::kActive) {
    left = sub.period_end - now;
    windows = {{1, NoticeKind::kEnd1d}, {3, NoticeKind::kEnd3d}, {7, NoticeKind::kEnd7d}};
  } else if (sub.state == S::kSuspended || sub.state == S::kCancelled) {
    left = erase_at(sub) - now;
    windows = {{1, NoticeKind::kErase1d}, {7, NoticeKind::kErase7d}};
  }
  if (left <= 0) return did;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (left > windows[i].first * domain::kDaySeconds) continue;
    // Missed wider windows are recorded as done: a 7-day reminder after the 3-day one is noise.
    std::vector<NoticeKind> wider;
    for (std::size_t j = i + 1; j < windows.size(); ++j) wider.push_back(windows[j].second);
    auto a = args();
    a["days"] = desk::number((left + domain::kDaySeconds - 1) / domain::kDaySeconds, lang);
    auto told =
        notify(row, windows[i].second, now, "master.lifecycle." + std::string(to_string(windows[i].second)), a, wider);
    if (!told) return fail(std::move(told.error()));
    did += *told;
    break;
  }
  return did;
}

Result<bool> SubscriptionLifecycle::move(Row& row, S to, std::int64_t now) {
  domain::Subscription next = row.sub;
  if (auto t = domain::transition(next, to, now); !t) return fail(std::move(t.error()));
  auto n = ctx_.db->transaction([&](storage::Session& s) -> Result<std::int64_t> {
    auto moved = s.exec(
        "UPDATE subscriptions SET state = :to, cancelled_at = :cancelled, updated_at = :now, erased_tenant_id = "
        "CASE WHEN :to = 'erased' THEN (SELECT tenant_id FROM customers WHERE id = :c) ELSE erased_tenant_id END "
        "WHERE id = :id AND state = :from AND period_end = :end",
        {{"to", std::string(to_string(to))},
         {"cancelled", next.cancelled_at ? storage::Value{*next.cancelled_at} : storage::Value{}},
         {"now", now},
         {"c", row.sub.customer_id},
         {"id", row.sub.id},
         {"from", std::string(to_string(row.sub.state))},
         {"end", row.sub.period_end}});
    if (!moved || *moved == 0 || to != S::kErased) return moved;
    // A payment from now on makes the customer a new tenant; this one is only erased.
    auto unlinked = s.exec("UPDATE customers SET tenant_id = NULL WHERE id = :c", {{"c", row.sub.customer_id}});
    if (!unlinked) return fail(std::move(unlinked.error()));
    return moved;
  });
  if (!n) return fail(std::move(n.error()));
  if (*n == 0) return false;
  row.sub = next;
  return true;
}

Result<bool> SubscriptionLifecycle::notify(const Row& row, NoticeKind kind, std::int64_t now,
                                           const std::string& text_key, const i18n::Args& args,
                                           const std::vector<NoticeKind>& also) {
  auto claim = [&](NoticeKind k) {
    return ctx_.db->with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO subscription_notices (subscription_id, kind, period_end, sent_at) VALUES (:s, :k, :end, :now)",
          {{"s", row.sub.id}, {"k", std::string(to_string(k))}, {"end", row.sub.period_end}, {"now", now}});
    });
  };
  auto claimed = claim(kind);
  if (!claimed) {
    if (claimed.error().code == ErrorCode::kAlreadyExists) return false;  // sent before
    return fail(std::move(claimed.error()));
  }
  for (NoticeKind k : also) {
    if (auto c = claim(k); !c && c.error().code != ErrorCode::kAlreadyExists) return fail(std::move(c.error()));
  }
  if (!row.telegram_id) return false;  // a customer of the web panel only: nobody to tell here
  if (!ctx_.send) {
    spdlog::warn("lifecycle: no sender; notice {} of subscription {} not sent", to_string(kind), row.sub.id);
    return false;
  }
  const auto lang = desk::lang_of(ctx_, *row.telegram_id);
  auto sent = ctx_.send(*row.telegram_id, desk::t(lang, text_key, args), std::nullopt);
  if (sent) return true;
  if (final_send_error(sent.error())) {
    spdlog::info("lifecycle: notice {} to customer {} not deliverable: {}", to_string(kind), row.sub.customer_id,
                 sent.error().to_string());
    return false;
  }
  // Worth another try: forget the claim so the next tick sends it.
  (void)ctx_.db->with_session([&](storage::Session& s) {
    return s.exec("DELETE FROM subscription_notices WHERE subscription_id = :s AND kind = :k AND period_end = :end",
                  {{"s", row.sub.id}, {"k", std::string(to_string(kind))}, {"end", row.sub.period_end}});
  });
  return fail(std::move(sent.error()));
}

Result<void> SubscriptionLifecycle::suspend_bots(std::int64_t customer_id) {
  if (!ctx_.deployments) return fail(ErrorCode::kUnavailable, "no deployments to suspend bots with");
  auto bots = ctx_.deployments->list(customer_id);
  if (!bots) return fail(std::move(bots.error()));
  Result<void> out = ok();
  for (const auto& b : *bots) {
    // Every live bot, also one still being set up: Deployments::suspend() supersedes its
    // deployment, so it never comes up selling unpaid. (Deleting and deleted ones: nothing to do.)
    if (!domain::can_transition(b.state, domain::BotState::kSuspended)) continue;
    if (auto s = ctx_.deployments->suspend(b.instance_id); !s && out) out = fail(std::move(s.error()));
  }
  return out;
}

Result<void> SubscriptionLifecycle::resume_bots(std::int64_t customer_id) {
  if (!ctx_.deployments) return ok();
  auto bots = ctx_.deployments->list(customer_id);
  if (!bots) return fail(std::move(bots.error()));
  Result<void> out = ok();
  for (const auto& b : *bots) {
    if (b.state != domain::BotState::kSuspended) continue;
    if (auto r = ctx_.deployments->resume(b.instance_id); !r && out) out = fail(std::move(r.error()));
  }
  return out;
}

Result<void> SubscriptionLifecycle::erase_customer(const Row& row) {
  if (!ctx_.deployments) return fail(ErrorCode::kUnavailable, "no deployments to remove bots with");
  // What the move to 'erased' recorded, and whether this is still the customer's newest
  // subscription (a customer who paid again since keeps the bots of the new one).
  auto what = ctx_.db->with_session([&](storage::Session& s) {
    return s.query_one(
        "SELECT s.erased_tenant_id, (SELECT max(n.id) FROM subscriptions n WHERE n.customer_id = s.customer_id) AS "
        "newest FROM subscriptions s WHERE s.id = :id",
        {{"id", row.sub.id}});
  });
  if (!what) return fail(std::move(what.error()));
  if (!*what) return ok();
  if ((*what)->get_int("newest") == row.sub.id) {
    auto bots = ctx_.deployments->list(row.sub.customer_id);
    if (!bots) return fail(std::move(bots.error()));
    for (const auto& b : *bots) {
      if (b.state == domain::BotState::kDeleted) continue;
      if (auto r = ctx_.deployments->remove(b.instance_id); !r) return fail(std::move(r.error()));
    }
  }
  if (auto tenant = (*what)->opt_int("erased_tenant_id")) {
    auto erased = storage_.erase_tenant(*tenant);
    if (!erased && erased.error().code != ErrorCode::kNotFound) return fail(std::move(erased.error()));
    spdlog::info("lifecycle: tenant {} of customer {} erased", *tenant, row.sub.customer_id);
  }
  return ok();
}

Result<std::optional<domain::Subscription>> SubscriptionLifecycle::current(std::int64_t customer_id) {
  auto row = ctx_.db->with_session([&](storage::Session& s) {
    return s.query_one(std::string(kColumns) + "WHERE s.customer_id = :c ORDER BY s.id DESC LIMIT 1",
                       {{"c", customer_id}});
  });
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<domain::Subscription>();
  return std::optional<domain::Subscription>(Row::from(**row).sub);
}

Result<std::int64_t> SubscriptionLifecycle::renew(std::int64_t customer_id, std::string_view package_code,
                                                  domain::BillingCycle cycle) {
  std::lock_guard lock(mutex_);
  auto package = storage::PackageRepository(*ctx_.db).get(package_code);
  if (!package) return fail(std::move(package.error()));
  if (!*package) return fail(ErrorCode::kNotFound, "no package " + std::string(package_code));
  const std::int64_t now = ctx_.clock->unix_seconds();
  auto latest = ctx_.db->with_session([&](storage::Session& s) {
    return s.query_one(std::string(kColumns) + "WHERE s.customer_id = :c ORDER BY s.id DESC LIMIT 1",
                       {{"c", customer_id}});
  });
  if (!latest) return fail(std::move(latest.error()));
  std::optional<Row> row;
  if (*latest) row = Row::from(**latest);
  if (!row || row->sub.package_code != package_code) {
    auto over = excess_locked(customer_id, **package);
    if (!over) return fail(std::move(over.error()));
    if (!over->empty()) return fail(ErrorCode::kLimitExceeded, describe_excess(**package, *over, i18n::Lang::kEn));
  }
  auto id = ctx_.db->transaction([&](storage::Session& s) -> Result<std::int64_t> {
    auto pid = s.query_one("SELECT id FROM packages WHERE code = :code", {{"code", std::string(package_code)}});
    if (!pid) return fail(std::move(pid.error()));
    if (!*pid) return fail(ErrorCode::kNotFound, "no package " + std::string(package_code));
    const std::int64_t package_id = (*pid)->get_int("id");
    if (row && row->sub.state != S::kErased) {
      domain::Subscription sub = row->sub;
      if (auto r = domain::renew(sub, cycle, now); !r) return fail(std::move(r.error()));
      auto u = s.exec(
          "UPDATE subscriptions SET package_id = :p, state = :state, cycle = :cycle, period_start = :start, "
          "period_end = :end, cancelled_at = NULL, updated_at = :now WHERE id = :id",
          {{"p", package_id},
           {"state", std::string(to_string(sub.state))},
           {"cycle", std::string(to_string(sub.cycle))},
           {"start", sub.period_start},
           {"end", sub.period_end},
           {"now", now},
           {"id", sub.id}});
      if (!u) return fail(std::move(u.error()));
      return sub.id;
    }
    auto inserted = s.query_one(
        "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
        "updated_at) VALUES (:c, :p, 'active', :cycle, :now, :end, :now, :now) RETURNING id",
        {{"c", customer_id},
         {"p", package_id},
         {"cycle", std::string(to_string(cycle))},
         {"now", now},
         {"end", now + domain::cycle_seconds(cycle)}});
    if (!inserted) return fail(std::move(inserted.error()));
    return (*inserted)->get_int("id");
  });
  if (!id) return fail(std::move(id.error()));
  if (auto r = resume_bots(customer_id); !r) return fail(std::move(r.error()));
  return *id;
}

Result<void> SubscriptionLifecycle::on_renewed(std::int64_t subscription_id) {
  std::lock_guard lock(mutex_);
  auto row = ctx_.db->with_session([&](storage::Session& s) {
    return s.query_one("SELECT customer_id, state FROM subscriptions WHERE id = :id", {{"id", subscription_id}});
  });
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "subscription " + std::to_string(subscription_id));
  const std::string state = (*row)->get_string("state");
  if (state != "active") {
    return fail(ErrorCode::kConflict, "subscription " + std::to_string(subscription_id) + " is " + state);
  }
  return resume_bots((*row)->get_int("customer_id"));
}

Result<std::vector<Excess>> SubscriptionLifecycle::excess(std::int64_t customer_id, const domain::Package& package) {
  std::lock_guard lock(mutex_);
  return excess_locked(customer_id, package);
}

Result<std::vector<Excess>> SubscriptionLifecycle::excess_locked(std::int64_t customer_id,
                                                                 const domain::Package& package) {
  auto tenant_id = ctx_.db->with_session([&](storage::Session& s) -> Result<std::optional<std::int64_t>> {
    auto row = s.query_one("SELECT tenant_id FROM customers WHERE id = :c", {{"c", customer_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kNotFound, "customer " + std::to_string(customer_id));
    return (*row)->opt_int("tenant_id");
  });
  if (!tenant_id) return fail(std::move(tenant_id.error()));
  // Bots as Deployments knows them (the pipeline owns the instances' table); deleted ones do not count.
  std::int64_t bots = 0;
  if (ctx_.deployments) {
    auto listed = ctx_.deployments->list(customer_id);
    if (!listed) return fail(std::move(listed.error()));
    for (const auto& b : *listed)
      bots += b.state != domain::BotState::kDeleting && b.state != domain::BotState::kDeleted;
  }
  std::int64_t panels = 0, users = 0;
  if (*tenant_id) {
    auto db = storage_.tenant(**tenant_id);
    if (!db && db.error().code != ErrorCode::kNotFound) return fail(std::move(db.error()));
    if (db) {
      auto tenant = (*db)->with_session([](storage::Session& s) -> Result<std::pair<std::int64_t, std::int64_t>> {
        auto p = s.query_one("SELECT count(*) AS n FROM panels");
        if (!p) return fail(std::move(p.error()));
        auto u = s.query_one("SELECT count(DISTINCT user_id) AS n FROM services WHERE status = 'active'");
        if (!u) return fail(std::move(u.error()));
        return std::pair{(*p)->get_int("n"), (*u)->get_int("n")};
      });
      if (!tenant) return fail(std::move(tenant.error()));
      panels = tenant->first;
      users = tenant->second;
    }
  }
  std::vector<Excess> out;
  auto check = [&](domain::LimitKind kind, std::int64_t current) {
    auto limit = domain::limit_of(package.limits, kind);
    if (limit && current > *limit) out.push_back({kind, *limit, current});
  };
  check(domain::LimitKind::kShopBots, bots);
  check(domain::LimitKind::kPanels, panels);
  check(domain::LimitKind::kUsersWithService, users);
  return out;
}

Result<void> SubscriptionLifecycle::change_package(std::int64_t customer_id, std::string_view package_code) {
  std::lock_guard lock(mutex_);
  auto package = storage::PackageRepository(*ctx_.db).get(package_code);
  if (!package) return fail(std::move(package.error()));
  if (!*package) return fail(ErrorCode::kNotFound, "no package " + std::string(package_code));
  auto over = excess_locked(customer_id, **package);
  if (!over) return fail(std::move(over.error()));
  if (!over->empty()) return fail(ErrorCode::kLimitExceeded, describe_excess(**package, *over, i18n::Lang::kEn));
  const std::int64_t now = ctx_.clock->unix_seconds();
  auto n = ctx_.db->with_session([&](storage::Session& s) {
    return s.exec(
        "UPDATE subscriptions SET package_id = (SELECT id FROM packages WHERE code = :code), updated_at = :now "
        "WHERE id = (SELECT max(id) FROM subscriptions WHERE customer_id = :c) AND state <> 'erased'",
        {{"code", std::string(package_code)}, {"now", now}, {"c", customer_id}});
  });
  if (!n) return fail(std::move(n.error()));
  if (*n == 0) return fail(ErrorCode::kNotFound, "customer " + std::to_string(customer_id) + " has no subscription");
  return ok();
}

}  // namespace ms::master
