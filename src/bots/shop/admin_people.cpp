// The admins' people side: statistics, card receipts waiting for review, users
// (admin_people_users.cpp), broadcasts (admin_people_broadcast.cpp) and backups.
#include <spdlog/spdlog.h>

#include "core/i18n/calendar.hpp"
#include "bots/shop/shop_impl.hpp"
#include "bots/shop/stats.hpp"
#include "telegram/methods.hpp"

namespace ms::shop {

namespace {

constexpr std::string_view kDailyBackupKey = "backup.daily_last_day";  // the Tehran day last sent

std::string backup_name(std::int64_t tenant, std::int64_t now) {
  // The Tehran date of today (its midnight plus the offset is still that day in UTC terms).
  auto d = i18n::gregorian_from_days((local_day_start(now) + i18n::kIranOffsetMinutes * 60) / 86400);
  char buf[64];
  std::snprintf(buf, sizeof buf, "shop-backup-%lld-%04d-%02d-%02d.json", static_cast<long long>(tenant), d.year,
                d.month, d.day);
  return buf;
}

}  // namespace

Result<void> ShopBot::Impl::send_backup(std::int64_t chat_id, Lang lang) {
  if (!deps.storage) return fail(ErrorCode::kUnavailable, "backups need the storage (ShopDeps::storage)");
  auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr;
  if (!ctx) return fail(ErrorCode::kUnavailable, "the shop bot is not running");
  auto data = deps.storage->export_tenant(deps.tenant_id);
  if (!data) return fail(std::move(data.error()));
  telegram::SendDocument doc;
  doc.chat_id = chat_id;
  doc.document = telegram::InputFile::from_bytes(data->dump(1), backup_name(deps.tenant_id, now()), "application/json");
  doc.caption = t(lang, "shop.admin.backup.caption", {{"date", date(now(), lang)}});
  auto sent = ctx->client().call_sync(doc);
  if (!sent) return fail(ErrorCode::kUnavailable, sent.error().to_string());
  return ok();
}

// The owner (the first admin with the owner role) gets the backup once per Tehran day; the
// day is kept in the settings table, so a restart or a second process does not send it again.
Result<bool> ShopBot::Impl::daily_backup() {
  if (!deps.storage) return false;
  std::int64_t owner = 0;
  for (const auto& a : settings().admins) {
    if (a.role == AdminRole::kOwner) {
      owner = a.telegram_id;
      break;
    }
  }
  if (owner == 0) return false;
  const std::string today = std::to_string(local_day_start(now()));
  // Claimed with one conditional upsert: of two passes at once, one sends.
  auto claimed = deps.db->with_session([&](storage::Session& s) -> Result<bool> {
    auto n = s.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :now) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at "
        "WHERE settings.value <> excluded.value",
        {{"k", std::string(kDailyBackupKey)}, {"v", today}, {"now", now()}});
    if (!n) return fail(std::move(n.error()));
    return *n > 0;
  });
  if (!claimed || !*claimed) return claimed;
  if (auto sent = send_backup(owner, admin_lang(owner)); !sent) {
    // Not sent today: free the day so the next pass tries again.
    (void)deps.db->with_session([&](storage::Session& s) {
      return s.exec("DELETE FROM settings WHERE key = :k", {{"k", std::string(kDailyBackupKey)}});
    });
    return fail(std::move(sent.error()));
  }
  return true;
}

void ShopBot::Impl::register_admin_people(telegram::Router& r) {
  // The figures, in the admin's language.
  r.on_callback("a_stats", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    ShopStats stats(*deps.db, *deps.clock);
    auto report = stats.collect();
    if (!report) return oops(turn, lang, report.error());
    auto kb = keyboard(lang);
    kb.button("🔄 " + t(lang, "shop.admin.refresh"), "a_stats").button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(render_stats(*report, texts, lang), built(kb));
  });

  // Card receipts waiting for a decision, oldest first; each with the same once-only buttons
  // the admins got when it arrived.
  r.on_callback("a_rcpt", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto waiting = deps.db->with_session([](storage::Session& s) {
      return s.query("SELECT id FROM payments WHERE status = 'awaiting_review' ORDER BY id LIMIT 20");
    });
    if (!waiting) return oops(turn, lang, waiting.error());
    turn.answer();
    if (waiting->empty()) return turn.reply(t(lang, "shop.admin.no_receipts"));
    for (const auto& row : *waiting) {
      auto payment = deps.payments->get(row.get_int("id"));
      if (!payment) continue;
      auto person = store.person(payment->user_id);
      if (person && *person) send_receipt_to(turn.user_id(), *payment, **person);
    }
  });

  // Backup now: the tenant's data as a JSON document to the admin who asked.
  r.on_callback("a_bak", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    turn.answer(t(lang, "shop.admin.backup.preparing"));
    if (auto sent = send_backup(turn.chat_id(), lang); !sent) oops(turn, lang, sent.error());
  });

  register_admin_users(r);
  register_admin_broadcast(r);
}

}  // namespace ms::shop
