#include "bots/shop/notices.hpp"

#include <algorithm>
#include <cstdio>

#include "core/i18n/digits.hpp"
#include "telegram/keyboard.hpp"

namespace ms::shop {
namespace {

constexpr std::int64_t kDay = 86'400;

using storage::Value;

Value optional_value(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }

std::string digits(std::string text, i18n::Lang lang) {
  return lang == i18n::Lang::kFa ? i18n::to_persian_digits(text) : text;
}

std::string size_text(std::int64_t bytes, i18n::Lang lang) { return i18n::format_size(bytes, lang == i18n::Lang::kFa); }

// "14:05" in the given offset.
std::string clock_time(std::int64_t unix_seconds, int tz_offset_minutes, i18n::Lang lang) {
  std::int64_t local = (unix_seconds + tz_offset_minutes * 60LL) % kDay;
  if (local < 0) local += kDay;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(local / 3600), static_cast<int>(local / 60 % 60));
  return digits(buf, lang);
}

bool is_traffic(NoticeKind kind) { return kind == NoticeKind::kTraffic80 || kind == NoticeKind::kTraffic95; }

}  // namespace

std::string_view to_string(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kTraffic80: return "traffic_80";
    case NoticeKind::kTraffic95: return "traffic_95";
    case NoticeKind::kExpiry3d: return "expiry_3d";
    case NoticeKind::kExpiry1d: return "expiry_1d";
    case NoticeKind::kExpired: return "expired";
  }
  return "unknown";
}

std::vector<NoticeKind> due_notices(const ServiceState& s, std::int64_t now) {
  if (s.panel_says_expired || (s.expires_at && *s.expires_at <= now)) return {NoticeKind::kExpired};
  std::vector<NoticeKind> due;
  if (s.traffic_limit_bytes && *s.traffic_limit_bytes > 0) {
    // Integer arithmetic: 95% of the limit exactly, no rounding of a double near the edge.
    const std::int64_t limit = *s.traffic_limit_bytes;
    const std::int64_t used = s.traffic_used_bytes;
    if (used >= limit - limit / 20) {
      due.push_back(NoticeKind::kTraffic95);
    } else if (used >= limit - limit / 5) {
      due.push_back(NoticeKind::kTraffic80);
    }
  }
  if (s.expires_at) {
    const std::int64_t left = *s.expires_at - now;
    if (left <= kDay) {
      due.push_back(NoticeKind::kExpiry1d);
    } else if (left <= 3 * kDay) {
      due.push_back(NoticeKind::kExpiry3d);
    }
  }
  return due;
}

SendOutcome outcome_of(const telegram::TelegramError& error) {
  if (telegram::is_unreachable_user(error)) return SendOutcome::kBlocked;
  // 401: the bot's token stopped working, not the person; the notice waits for a new one.
  if (telegram::is_rate_limited(error) || telegram::is_transient(error) || telegram::is_unauthorized(error)) {
    return SendOutcome::kRetryLater;
  }
  return SendOutcome::kRejected;
}

SendOutcome BotNoticeSender::send(const OutgoingNotice& notice) {
  telegram::SendMessage m;
  m.chat_id = notice.chat_id;
  m.text = notice.text;
  if (notice.keyboard) m.reply_markup = telegram::ReplyMarkup(*notice.keyboard);
  auto reply = bot_->send_sync(m, priority_);
  return reply ? SendOutcome::kSent : outcome_of(reply.error());
}

struct NoticeScheduler::Service {
  std::int64_t id = 0;
  std::int64_t panel_id = 0;
  std::string panel_username;
  ServiceState state;
  std::int64_t user_id = 0;
  std::int64_t telegram_id = 0;
  i18n::Lang lang = i18n::Lang::kFa;
  bool unreachable = false;  // blocked the bot or banned
};

NoticeScheduler::NoticeScheduler(storage::Database& db, NoticePanels& panels, NoticeSender& sender,
                                 const i18n::Catalog& catalog, const Clock& clock, NoticeOptions options)
    : db_(db), panels_(panels), sender_(sender), catalog_(catalog), clock_(clock), options_(std::move(options)) {
  options_.batch = std::max(1, options_.batch);
}

