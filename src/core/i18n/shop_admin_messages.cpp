// The shop bot's admin side (src/shop/admin*.cpp), fa and en: the menu, receipts, users, broadcasts, backups.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    DefaultMessage{"shop.admin.title", "⚙️ مدیریت فروشگاه ({role})",
                   "⚙️ Shop admin ({role})"},
    DefaultMessage{"shop.admin.role.owner", "مالک",
                   "owner"},
    DefaultMessage{"shop.admin.role.admin", "مدیر",
                   "admin"},
    DefaultMessage{"shop.admin.role.support", "پشتیبان",
                   "support"},
    DefaultMessage{"shop.admin.stats", "آمار",
                   "Statistics"},
    DefaultMessage{"shop.admin.receipts", "رسیدها",
                   "Receipts"},
    DefaultMessage{"shop.admin.users", "کاربران",
                   "Users"},
    DefaultMessage{"shop.admin.broadcast", "پیام همگانی",
                   "Broadcast"},
    DefaultMessage{"shop.admin.backup", "پشتیبان\u200cگیری",
                   "Backup"},
    DefaultMessage{"shop.admin.no_receipts", "رسیدی در انتظار بررسی نیست.",
                   "No receipt is waiting for review."},
};

}  // namespace

std::span<const DefaultMessage> shop_admin_messages() { return kMessages; }

}  // namespace ms::i18n
