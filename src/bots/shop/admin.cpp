// The owner's side of the shop bot: /admin opens a menu for the people in settings.admins
// (owner and admin see everything; support sees tickets and users). Each section registers
// its own buttons: admin_people.cpp (statistics, card receipts, users, broadcasts, backup)
// and admin_catalog.cpp (plans, panels, discount codes, payment methods, settings, texts).
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

std::optional<AdminRole> ShopBot::Impl::admin_gate(Turn& turn, bool owner_or_admin) {
  auto role = settings().role_of(turn.user_id());
  if (!role || (owner_or_admin && *role == AdminRole::kSupport)) {
    turn.answer(t(Lang::kFa, "error.permission_denied"), true);
    return std::nullopt;
  }
  return role;
}

Lang ShopBot::Impl::admin_lang(std::int64_t telegram_id) {
  auto p = store.person_by_telegram(telegram_id);
  return p && *p ? (*p)->lang : Lang::kFa;
}

void ShopBot::Impl::show_admin_menu(Turn& turn, AdminRole role) {
  const Lang lang = admin_lang(turn.user_id());
  auto kb = keyboard(lang);
  kb.columns(2);
  if (role != AdminRole::kSupport) {
    kb.button("📊 " + t(lang, "shop.admin.stats"), "a_stats").button("🧾 " + t(lang, "shop.admin.receipts"), "a_rcpt");
  }
  kb.button("👥 " + t(lang, "shop.admin.users"), "a_users");
  if (role != AdminRole::kSupport) {
    kb.button("📣 " + t(lang, "shop.admin.broadcast"), "a_bc")
        .button("📦 " + t(lang, "shop.admin.catalog"), "a_cat")
        .button("🎟 " + t(lang, "shop.admin.discounts"), "a_disc")
        .button("💳 " + t(lang, "shop.admin.payments"), "a_pay")
        .button("⚙️ " + t(lang, "shop.admin.settings"), "a_set")
        .button("✏️ " + t(lang, "shop.admin.texts"), "a_txt")
        .button("💾 " + t(lang, "shop.admin.backup"), "a_bak");
  }
  kb.row().button(t(lang, "common.back"), "menu");
  auto text = t(lang, "shop.admin.title", {{"role", t(lang, "shop.admin.role." + std::string(to_string(role)))}});
  if (turn.callback()) {
    turn.answer();
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void ShopBot::Impl::register_admin(telegram::Router& r) {
  r.on_command("admin", [this](Turn& turn) {
    turn.end();
    auto role = settings().role_of(turn.user_id());
    if (!role) {
      if (auto p = gate(turn)) show_menu(turn, *p);  // to everyone else, /admin is just the menu
      return;
    }
    show_admin_menu(turn, *role);
  });
  r.on_callback("admin", [this](Turn& turn) {
    turn.end();
    if (auto role = admin_gate(turn)) show_admin_menu(turn, *role);
  });
  register_admin_people(r);
  register_admin_catalog(r);
}

}  // namespace ms::shop
