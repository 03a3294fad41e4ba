// The shop bot's notices (from the scheduler), broadcasts and statistics, fa and en.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    DefaultMessage{"shop.notice.traffic_80", "⚠️ ۸۰٪ حجم سرویس {service} مصرف شده است.\n{bar} {used} از {total}",
                   "⚠️ 80% of the traffic of {service} is used.\n{bar} {used} of {total}"},
    DefaultMessage{"shop.notice.traffic_95", "⛔️ ۹۵٪ حجم سرویس {service} مصرف شده است.\n{bar} {used} از {total}",
                   "⛔️ 95% of the traffic of {service} is used.\n{bar} {used} of {total}"},
    DefaultMessage{"shop.notice.expiry_3d", "⏳ سرویس {service} سه روز دیگر ({date}) تمام می\u200cشود.",
                   "⏳ {service} ends in three days ({date})."},
    DefaultMessage{"shop.notice.expiry_1d", "⏳ سرویس {service} فردا ({date}) تمام می\u200cشود.",
                   "⏳ {service} ends tomorrow ({date})."},
    DefaultMessage{"shop.notice.expired", "❌ سرویس {service} به پایان رسید. برای تمدید از «سرویس‌های من» اقدام کنید.",
                   "❌ {service} has ended. Renew it from \"My services\"."},
};

}  // namespace

std::span<const DefaultMessage> shop_notice_messages() { return kMessages; }

}  // namespace ms::i18n
