// The admins' catalog side: plans and locations, panels (a new one is probed first),
// discount codes, payment methods and card numbers, the shop's settings and its texts.
#include "shop/shop_impl.hpp"

namespace ms::shop {

void ShopBot::Impl::register_admin_catalog(telegram::Router& r) {
  // The owner's list of plans per panel, with the state of each panel.
  r.on_callback("a_cat", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto panels = panel_repo.list();
    if (!panels) return oops(turn, lang, panels.error());
    std::string text = t(lang, "shop.admin.catalog") + "\n";
    for (const auto& p : *panels) {
      text += "\n" + std::string(p.enabled && p.healthy ? "🟢 " : "🔴 ") + p.name;
      auto plans = store.plans(p.id);
      if (!plans) continue;
      for (const auto& plan : *plans) text += "\n   • " + plan.name + " · " + money(plan.price, lang);
    }
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });
}

}  // namespace ms::shop
