// Buying: location -> plan -> discount code -> payment method -> (payment) -> provisioning ->
// delivery; card receipts and their review; Telegram Stars; the free trial.
#include <spdlog/spdlog.h>

#include "core/i18n/digits.hpp"
#include "domain/enum_names.hpp"
#include "domain/rules.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

using domain::PaymentMethod;

}  // namespace

void ShopBot::Impl::add_methods(telegram::InlineKeyboardBuilder& kb, const Person& p, std::string_view action,
                                std::int64_t id, bool allow_wallet) const {
  if (allow_wallet) {
    kb.button("👛 " + t(p.lang, "shop.method.wallet_balance", {{"balance", money(p.balance, p.lang)}}), action,
              {id, std::string(domain::to_string(PaymentMethod::kWallet))})
        .row();
  }
  for (auto m : offered_methods()) {
    kb.button(t(p.lang, "shop.method." + std::string(domain::to_string(m))), action,
              {id, std::string(domain::to_string(m))})
        .row();
  }
}

void ShopBot::Impl::show_checkout(Turn& turn, const Person& p, const payments::Checkout& c, std::string_view what) {
  using Kind = payments::PayerAction::Kind;
  const auto& a = c.action;
  switch (a.kind) {
    case Kind::kNone: turn.reply(t(p.lang, "shop.pay.done", {{"what", std::string(what)}})); return;
    case Kind::kCardTransfer: {
      turn.begin("receipt", {{"payment", c.payment.id}}, std::chrono::hours(24));
      auto kb = keyboard(p.lang);
      kb.copy(t(p.lang, "shop.pay.copy_card"), a.card_number).row().button(t(p.lang, "common.cancel"), "menu");
      turn.reply(t(p.lang, "shop.pay.card",
                   {{"amount", money(a.amount, p.lang)},
                    {"exact", std::to_string(a.amount.minor)},
                    {"card", a.card_number},
                    {"holder", a.card_holder},
                    {"what", std::string(what)}}),
                 built(kb));
      return;
    }
    case Kind::kRedirect: {
      auto kb = keyboard(p.lang);
      kb.link("💳 " + t(p.lang, "shop.pay.open"), a.url).row();
      kb.button(t(p.lang, "shop.pay.check"), "chk", {c.payment.id});
      turn.reply(t(p.lang, "shop.pay.redirect", {{"amount", money(a.amount, p.lang)}, {"what", std::string(what)}}),
                 built(kb));
      return;
    }
    case Kind::kStarsInvoice: {
      auto invoice = telegram::SendInvoice::stars(turn.chat_id(), a.invoice_title, a.invoice_description,
                                                  a.invoice_payload, a.invoice_title, a.amount.minor);
      turn.bot.send(invoice, telegram::Priority::kInteractive, [key = deps.bot_key](auto r) {
        if (!r) spdlog::warn("shop bot {}: sending a Stars invoice failed: {}", key, r.error().to_string());
      });
      return;
    }
  }
}

