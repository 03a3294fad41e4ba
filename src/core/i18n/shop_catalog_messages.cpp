// The shop bot's catalog admin (src/shop/admin_catalog.cpp), fa and en: plans, panels, discounts, payment methods, settings, texts.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    DefaultMessage{"shop.admin.catalog", "پلن\u200cها و سرورها",
                   "Plans and servers"},
    DefaultMessage{"shop.admin.discounts", "کدهای تخفیف",
                   "Discount codes"},
    DefaultMessage{"shop.admin.payments", "روش\u200cهای پرداخت",
                   "Payment methods"},
    DefaultMessage{"shop.admin.settings", "تنظیمات",
                   "Settings"},
    DefaultMessage{"shop.admin.texts", "متن\u200cها",
                   "Texts"},
};

}  // namespace

std::span<const DefaultMessage> shop_catalog_messages() { return kMessages; }

}  // namespace ms::i18n
