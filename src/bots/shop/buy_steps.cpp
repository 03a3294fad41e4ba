// The steps of buying that are more than a screen: an order's summary, discount codes,
// card receipts to the admins and their one-time review, the free trial, and waking the
// payment outbox so a paid order is delivered at once.
#include <spdlog/spdlog.h>

#include "domain/rules.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

void ShopBot::Impl::show_order(Turn& turn, const Person& p, std::int64_t order_id) {
  auto order = store.order(order_id);
  if (!order) return oops(turn, p.lang, order.error());
  if (!*order || (*order)->user_id != p.id || !(*order)->plan_id) return turn.answer();
  auto plan = store.plan(*(*order)->plan_id);
  if (!plan || !*plan) return oops(turn, p.lang, plan ? Error{ErrorCode::kNotFound, "plan"} : plan.error());
  const auto& pl = **plan;
  i18n::Args args{{"plan", pl.name},
                  {"days", number(pl.duration_days, p.lang)},
                  {"traffic", pl.traffic_bytes ? bytes(*pl.traffic_bytes, p.lang) : t(p.lang, "shop.unlimited")},
                  {"price", money((*order)->amount, p.lang)},
                  {"description", pl.description}};
  std::string text = t(p.lang, "shop.order.summary", args);
  if ((*order)->discount_minor > 0) {
    text += "\n" + t(p.lang, "shop.order.discounted",
                     {{"discount", money(Money{(*order)->discount_minor, (*order)->amount.currency}, p.lang)}});
  }
  auto kb = keyboard(p.lang);
  if (!(*order)->discount_code_id) kb.button("🎟 " + t(p.lang, "shop.discount.button"), "disc", {order_id}).row();
  add_methods(kb, p, "pay", order_id, true);
  kb.button(t(p.lang, "common.back"), "buy");
  turn.answer();
  if (turn.callback()) {
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

std::vector<domain::PaymentMethod> ShopBot::Impl::offered_methods() const {
  using domain::PaymentMethod;
  static constexpr PaymentMethod kOrder[] = {PaymentMethod::kCardToCard, PaymentMethod::kTelegramStars,
                                             PaymentMethod::kZarinpal,   PaymentMethod::kNowPayments,
                                             PaymentMethod::kStripe,     PaymentMethod::kPayPal};
  std::vector<PaymentMethod> out;
  for (auto m : kOrder) {
    if (deps.payments->provider(m)) out.push_back(m);
  }
  return out;
}

Result<Money> ShopBot::Impl::apply_discount_code(const Person& p, std::int64_t order_id, std::string code) {
  while (!code.empty() && (code.back() == ' ' || code.back() == '\n')) code.pop_back();
  while (!code.empty() && code.front() == ' ') code.erase(code.begin());
  auto order = store.order(order_id);
  if (!order) return fail(std::move(order.error()));
  if (!*order || (*order)->user_id != p.id) return fail(ErrorCode::kNotFound, "error.not_found");
  if ((*order)->status != "pending") return fail(ErrorCode::kConflict, "shop.pay.not_payable");
  if ((*order)->discount_code_id) return fail(ErrorCode::kConflict, "shop.discount.one_only");
  const std::int64_t t_now = now();
  // Read the code and the person's uses of it in one snapshot; the order keeps the code and
  // the redemption is counted when the order is paid (fulfil), so an abandoned order uses nothing.
  return deps.db->transaction([&](storage::Session& s) -> Result<Money> {
    auto row = s.query_one(
        "SELECT id, percent, amount_minor, currency, plan_id, max_uses, used_count, per_user_limit, starts_at, "
        "expires_at, active FROM discount_codes WHERE upper(code) = upper(:code)",
        {{"code", code}});
    if (!row) return fail(std::move(row.error()));
    if (!*row || !(*row)->get_bool("active")) return fail(ErrorCode::kNotFound, "discount.inactive");
    const auto& r = **row;
    if (auto exp = r.opt_int("expires_at"); exp && *exp <= t_now) return fail(ErrorCode::kNotFound, "discount.expired");
    if (auto st = r.opt_int("starts_at"); st && *st > t_now) return fail(ErrorCode::kNotFound, "discount.inactive");
    if (auto max = r.opt_int("max_uses"); max && r.get_int("used_count") >= *max) {
      return fail(ErrorCode::kLimitExceeded, "discount.used_up");
    }
    if (auto plan = r.opt_int("plan_id"); plan && plan != (*order)->plan_id) {
      return fail(ErrorCode::kInvalidArgument, "discount.wrong_plan");
    }
    auto uses = s.query_one("SELECT count(*) AS n FROM discount_redemptions WHERE code_id = :c AND user_id = :u",
                            {{"c", r.get_int("id")}, {"u", p.id}});
    if (!uses) return fail(std::move(uses.error()));
    if (*uses && (*uses)->get_int("n") >= r.get_int("per_user_limit")) {
      return fail(ErrorCode::kLimitExceeded, "discount.used_up");
    }
    domain::Discount d;
    if (auto percent = r.opt_int("percent")) {
      d.kind = domain::DiscountKind::kPercent;
      d.percent = static_cast<int>(*percent);
    } else {
      d.kind = domain::DiscountKind::kFixed;
      auto cur = currency_from_code(r.opt_string("currency").value_or(""));
      d.fixed = Money{r.get_int("amount_minor"), cur.value_or((*order)->amount.currency)};
    }
    auto price = domain::apply_discount((*order)->amount, d);
    if (!price) return fail(ErrorCode::kInvalidArgument, "discount.wrong_plan");
    auto n = s.exec(
        "UPDATE orders SET discount_code_id = :code, amount_minor = :amount, discount_minor = :d, updated_at = :now "
        "WHERE id = :id AND status = 'pending' AND discount_code_id IS NULL",
        {{"code", r.get_int("id")},
         {"amount", price->minor},
         {"d", (*order)->amount.minor - price->minor},
         {"now", t_now},
         {"id", order_id}});
    if (!n) return fail(std::move(n.error()));
    if (*n == 0) return fail(ErrorCode::kInvalidArgument, "shop.pay.not_payable");
    return *price;
  });
}

void ShopBot::Impl::send_receipt_to_admins(const payments::PaymentRecord& payment, const Person& p) {
  for (const auto& admin : settings().admins) {
    if (admin.role != AdminRole::kSupport) send_receipt_to(admin.telegram_id, payment, p);
  }
}

void ShopBot::Impl::send_receipt_to(std::int64_t admin_telegram_id, const payments::PaymentRecord& payment,
                                    const Person& p) {
  const Lang lang = admin_lang(admin_telegram_id);
  auto kb = keyboard(lang);
  kb.button("✅ " + t(lang, "shop.review.approve"), "rv", {payment.id, std::string("ok")})
      .button("❌ " + t(lang, "shop.review.reject"), "rv", {payment.id, std::string("no")});
  telegram::SendPhoto photo;
  photo.chat_id = admin_telegram_id;
  photo.photo = telegram::InputFile::from_reference(payment.receipt_file_id.value_or(""));
  std::string caption = t(lang, "shop.review.caption",
                          {{"id", std::to_string(payment.id)},
                           {"amount", money(payment.amount, lang)},
                           {"exact", std::to_string(payment.amount.minor)},
                           {"name", p.first_name},
                           {"user", std::to_string(p.telegram_id)},
                           {"username", p.username.empty() ? "-" : "@" + p.username}});
  if (payment.flag) caption += "\n⚠️ " + t(lang, "shop.review.flag." + *payment.flag);
  photo.caption = std::move(caption);
  photo.reply_markup = built(kb);
  if (auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr) ctx->send(photo);
}

// An admin's approve/reject button: works once, whoever presses first; later presses are
// told who decided.
void ShopBot::Impl::review(Turn& turn) {
  const auto s = settings();
  auto role = s.role_of(turn.user_id());
  const Lang lang = admin_lang(turn.user_id());
  if (!role || *role == AdminRole::kSupport) return turn.answer(t(lang, "error.permission_denied"), true);
  auto payment_id = turn.callback()->int_at(0);
  auto verdict = turn.callback()->string_at(1);
  if (!payment_id || !verdict) return turn.answer();
  auto decided = *verdict == "ok" ? deps.payments->approve(*payment_id, turn.user_id())
                                  : deps.payments->reject(*payment_id, turn.user_id(), "rejected by an admin");
  if (!decided) {
    if (decided.error().code == ErrorCode::kConflict) {
      // The state it is in now, named in the reviewer's language.
      auto now = deps.payments->get(*payment_id);
      const std::string state = now ? t(lang, payments::state_key(now->state)) : "-";
      return turn.answer(t(lang, "shop.review.already", {{"state", state}}), true);
    }
    return oops(turn, lang, decided.error());
  }
  const bool ok = *verdict == "ok";
  turn.answer(t(lang, ok ? "shop.review.approved" : "shop.review.rejected"));
  // The button is gone from this admin's message; the caption says who decided.
  telegram::EditMessageReplyMarkup e;
  e.chat_id = turn.chat_id();
  e.message_id = turn.update.callback_query->message ? turn.update.callback_query->message->message_id : 0;
  turn.bot.client().call(e, [](auto) {});
  turn.reply(t(lang, ok ? "shop.review.approved_by" : "shop.review.rejected_by",
               {{"id", std::to_string(*payment_id)}, {"admin", std::to_string(turn.user_id())}}));
  if (!ok) {
    // The payer may send another receipt: back to waiting for one.
    if (auto person = store.person(decided->user_id); person && *person) {
      (void)send_to((*person)->telegram_id, t((*person)->lang, "shop.receipt.rejected"));
    }
  }
  kick_outbox();
}

// The package's limit on people with an active service: someone who has one may buy more;
// a newcomer over the limit is refused, and the owner is told (at most once an hour).
bool ShopBot::Impl::within_package(const Person& p) {
  if (!deps.max_users_with_service) return true;
  auto counted = deps.db->with_session([&](storage::Session& s) -> Result<std::pair<bool, std::int64_t>> {
    auto mine =
        s.query_one("SELECT 1 AS v FROM services WHERE status = 'active' AND user_id = :u LIMIT 1", {{"u", p.id}});
    if (!mine) return fail(std::move(mine.error()));
    if (*mine) return std::pair{true, std::int64_t{0}};
    auto all = s.query_one("SELECT count(DISTINCT user_id) AS n FROM services WHERE status = 'active'");
    if (!all) return fail(std::move(all.error()));
    return std::pair{false, (*all)->get_int("n")};
  });
  if (!counted) return true;  // a database hiccup is not a reason to refuse a sale
  if (counted->first || counted->second < *deps.max_users_with_service) return true;
  const std::int64_t t_now = now();
  if (t_now - limit_told_at_.exchange(t_now) >= 3600) {
    (void)notify_owner("limit.users_with_service",
                       {{"package", deps.package_name}, {"limit", std::to_string(*deps.max_users_with_service)}});
  }
  return false;
}

void ShopBot::Impl::take_trial(Turn& turn, const Person& p) {
  const auto s = settings();
  if (!within_package(p)) return turn.answer(t(p.lang, "shop.limit.not_selling"), true);
  if (!s.trial.enabled) return turn.answer(t(p.lang, "shop.trial.off"), true);
  std::optional<std::int64_t> panel_id = s.trial.panel_id;
  if (!panel_id) {
    auto locations = store.locations();
    if (!locations || locations->empty()) return turn.answer(t(p.lang, "shop.buy.nothing"), true);
    panel_id = locations->front().panel_id;
  }
  if (auto taken = store.take_trial(p.id, now()); !taken) {
    if (taken.error().code == ErrorCode::kConflict) return turn.answer(t(p.lang, "shop.trial.used"), true);
    return oops(turn, p.lang, taken.error());
  }
  // A trial is an order of nothing, already paid, so it runs through the same resumable
  // provisioning as a purchase.
  OrderRow o;
  o.user_id = p.id;
  o.kind = "new";
  o.status = "paid";
  o.amount = Money{0, s.currency};
  o.note = "trial:" + std::to_string(*panel_id);
  auto id = store.create_order(o, now());
  if (!id) return oops(turn, p.lang, id.error());
  turn.answer();
  turn.reply(t(p.lang, "shop.trial.preparing"));
  if (auto done = fulfil(*id, 1); !done) {
    spdlog::warn("shop t{}: trial order {} not delivered yet: {}", deps.tenant_id, *id, done.error().to_string());
  }
}

void ShopBot::Impl::kick_outbox() {
  if (!hook) return;
  for (;;) {
    if (dispatching_.exchange(true)) {
      again_ = true;  // the running dispatcher goes round once more
      return;
    }
    again_ = false;
    auto n = deps.payments->dispatch_outbox(*hook);
    if (!n) spdlog::warn("shop t{}: outbox: {}", deps.tenant_id, n.error().to_string());
    dispatching_ = false;
    if (!again_.load()) return;
  }
}

}  // namespace ms::shop
