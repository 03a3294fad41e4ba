// The shop bot's notices (from the scheduler), broadcasts and statistics, fa and en.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

// Placeholders: {service} (the account name people see in "My services"); traffic notices
// {bar} {used} {total} {percent} {left}; expiry notices {date} (Jalali in Persian) {time}
// {days} {hours} (left, rounded up).
constexpr std::array kMessages = {
    DefaultMessage{"shop.notice.traffic_80",
                   "⚠️ {percent}٪ حجم سرویس {service} مصرف شده است.\n"
                   "{bar} {used} از {total}\n"
                   "باقی‌مانده: {left}",
                   "⚠️ {percent}% of the traffic of {service} is used.\n{bar} {used} of {total}\nLeft: {left}"},
    DefaultMessage{
        "shop.notice.traffic_95",
        "⛔️ {percent}٪ حجم سرویس {service} مصرف شده "
        "و به‌زودی قطع می‌شود.\n"
        "{bar} {used} از {total}\n"
        "برای افزودن حجم یا تمدید از «سرویس‌های من» اقدام کنید.",
        "⛔️ {percent}% of the traffic of {service} is used; it stops soon.\n{bar} {used} of {total}\n"
        "Add traffic or renew it from \"My services\"."},
    DefaultMessage{"shop.notice.expiry_3d", "⏳ سرویس {service} {days} روز دیگر، در {date}، تمام می\u200cشود.",
                   "⏳ {service} ends in {days} days, on {date}."},
    DefaultMessage{"shop.notice.expiry_1d",
                   "⏳ سرویس {service} کمتر از یک روز دیگر ({date} ساعت {time}) تمام می\u200cشود.\n"
                   "برای تمدید از «سرویس‌های من» اقدام کنید.",
                   "⏳ {service} ends in less than a day ({date} at {time}).\nRenew it from \"My services\"."},
    DefaultMessage{"shop.notice.expired",
                   "❌ سرویس {service} در {date} به پایان رسید.\n"
                   "برای تمدید از «سرویس‌های من» اقدام کنید.",
                   "❌ {service} ended on {date}.\nRenew it from \"My services\"."},
    DefaultMessage{"shop.notice.renew_button", "🔄 تمدید", "🔄 Renew"},
    DefaultMessage{"shop.notice.services_button", "📦 سرویس‌های من", "📦 My services"},
    DefaultMessage{
        "shop.broadcast.progress",
        "📣 پیام همگانی #{id}: {state}\n"
        "{bar} {done} از {total} ({percent}٪)\n"
        "✅ ارسال‌شده: {sent} · ❌ ناموفق: {failed} · 🚫 مسدودکرده: {blocked}\n"
        "⚡️ {rate} پیام در ثانیه · ⏳ زمان باقی‌مانده: {eta}",
        "📣 Broadcast #{id}: {state}\n{bar} {done} of {total} ({percent}%)\n"
        "✅ sent: {sent} · ❌ failed: {failed} · 🚫 blocked: {blocked}\n"
        "⚡️ {rate} messages/s · ⏳ time left: {eta}"},
    DefaultMessage{"shop.broadcast.state.queued", "در صف", "queued"},
    DefaultMessage{"shop.broadcast.state.running", "در حال ارسال", "sending"},
    DefaultMessage{"shop.broadcast.state.paused", "متوقف (موقت)", "paused"},
    DefaultMessage{"shop.broadcast.state.done", "تمام شد", "done"},
    DefaultMessage{"shop.broadcast.state.cancelled", "لغو شد", "cancelled"},
    DefaultMessage{"shop.broadcast.pause_button", "⏸ توقف", "⏸ Pause"},
    DefaultMessage{"shop.broadcast.resume_button", "▶️ ادامه", "▶️ Resume"},
    DefaultMessage{"shop.broadcast.cancel_button", "⏹ لغو", "⏹ Cancel"},
    DefaultMessage{"shop.broadcast.audience.all", "همه", "everyone"},
    DefaultMessage{"shop.broadcast.audience.active", "دارندگان سرویس فعال", "people with an active service"},
    DefaultMessage{"shop.broadcast.audience.expired", "سرویس منقضی‌شده", "people whose service expired"},
    DefaultMessage{"shop.broadcast.audience.never_bought", "کسانی که هنوز خرید نکرده‌اند",
                   "people who never bought"},
    DefaultMessage{"shop.stats.title", "📊 آمار فروشگاه", "📊 Shop statistics"},
    DefaultMessage{"shop.stats.people",
                   "👥 کاربران: {users}\n"
                   "🟢 دارای سرویس فعال: {with_service}\n"
                   "📦 سرویس‌های فعال: {active}",
                   "👥 People: {users}\n🟢 With an active service: {with_service}\n📦 Active services: {active}"},
    DefaultMessage{"shop.stats.sales_line", "💰 {label}: {count} فروش · {revenue}",
                   "💰 {label}: {count} sales · {revenue}"},
    DefaultMessage{"shop.stats.today", "امروز", "Today"},
    DefaultMessage{"shop.stats.last_7_days", "۷ روز اخیر", "Last 7 days"},
    DefaultMessage{"shop.stats.last_30_days", "۳۰ روز اخیر", "Last 30 days"},
    DefaultMessage{"shop.stats.no_revenue", "بدون درآمد", "no revenue"},
    DefaultMessage{"shop.stats.top_plans",
                   "🏆 پرفروش‌ترین پلن‌ها (۳۰ روز):", "🏆 Top plans (30 days):"},
    DefaultMessage{"shop.stats.plan_line", "{rank}. {name}: {count} فروش · {revenue}",
                   "{rank}. {name}: {count} sales · {revenue}"},
    DefaultMessage{"shop.stats.trials", "🎁 تست رایگان: {trials} نفر · خرید بعد از تست: {converted} ({percent}٪)",
                   "🎁 Free trials: {trials} · bought afterwards: {converted} ({percent}%)"},
    DefaultMessage{"shop.stats.campaigns",
                   "📣 کمپین‌ها (فروش ۳۰ روز):", "📣 Campaigns (sales in 30 days):"},
    DefaultMessage{"shop.stats.campaign_line", "#{campaign}: {people} نفر · {count} فروش · {revenue}",
                   "#{campaign}: {people} people · {count} sales · {revenue}"},
    DefaultMessage{"shop.stats.none", "— هنوز چیزی نیست", "— nothing yet"},
};

}  // namespace

std::span<const DefaultMessage> shop_notice_messages() { return kMessages; }

}  // namespace ms::i18n
