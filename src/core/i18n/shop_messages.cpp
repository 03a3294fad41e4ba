// The shop bot's texts (src/shop/), fa and en: menus, buying, payments, delivery, services,
// wallet, referral, support and the admins' side.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    DefaultMessage{"shop.unlimited", "نامحدود", "unlimited"},
    DefaultMessage{"shop.banned", "دسترسی شما به این ربات مسدود شده است.", "You are banned from this bot."},
};

}  // namespace

std::span<const DefaultMessage> shop_messages() { return kMessages; }

}  // namespace ms::i18n
