// Packages and buying them: the packages with monthly and yearly prices and what each
// includes; a package order (new, renew or upgrade) paid through the master PaymentService
// with the customer's wallet or any method the operator enabled; card-to-card receipts to
// the operators with approve/reject buttons that work once; Telegram Stars.
#include <spdlog/spdlog.h>

#include "domain/enum_names.hpp"
#include "bots/master/master_impl.hpp"

namespace ms::master {

namespace {

using domain::PaymentMethod;

std::vector<PaymentMethod> offered(const payments::PaymentService& service) {
  static constexpr PaymentMethod kOrder[] = {PaymentMethod::kCardToCard, PaymentMethod::kTelegramStars,
                                             PaymentMethod::kZarinpal,   PaymentMethod::kNowPayments,
                                             PaymentMethod::kStripe,     PaymentMethod::kPayPal};
  std::vector<PaymentMethod> out;
  for (auto m : kOrder) {
    if (service.provider(m)) out.push_back(m);
  }
  return out;
}

}  // namespace

std::string MasterBot::Impl::includes(const domain::Package& p, Lang lang) const {
  auto limit = [&](const std::optional<int>& v) { return v ? number(*v, lang) : t(lang, "master.pkg.unlimited"); };
  const auto& l = p.limits;
  std::string out;
  out += "🤖 " + t(lang, "master.pkg.bots", {{"n", limit(l.shop_bots)}}) + "\n";
  out += "👥 " + t(lang, "master.pkg.users", {{"n", limit(l.users_with_service)}}) + "\n";
  out += "🖥 " + t(lang, "master.pkg.panels", {{"n", limit(l.panels)}}) + "\n";
  out += "🆘 " + t(lang, "master.pkg.support." + std::string(domain::to_string(l.support))) + "\n";
  out += "📊 " + t(lang, "master.pkg.analytics." + std::string(domain::to_string(l.analytics))) + "\n";
  out += (l.white_label ? "✅ " : "➖ ") + t(lang, "master.pkg.white_label") + "\n";
  out += (l.api_access ? "✅ " : "➖ ") + t(lang, "master.pkg.api");
  return out;
}

void MasterBot::Impl::show_packages(Turn& turn, const CustomerRow& c) {
  const Lang lang = c.lang;
  auto packages = store.packages_on_sale();
  if (!packages) return oops(turn, lang, packages.error());
  if (packages->empty()) return turn.answer(t(lang, "master.pkg.none"), true);
  std::string text = t(lang, "master.pkg.title");
  auto kb = keyboard(lang);
  for (const auto& p : *packages) {
    text += "\n\n<b>" + telegram::escape_html(package_name(p.package, lang)) + "</b> — " +
            t(lang, "master.pkg.price_line",
              {{"monthly", money(p.package.monthly_price, lang)}, {"yearly", money(p.package.yearly_price, lang)}});
    kb.button("📦 " + package_name(p.package, lang), "pkg", {p.id}).row();
  }
  kb.button(t(lang, "common.back"), "menu");
  turn.answer();
  if (turn.callback()) {
    turn.edit(std::move(text), built(kb), true);
  } else {
    turn.reply(std::move(text), built(kb), true);
  }
}

void MasterBot::Impl::show_package(Turn& turn, const CustomerRow& c, std::int64_t package_id) {
  const Lang lang = c.lang;
  auto p = store.package(package_id);
  if (!p) return oops(turn, lang, p.error());
  if (!*p || !(*p)->package.active) return turn.answer(t(lang, "error.not_found"), true);
  const auto& pkg = (*p)->package;
  std::string text = "<b>" + telegram::escape_html(package_name(pkg, lang)) + "</b>\n\n" + includes(pkg, lang) +
                     "\n\n" +
                     t(lang, "master.pkg.prices",
                       {{"monthly", money(pkg.monthly_price, lang)}, {"yearly", money(pkg.yearly_price, lang)}});
  auto kb = keyboard(lang);
  kb.button(t(lang, "master.pkg.buy_monthly", {{"price", money(pkg.monthly_price, lang)}}), "buyp",
            {package_id, std::string("monthly")})
      .row();
  kb.button(t(lang, "master.pkg.buy_yearly", {{"price", money(pkg.yearly_price, lang)}}), "buyp",
            {package_id, std::string("yearly")})
      .row();
  kb.button(t(lang, "common.back"), "pkgs");
  turn.answer();
  turn.edit(std::move(text), built(kb), true);
}

void MasterBot::Impl::show_methods(Turn& turn, const CustomerRow& c, std::int64_t order_id) {
  const Lang lang = c.lang;
  auto order = store.order(order_id);
  if (!order) return oops(turn, lang, order.error());
  if (!*order || (*order)->customer_id != c.id) return turn.answer(t(lang, "error.not_found"), true);
  auto p = store.package((*order)->package_id);
  if (!p || !*p) return oops(turn, lang, p ? Error{ErrorCode::kNotFound, "package"} : p.error());
  std::string text = t(lang, "master.order.summary",
                       {{"id", number(order_id, lang)},
                        {"package", package_name((*p)->package, lang)},
                        {"period", t(lang, "master.cycle." + (*order)->cycle)},
                        {"kind", t(lang, "master.order.kind." + (*order)->kind)},
                        {"price", money((*order)->amount, lang)}});
  if ((*order)->kind == "upgrade") {
    // Say before paying what happens to the days already paid for.
    auto cycle = domain::parse<domain::BillingCycle>((*order)->cycle);
    auto carry = cycle ? subs.carry_over(c.id, (*order)->package_id, *cycle, now())
                       : Result<CarryOver>(fail(ErrorCode::kCorrupted, "order cycle"));
    if (!carry) return oops(turn, lang, carry.error());
    if (carry->left_seconds >= domain::kDaySeconds) {
      auto from = store.package(carry->from_package_id);
      const std::string from_name = from && *from ? package_name((*from)->package, lang) : std::string("-");
      const auto days = [&](std::int64_t seconds) {
        return number((seconds + domain::kDaySeconds / 2) / domain::kDaySeconds, lang);
      };
      text += "\n\n" + t(lang, carry->carried_seconds > 0 ? "master.order.carry" : "master.order.carry_none",
                         {{"left", days(carry->left_seconds)},
                          {"from", from_name},
                          {"carried", days(carry->carried_seconds)},
                          {"package", package_name((*p)->package, lang)}});
    }
  }
  auto kb = keyboard(lang);
  kb.button("👛 " + t(lang, "master.pay.wallet", {{"balance", money(c.balance, lang)}}), "pay",
            {order_id, std::string(domain::to_string(PaymentMethod::kWallet))})
      .row();
  for (auto m : offered(*ctx.payments)) {
    kb.button(t(lang, "shop.method." + std::string(domain::to_string(m))), "pay",
              {order_id, std::string(domain::to_string(m))})
        .row();
  }
  kb.button(t(lang, "common.back"), "pkg", {(*order)->package_id});
  turn.answer();
  turn.edit(std::move(text), built(kb));
}

void MasterBot::Impl::show_checkout(Turn& turn, const CustomerRow& c, const payments::Checkout& checkout,
                                    const std::string& what) {
  using Kind = payments::PayerAction::Kind;
  const Lang lang = c.lang;
  const auto& a = checkout.action;
  switch (a.kind) {
    case Kind::kNone: turn.reply(t(lang, "master.pay.done", {{"what", what}})); return;
    case Kind::kCardTransfer: {
      turn.begin("m.receipt", {{"payment", checkout.payment.id}}, std::chrono::hours(24));
      auto kb = keyboard(lang);
      kb.copy(t(lang, "shop.pay.copy_card"), a.card_number).row().button(t(lang, "common.cancel"), "menu");
      turn.reply(t(lang, "shop.pay.card",
                   {{"amount", money(a.amount, lang)},
                    {"exact", std::to_string(a.amount.minor)},
                    {"card", a.card_number},
                    {"holder", a.card_holder},
                    {"what", what}}),
                 built(kb));
      return;
    }
    case Kind::kRedirect: {
      auto kb = keyboard(lang);
      kb.link("💳 " + t(lang, "shop.pay.open"), a.url).row();
      kb.button(t(lang, "shop.pay.check"), "chk", {checkout.payment.id});
      turn.reply(t(lang, "shop.pay.redirect", {{"amount", money(a.amount, lang)}, {"what", what}}), built(kb));
      return;
    }
    case Kind::kStarsInvoice: {
      auto invoice = telegram::SendInvoice::stars(turn.chat_id(), a.invoice_title, a.invoice_description,
                                                  a.invoice_payload, a.invoice_title, a.amount.minor);
      turn.bot.send(invoice, telegram::Priority::kInteractive, [](auto r) {
        if (!r) spdlog::warn("master bot: sending a Stars invoice failed: {}", r.error().to_string());
      });
      return;
    }
  }
}

void MasterBot::Impl::send_receipt_to_operators(const payments::PaymentRecord& payment, const CustomerRow& c) {
  auto bot = bot_context();
  if (!bot) return;
  for (auto op : ctx.operator_ids) {
    const Lang lang = lang_of(op);
    auto kb = keyboard(lang);
    kb.button("✅ " + t(lang, "shop.review.approve"), "rv", {payment.id, std::string("ok")})
        .button("❌ " + t(lang, "shop.review.reject"), "rv", {payment.id, std::string("no")});
    telegram::SendPhoto photo;
    photo.chat_id = op;
    photo.photo = telegram::InputFile::from_reference(payment.receipt_file_id.value_or(""));
    std::string caption = t(lang, "master.review.caption",
                            {{"id", std::to_string(payment.id)},
                             {"order", payment.order_id ? std::to_string(*payment.order_id) : "-"},
                             {"amount", money(payment.amount, lang)},
                             {"exact", std::to_string(payment.amount.minor)},
                             {"name", c.name},
                             {"customer", std::to_string(c.id)},
                             {"user", std::to_string(c.telegram_id)}});
    if (payment.flag) caption += "\n⚠️ " + t(lang, "shop.review.flag." + *payment.flag);
    photo.caption = std::move(caption);
    photo.reply_markup = built(kb);
    bot->send(photo, telegram::Priority::kInteractive, [op](auto r) {
      if (!r) spdlog::warn("master bot: a receipt to operator {} was not sent: {}", op, r.error().to_string());
    });
  }
}

// An operator's approve/reject button: works once, whoever presses first; later presses are
// told it was decided.
void MasterBot::Impl::review(Turn& turn) {
  const Lang lang = lang_of(turn.user_id());
  if (!ctx.is_operator(turn.user_id())) return turn.answer(t(lang, "error.permission_denied"), true);
  auto payment_id = turn.callback()->int_at(0);
  auto verdict = turn.callback()->string_at(1);
  if (!payment_id || !verdict) return turn.answer();
  const bool approve = *verdict == "ok";
  auto decided = approve ? ctx.payments->approve(*payment_id, turn.user_id())
                         : ctx.payments->reject(*payment_id, turn.user_id(), "rejected by an operator");
  if (!decided) {
    if (decided.error().code == ErrorCode::kConflict) {
      // The state it is in now, named in the reviewer's language.
      auto now = ctx.payments->get(*payment_id);
      const std::string state = now ? t(lang, payments::state_key(now->state)) : "-";
      return turn.answer(t(lang, "shop.review.already", {{"state", state}}), true);
    }
    return oops(turn, lang, decided.error());
  }
  turn.answer(t(lang, approve ? "shop.review.approved" : "shop.review.rejected"));
  telegram::EditMessageReplyMarkup e;  // the buttons are gone from this operator's message
  e.chat_id = turn.chat_id();
  e.message_id = turn.update.callback_query->message ? turn.update.callback_query->message->message_id : 0;
  turn.bot.client().call(e, [](auto) {});
  turn.reply(t(lang, approve ? "shop.review.approved_by" : "shop.review.rejected_by",
               {{"id", std::to_string(*payment_id)}, {"admin", std::to_string(turn.user_id())}}));
  if (!approve) {
    if (auto c = store.customer(decided->user_id); c && *c) {
      (void)send_to((*c)->telegram_id, t((*c)->lang, "master.receipt.rejected"));
    }
  }
  kick_outbox();
}

void MasterBot::Impl::register_packages(telegram::Router& r) {
  r.on_callback("pkgs", [this](Turn& turn) {
    turn.end();
    if (auto c = gate(turn)) show_packages(turn, *c);
  });
  r.on_command("packages", [this](Turn& turn) {
    turn.end();
    if (auto c = gate(turn)) show_packages(turn, *c);
  });
  r.on_callback("pkg", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    show_package(turn, *c, *id);
  });
  // A package and a period chosen: a pending order, then the payment methods.
  r.on_callback("buyp", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto id = turn.callback()->int_at(0);
    auto cycle_name = turn.callback()->string_at(1);
    auto cycle = cycle_name ? domain::parse<domain::BillingCycle>(*cycle_name) : std::nullopt;
    if (!id || !cycle) return turn.answer();
    auto p = store.package(*id);
    if (!p) return oops(turn, c->lang, p.error());
    if (!*p || !(*p)->package.active) return turn.answer(t(c->lang, "error.not_found"), true);
    auto current = subs.usable(c->id, now());
    if (!current) return oops(turn, c->lang, current.error());
    std::string kind = "new";
    if (*current) kind = (*current)->first.package_id == *id ? "renew" : "upgrade";
    auto order = store.create_order(c->id, **p, *cycle, kind, now());
    if (!order) return oops(turn, c->lang, order.error());
    show_methods(turn, *c, *order);
  });
  r.on_callback("pay", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto order_id = turn.callback()->int_at(0);
    auto method_name = turn.callback()->string_at(1);
    auto method = method_name ? domain::parse<PaymentMethod>(*method_name) : std::nullopt;
    if (!order_id || !method) return turn.answer();
    auto order = store.order(*order_id);
    if (!order) return oops(turn, c->lang, order.error());
    if (!*order || (*order)->customer_id != c->id) return turn.answer(t(c->lang, "error.not_found"), true);
    if ((*order)->status != "pending" && (*order)->status != "awaiting_payment") {
      return turn.answer(t(c->lang, "shop.pay.not_payable"), true);
    }
    const std::string what = t(c->lang, "master.pay.what", {{"id", std::to_string(*order_id)}});
    auto checkout = ctx.payments->pay_order(*order_id, *method, what);
    if (!checkout) {
      const auto code = checkout.error().code;
      if (code == ErrorCode::kLimitExceeded) return turn.answer(t(c->lang, "error.insufficient_balance"), true);
      if (code == ErrorCode::kConflict) return turn.answer(t(c->lang, "shop.pay.not_payable"), true);
      return oops(turn, c->lang, checkout.error(), "shop.pay.unavailable");
    }
    turn.answer();
    show_checkout(turn, *c, *checkout, what);
    kick_outbox();
  });
  r.on_state("m.receipt", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    const auto* m = turn.update.message ? &*turn.update.message : nullptr;
    if (!m || m->photo.empty()) {
      turn.reply(t(c->lang, "shop.receipt.photo_please"));
      return;
    }
    const auto& photo = m->photo.back();
    const std::int64_t payment_id = turn.data().value("payment", std::int64_t{0});
    auto submitted = ctx.payments->submit_receipt(payment_id, photo.file_id, photo.file_unique_id);
    turn.end();
    if (!submitted) return oops(turn, c->lang, submitted.error(), "shop.receipt.not_expected");
    turn.reply(t(c->lang, "master.receipt.received"));
    send_receipt_to_operators(*submitted, *c);
  });
  r.on_callback("rv", [this](Turn& turn) { review(turn); });
  r.on_callback("chk", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto payment_id = turn.callback()->int_at(0);
    if (!payment_id) return turn.answer();
    auto payment = ctx.payments->get(*payment_id);
    if (!payment || payment->user_id != c->id) return turn.answer(t(c->lang, "error.not_found"), true);
    auto outcome = ctx.payments->poll(*payment_id);
    kick_outbox();
    if (!outcome) return turn.answer(t(c->lang, "shop.pay.still_pending"), true);
    switch (*outcome) {
      case payments::Outcome::kPaid:
      case payments::Outcome::kAlreadyApplied:
      case payments::Outcome::kCreditedToWallet: return turn.answer(t(c->lang, "shop.pay.received"), true);
      case payments::Outcome::kRejected:
      case payments::Outcome::kExpired: return turn.answer(t(c->lang, "payment.failed"), true);
      default: return turn.answer(t(c->lang, "shop.pay.still_pending"), true);
    }
  });
  r.on_pre_checkout([this](Turn& turn) {
    const auto& q = *turn.update.pre_checkout_query;
    telegram::AnswerPreCheckoutQuery a;
    a.pre_checkout_query_id = q.id;
    auto verdict = ctx.payments->pre_checkout(q.invoice_payload, q.currency, q.total_amount);
    a.ok = verdict.has_value();
    if (!verdict) a.error_message = t(lang_of(q.from.id), payments::precheckout_refusal_key(verdict.error()));
    auto answered = turn.bot.client().call_sync(a);
    if (!answered) spdlog::warn("master bot: answering a pre-checkout failed: {}", answered.error().to_string());
  });
  r.on_payment([this](Turn& turn) {
    const auto& sp = *turn.update.message->successful_payment;
    auto outcome =
        ctx.payments->stars_paid(sp.invoice_payload, sp.currency, sp.total_amount, sp.telegram_payment_charge_id);
    const Lang lang = lang_of(turn.user_id());
    if (!outcome) {
      spdlog::error("master bot: a Stars payment could not be applied: {}", outcome.error().to_string());
      turn.reply(t(lang, "shop.pay.stars_problem"));
      return;
    }
    turn.reply(t(lang, "shop.pay.received"));
    kick_outbox();
  });
}

}  // namespace ms::master
