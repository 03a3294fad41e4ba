// The admins' people side: statistics, card receipts waiting for review, users, broadcasts
// and backups.
#include "shop/shop_impl.hpp"

namespace ms::shop {

void ShopBot::Impl::register_admin_people(telegram::Router& r) {
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
}

}  // namespace ms::shop