Result<NoticePassReport> NoticeScheduler::run_once() {
  NoticePassReport report;
  std::int64_t after = 0;
  for (;;) {
    // Keyset pages by id: services that change status during the pass never shift a page.
    auto rows = db_.with_session([&](storage::Session& s) {
      return s.query(
          "SELECT s.id, s.panel_id, s.panel_username, s.traffic_limit_bytes, s.traffic_used_bytes, s.expires_at, "
          "s.user_id, u.telegram_id, u.language, u.blocked_bot, u.banned "
          "FROM services s JOIN users u ON u.id = s.user_id "
          "WHERE s.status = 'active' AND s.id > :after ORDER BY s.id LIMIT :n",
          {{"after", after}, {"n", std::int64_t{options_.batch}}});
    });
    if (!rows) return fail(std::move(rows.error()));
    for (const auto& r : *rows) {
      Service s;
      s.id = r.get_int("id");
      s.panel_id = r.get_int("panel_id");
      s.panel_username = r.get_string("panel_username");
      s.state.traffic_limit_bytes = r.opt_int("traffic_limit_bytes");
      s.state.traffic_used_bytes = r.get_int("traffic_used_bytes");
      s.state.expires_at = r.opt_int("expires_at");
      s.user_id = r.get_int("user_id");
      s.telegram_id = r.get_int("telegram_id");
      s.lang = i18n::parse_lang(r.get_string("language")).value_or(i18n::Lang::kFa);
      s.unreachable = r.get_bool("blocked_bot") || r.get_bool("banned");
      after = s.id;
      ++report.services;
      if (auto handled = handle(s, report); !handled) return fail(std::move(handled.error()));
    }
    if (static_cast<int>(rows->size()) < options_.batch) break;
  }
  return report;
}

void NoticeScheduler::refresh(Service& s, NoticePassReport& report) {
  auto panel = panels_.panel(s.panel_id);
  if (!panel) {
    ++report.panel_errors;
    return;
  }
  auto account = panel->get(s.panel_username);
  if (!account) {
    ++report.panel_errors;
    return;
  }
  ++report.refreshed;
  ServiceState fresh;
  fresh.traffic_used_bytes = account->used_bytes;
  if (account->data_limit_bytes > 0) fresh.traffic_limit_bytes = account->data_limit_bytes;
  if (account->expire_at > 0) fresh.expires_at = account->expire_at;
  fresh.panel_says_expired = account->status == panels::AccountStatus::kExpired;
  const bool changed = fresh.traffic_used_bytes != s.state.traffic_used_bytes ||
                       fresh.traffic_limit_bytes != s.state.traffic_limit_bytes ||
                       fresh.expires_at != s.state.expires_at;
  s.state = fresh;
  if (!changed) return;
  auto saved = db_.with_session([&](storage::Session& session) {
    return session.exec(
        "UPDATE services SET traffic_used_bytes = :used, traffic_limit_bytes = :limit, expires_at = :expires, "
        "updated_at = :now WHERE id = :id AND status = 'active'",
        {{"used", fresh.traffic_used_bytes},
         {"limit", optional_value(fresh.traffic_limit_bytes)},
         {"expires", optional_value(fresh.expires_at)},
         {"now", clock_.unix_seconds()},
         {"id", s.id}});
  });
  // The panel's figures still decide this pass; the row catches up on the next one.
  if (!saved) ++report.panel_errors;
}

Result<void> NoticeScheduler::handle(Service& s, NoticePassReport& report) {
  refresh(s, report);
  const std::int64_t now = clock_.unix_seconds();
  const auto due = due_notices(s.state, now);
  if (due.size() == 1 && due.front() == NoticeKind::kExpired) {
    auto marked = db_.with_session([&](storage::Session& session) {
      return session.exec(
          "UPDATE services SET status = 'expired', updated_at = :now WHERE id = :id AND status = 'active'",
          {{"now", now}, {"id", s.id}});
    });
    if (!marked) return fail(std::move(marked.error()));
    if (*marked > 0) ++report.expired;
  }
  for (NoticeKind kind : due) {
    if (auto sent = notify(s, kind, report); !sent) return sent;
  }
  return ok();
}

