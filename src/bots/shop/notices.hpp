// NoticeScheduler: the shop bot's reminders to people about their services. One pass
// reads a tenant's active services, refreshes each one's used traffic and expiry from its
// panel, and sends what is due: traffic_80 and traffic_95 (of the limit), expiry_3d and
// expiry_1d (before the end), expired (and the service row becomes 'expired').
//
// Each notice goes out at most once per service and cycle, where the cycle is the
// service's expires_at when it went out (0 for a service that never ends), so a renewal
// gets fresh notices. The guarantee lives in the database (notices_sent is UNIQUE on
// service, kind and cycle): a notice is claimed there before it is sent, so a second pass,
// a restarted process or two schedulers at once never send it twice. A send that failed for
// a reason worth retrying (Telegram or the network down, 429) gives its claim back for the
// next pass; one that Telegram refused for good keeps it. A crash between claim and send
// loses that notice rather than risk sending it twice.
//
// Only the most urgent notice of each family is sent: a service first seen at 96% gets
// traffic_95 only, one first seen 20 hours before its end expiry_1d only. People who blocked
// the bot (users.blocked_bot) or are banned are skipped without a claim, so they get what is
// still due if they come back.
//
// Threads: run_once() blocks (database, panels, Telegram) and is meant for one scheduler
// thread or job; any number of schedulers may run passes over the same tenant at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/i18n/calendar.hpp"
#include "core/i18n/catalog.hpp"
#include "core/result.hpp"
#include "panels/panel.hpp"
#include "storage/storage.hpp"
#include "telegram/errors.hpp"
#include "telegram/runtime.hpp"
#include "telegram/types.hpp"

namespace ms::shop {

enum class NoticeKind { kTraffic80, kTraffic95, kExpiry3d, kExpiry1d, kExpired };
// "traffic_80", "traffic_95", "expiry_3d", "expiry_1d", "expired": notices_sent.kind, and
// the i18n key is "shop.notice." + this.
std::string_view to_string(NoticeKind kind);

// What the decision needs to know about a service.
struct ServiceState {
  std::optional<std::int64_t> traffic_limit_bytes;  // none or 0: unlimited
  std::int64_t traffic_used_bytes = 0;
  std::optional<std::int64_t> expires_at;  // none: never ends
  bool panel_says_expired = false;         // the panel already marked the account expired
};

// The notices due for a service at `now`, most urgent of each family only; `expired` alone
// when the service has ended. Pure.
std::vector<NoticeKind> due_notices(const ServiceState& service, std::int64_t now);

// How a send went, as far as the claim is concerned.
enum class SendOutcome {
  kSent,        // delivered
  kRetryLater,  // Telegram, the network or the bot's token failed, or 429: give the claim back
  kBlocked,     // the person blocked the bot or cannot be written to
  kRejected,    // Telegram refused this message for good (400 ...): keep the claim
};
// The outcome a Telegram error means (403 unreachable -> kBlocked; 429, 5xx, transport, 401
// -> kRetryLater; anything else -> kRejected).
SendOutcome outcome_of(const telegram::TelegramError& error);

struct OutgoingNotice {
  std::int64_t chat_id = 0;  // the person's Telegram id (a private chat)
  std::string text;          // plain text
  std::optional<telegram::InlineKeyboardMarkup> keyboard;
};

// Where notices go. send() blocks until the message was delivered or given up.
class NoticeSender {
 public:
  virtual ~NoticeSender() = default;
  virtual SendOutcome send(const OutgoingNotice& notice) = 0;
};

// Sends through a bot of the runtime, under its rate limits (Priority::kBulk by default, so
// people talking to the bot are answered first). Must not run on the HTTP client's thread.
class BotNoticeSender final : public NoticeSender {
 public:
  explicit BotNoticeSender(std::shared_ptr<telegram::BotContext> bot,
                           telegram::Priority priority = telegram::Priority::kBulk)
      : bot_(std::move(bot)), priority_(priority) {}
  SendOutcome send(const OutgoingNotice& notice) override;

 private:
  std::shared_ptr<telegram::BotContext> bot_;
  telegram::Priority priority_;
};

// The panels of the tenant's services, by panels.id.
class NoticePanels {
 public:
  virtual ~NoticePanels() = default;
  // The panel, or nullptr when it cannot be used now (then the stored figures are used).
  virtual std::shared_ptr<panels::Panel> panel(std::int64_t panel_id) = 0;
};

// What a notice is about, for a keyboard under it.
struct NoticeSubject {
  std::int64_t service_id = 0;
  NoticeKind kind = NoticeKind::kExpired;
  i18n::Lang lang = i18n::Lang::kFa;
};

struct NoticeOptions {
  int batch = 200;  // services read per query
  int tz_offset_minutes = i18n::kIranOffsetMinutes;
  // An inline keyboard under a notice (the shop gives "Renew" / "My services" buttons with
  // its router's callback data); none when unset or when it returns nullopt.
  std::function<std::optional<telegram::InlineKeyboardMarkup>(const NoticeSubject&)> keyboard;
};

struct NoticePassReport {
  int services = 0;         // active services looked at
  int refreshed = 0;        // read from their panel
  int panel_errors = 0;     // panel unavailable or failed: stored figures used
  int expired = 0;          // services this pass marked expired
  int sent = 0;             // notices delivered
  int already_sent = 0;     // due, but claimed before (by an earlier pass or another scheduler)
  int skipped_blocked = 0;  // due, but the person blocked the bot or is banned
  int retry_later = 0;      // send failed for now; claim given back
  int rejected = 0;         // Telegram refused; claim kept
};

class NoticeScheduler {
 public:
  // Everything given must outlive the scheduler.
  NoticeScheduler(storage::Database& db, NoticePanels& panels, NoticeSender& sender, const i18n::Catalog& catalog,
                  const Clock& clock, NoticeOptions options = {});

  // One pass over the tenant's active services. Failure: a database error (the pass stops;
  // what was sent stays recorded). Panel and Telegram failures are counted, not errors.
  Result<NoticePassReport> run_once();

 private:
  struct Service;
  Result<void> handle(Service& service, NoticePassReport& report);
  void refresh(Service& service, NoticePassReport& report);
  Result<void> notify(const Service& service, NoticeKind kind, NoticePassReport& report);
  std::string render(const Service& service, NoticeKind kind) const;

  storage::Database& db_;
  NoticePanels& panels_;
  NoticeSender& sender_;
  const i18n::Catalog& catalog_;
  const Clock& clock_;
  NoticeOptions options_;
};

}  // namespace ms::shop