void ShopBot::Impl::register_buy(telegram::Router& r) {
  r.on_callback("buy", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto locations = store.locations();
    if (!locations) return oops(turn, p->lang, locations.error());
    if (locations->empty()) {
      turn.answer(t(p->lang, "shop.buy.nothing"), true);
      return;
    }
    auto kb = keyboard(p->lang);
    kb.columns(2);
    for (const auto& l : *locations) kb.button("📍 " + l.name, "loc", {l.panel_id});
    kb.row().button(t(p->lang, "common.back"), "menu");
    turn.answer();
    turn.edit(t(p->lang, "shop.buy.location"), built(kb));
  });

  r.on_callback("loc", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto panel_id = turn.callback()->int_at(0);
    if (!panel_id) return turn.answer();
    auto plans = store.plans(*panel_id);
    if (!plans) return oops(turn, p->lang, plans.error());
    auto kb = keyboard(p->lang);
    for (const auto& plan : *plans) {
      kb.button(plan.name + " · " + money(plan.price, p->lang), "plan", {plan.id}).row();
    }
    kb.button(t(p->lang, "common.back"), "buy");
    turn.answer();
    turn.edit(t(p->lang, "shop.buy.plan"), built(kb));
  });

  // A plan chosen: a pending order, its summary, a discount code, and the payment methods.
  r.on_callback("plan", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto plan_id = turn.callback()->int_at(0);
    if (!plan_id) return turn.answer();
    auto plan = store.plan(*plan_id);
    if (!plan) return oops(turn, p->lang, plan.error());
    if (!*plan || !(*plan)->active) return turn.answer(t(p->lang, "error.not_found"), true);
    OrderRow o;
    o.user_id = p->id;
    o.plan_id = (*plan)->id;
    o.kind = "new";
    o.amount = (*plan)->price;
    auto id = store.create_order(o, now());
    if (!id) return oops(turn, p->lang, id.error());
    show_order(turn, *p, *id);
  });

  r.on_callback("disc", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto order_id = turn.callback()->int_at(0);
    if (!order_id) return turn.answer();
    turn.begin("discount", {{"order", *order_id}});
    turn.answer();
    turn.reply(t(p->lang, "shop.discount.ask"));
  });

  r.on_state("discount", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    const std::int64_t order_id = turn.data().value("order", std::int64_t{0});
    auto applied = apply_discount_code(*p, order_id, std::string(turn.text()));
    if (!applied) {
      turn.reply(t(p->lang, applied.error().message) + "\n" + t(p->lang, "shop.discount.again"));
      return;  // stay in the flow: they may try another code or /cancel
    }
    turn.end();
    turn.reply(t(p->lang, "shop.discount.applied", {{"amount", money(*applied, p->lang)}}));
    show_order(turn, *p, order_id);
  });

  r.on_callback("pay", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto order_id = turn.callback()->int_at(0);
    auto method_name = turn.callback()->string_at(1);
    auto method = method_name ? domain::parse<PaymentMethod>(*method_name) : std::nullopt;
    if (!order_id || !method) return turn.answer();
    auto order = store.order(*order_id);
    if (!order) return oops(turn, p->lang, order.error());
    if (!*order || (*order)->user_id != p->id) return turn.answer(t(p->lang, "error.not_found"), true);
    if ((*order)->status != "pending" && (*order)->status != "awaiting_payment") {
      return turn.answer(t(p->lang, "shop.pay.not_payable"), true);
    }
    if ((*order)->kind == "new" && !within_package(*p)) {
      return turn.answer(t(p->lang, "shop.limit.not_selling"), true);
    }
    // Channels are checked again on each purchase.
    if (!settings().channels.empty() && !in_channels(turn)) {
      gate(turn);
      return;
    }
    std::string what = t(p->lang, "shop.pay.order", {{"id", std::to_string(*order_id)}});
    auto checkout = deps.payments->pay_order(*order_id, *method, what);
    if (!checkout) {
      const auto code = checkout.error().code;
      if (code == ErrorCode::kLimitExceeded) return turn.answer(t(p->lang, "error.insufficient_balance"), true);
      if (code == ErrorCode::kConflict) return turn.answer(t(p->lang, "shop.pay.not_payable"), true);
      return oops(turn, p->lang, checkout.error(), "shop.pay.unavailable");
    }
    turn.answer();
    show_checkout(turn, *p, *checkout, what);
    kick_outbox();
  });

  r.on_state("receipt", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    const auto* m = turn.update.message ? &*turn.update.message : nullptr;
    if (!m || m->photo.empty()) {
      turn.reply(t(p->lang, "shop.receipt.photo_please"));
      return;
    }
    const auto& photo = m->photo.back();  // the largest size
    const std::int64_t payment_id = turn.data().value("payment", std::int64_t{0});
    auto submitted = deps.payments->submit_receipt(payment_id, photo.file_id, photo.file_unique_id);
    if (!submitted) {
      turn.end();
      return oops(turn, p->lang, submitted.error(), "shop.receipt.not_expected");
    }
    turn.end();
    turn.reply(t(p->lang, "shop.receipt.received"));
    send_receipt_to_admins(*submitted, *p);
  });

  r.on_callback("rv", [this](Turn& turn) { review(turn); });

  r.on_callback("chk", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    auto payment_id = turn.callback()->int_at(0);
    if (!payment_id) return turn.answer();
    auto payment = deps.payments->get(*payment_id);
    if (!payment || payment->user_id != p->id) return turn.answer(t(p->lang, "error.not_found"), true);
    auto outcome = deps.payments->poll(*payment_id);
    if (!outcome) return turn.answer(t(p->lang, "shop.pay.still_pending"), true);
    kick_outbox();
    // The answer follows where the payment is now, not what this poll changed: a press after
    // a webhook (or a second press) finds the same state the first one made.
    auto current = deps.payments->get(*payment_id);
    if (!current) return turn.answer(t(p->lang, "shop.pay.still_pending"), true);
    using domain::PaymentState;
    switch (current->state) {
      case PaymentState::kPaid:
      case PaymentState::kRefunded: return turn.answer(t(p->lang, "shop.pay.received"), true);
      case PaymentState::kAwaitingReview: return turn.answer(t(p->lang, "shop.pay.in_review"), true);
      case PaymentState::kRejected:
      case PaymentState::kExpired: return turn.answer(t(p->lang, "shop.pay.failed"), true);
      default: return turn.answer(t(p->lang, "shop.pay.still_pending"), true);
    }
  });

  r.on_pre_checkout([this](Turn& turn) {
    const auto& q = *turn.update.pre_checkout_query;
    telegram::AnswerPreCheckoutQuery a;
    a.pre_checkout_query_id = q.id;
    auto verdict = deps.payments->pre_checkout(q.invoice_payload, q.currency, q.total_amount);
    a.ok = verdict.has_value();
    if (!verdict) {
      auto p = store.person_by_telegram(q.from.id);
      a.error_message = t(p && *p ? (*p)->lang : Lang::kFa, payments::precheckout_refusal_key(verdict.error()));
    }
    auto answered = turn.bot.client().call_sync(a);
    if (!answered)
      spdlog::warn("shop t{}: answering a pre-checkout failed: {}", deps.tenant_id, answered.error().to_string());
  });

  r.on_payment([this](Turn& turn) {
    const auto& sp = *turn.update.message->successful_payment;
    auto outcome =
        deps.payments->stars_paid(sp.invoice_payload, sp.currency, sp.total_amount, sp.telegram_payment_charge_id);
    auto p = store.person_by_telegram(turn.user_id());
    const Lang lang = p && *p ? (*p)->lang : Lang::kFa;
    if (!outcome) {
      spdlog::error("shop t{}: a Stars payment could not be applied: {}", deps.tenant_id, outcome.error().to_string());
      turn.reply(t(lang, "shop.pay.stars_problem"));
      return;
    }
    turn.reply(t(lang, "shop.pay.received"));
    kick_outbox();
  });

  r.on_callback("trial", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    take_trial(turn, *p);
  });
}

}  // namespace ms::shop