Result<void> NoticeScheduler::notify(const Service& s, NoticeKind kind, NoticePassReport& report) {
  if (s.unreachable) {
    ++report.skipped_blocked;
    return ok();
  }
  const std::int64_t cycle = s.state.expires_at.value_or(0);
  auto claim = db_.with_session([&](storage::Session& session) {
    return session.query_one(
        "INSERT INTO notices_sent (service_id, kind, cycle, sent_at) VALUES (:service, :kind, :cycle, :now) "
        "ON CONFLICT (service_id, kind, cycle) DO NOTHING RETURNING id",
        {{"service", s.id}, {"kind", std::string(to_string(kind))}, {"cycle", cycle}, {"now", clock_.unix_seconds()}});
  });
  if (!claim) return fail(std::move(claim.error()));
  if (!*claim) {
    ++report.already_sent;
    return ok();
  }
  const std::int64_t claim_id = (*claim)->get_int("id");

  OutgoingNotice notice;
  notice.chat_id = s.telegram_id;
  notice.text = render(s, kind);
  if (options_.keyboard) notice.keyboard = options_.keyboard(NoticeSubject{s.id, kind, s.lang});
  const SendOutcome outcome = sender_.send(notice);

  auto release = [&] {
    return db_.with_session([&](storage::Session& session) {
      return session.exec("DELETE FROM notices_sent WHERE id = :id", {{"id", claim_id}});
    });
  };
  switch (outcome) {
    case SendOutcome::kSent: ++report.sent; return ok();
    case SendOutcome::kRejected: ++report.rejected; return ok();
    case SendOutcome::kRetryLater: {
      ++report.retry_later;
      auto released = release();
      return released ? ok() : fail(std::move(released.error()));
    }
    case SendOutcome::kBlocked: {
      // Not sent: the claim goes back, and the person is skipped until they return.
      ++report.skipped_blocked;
      auto released = release();
      if (!released) return fail(std::move(released.error()));
      auto marked = db_.with_session([&](storage::Session& session) {
        return session.exec("UPDATE users SET blocked_bot = 1, updated_at = :now WHERE id = :id",
                            {{"now", clock_.unix_seconds()}, {"id", s.user_id}});
      });
      return marked ? ok() : fail(std::move(marked.error()));
    }
  }
  return ok();
}

std::string NoticeScheduler::render(const Service& s, NoticeKind kind) const {
  i18n::Args args{{"service", s.panel_username}};
  if (is_traffic(kind)) {
    const std::int64_t limit = s.state.traffic_limit_bytes.value_or(0);
    const double fraction =
        limit > 0 ? static_cast<double>(s.state.traffic_used_bytes) / static_cast<double>(limit) : 0;
    // Whole percent, rounded down in integers (0.81 * 100 is 80.99... in a double).
    const std::int64_t used = std::max<std::int64_t>(s.state.traffic_used_bytes, 0);
    const std::int64_t percent =
        limit > 0 ? std::min<std::int64_t>(used / limit * 100 + used % limit * 100 / limit, 100) : 0;
    args["bar"] = telegram::progress_bar(fraction);
    args["used"] = size_text(s.state.traffic_used_bytes, s.lang);
    args["total"] = size_text(limit, s.lang);
    args["percent"] = digits(std::to_string(percent), s.lang);
    args["left"] = size_text(std::max<std::int64_t>(limit - s.state.traffic_used_bytes, 0), s.lang);
  }
  if (s.state.expires_at) {
    const std::int64_t end = *s.state.expires_at;
    args["date"] = i18n::format_date(end, s.lang, options_.tz_offset_minutes);
    args["time"] = clock_time(end, options_.tz_offset_minutes, s.lang);
    const std::int64_t left = std::max<std::int64_t>(end - clock_.unix_seconds(), 0);
    args["days"] = digits(std::to_string((left + kDay - 1) / kDay), s.lang);
    args["hours"] = digits(std::to_string((left + 3599) / 3600), s.lang);
  }
  return catalog_.render(s.lang, "shop.notice." + std::string(to_string(kind)), args);
}

}  // namespace ms::shop
