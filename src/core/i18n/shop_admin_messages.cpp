// The shop bot's admin side (src/bots/shop/admin*.cpp), fa and en: the menu, receipts, users, broadcasts, backups.
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
    DefaultMessage{"shop.admin.refresh", "به\u200cروزرسانی", "Refresh"},
    // Users
    DefaultMessage{"shop.admin.user.ask", "شناسه عددی تلگرام یا @نام\u200cکاربری شخص را بفرستید.",
                   "Send the person's Telegram id or @username."},
    DefaultMessage{"shop.admin.user.not_found", "کسی با این شناسه یا نام کاربری از ربات استفاده نکرده است.",
                   "Nobody with that id or username has used the bot."},
    DefaultMessage{"shop.admin.user.card",
                   "👤 {name} ({username})\n"
                   "🆔 تلگرام: {telegram_id} · شماره: {id}\n"
                   "💰 موجودی: {balance}\n"
                   "🚫 مسدود: {banned} · ربات را بلاک کرده: {blocked}\n"
                   "📅 عضویت: {joined}",
                   "👤 {name} ({username})\n"
                   "🆔 Telegram: {telegram_id} · number: {id}\n"
                   "💰 Balance: {balance}\n"
                   "🚫 Banned: {banned} · Blocked the bot: {blocked}\n"
                   "📅 Joined: {joined}"},
    DefaultMessage{"shop.admin.user.services", "📦 سرویس\u200cها:", "📦 Services:"},
    DefaultMessage{"shop.admin.user.service_line", "• {name}: {status} · تا {date}", "• {name}: {status} · until {date}"},
    DefaultMessage{"shop.admin.user.orders", "🧾 آخرین سفارش\u200cها:", "🧾 Last orders:"},
    DefaultMessage{"shop.admin.user.order_line", "• سفارش #{id} {kind} · {amount} · {status} · {date}",
                   "• order #{id} {kind} · {amount} · {status} · {date}"},
    DefaultMessage{"shop.admin.user.none", "— ندارد", "— none"},
    DefaultMessage{"shop.admin.user.balance_button", "تغییر موجودی", "Change balance"},
    DefaultMessage{"shop.admin.user.ban_button", "🚫 مسدود کردن", "🚫 Ban"},
    DefaultMessage{"shop.admin.user.unban_button", "✅ رفع مسدودی", "✅ Unban"},
    DefaultMessage{"shop.admin.user.message_button", "پیام به کاربر", "Message them"},
    DefaultMessage{"shop.admin.user.another", "جستجوی کاربر دیگر", "Find another"},
    DefaultMessage{"shop.admin.user.ask_amount",
                   "مبلغ تغییر را به واحد پول فروشگاه (تومان برای ریال) بفرستید: مثلاً +50000 برای افزایش یا -20000 "
                   "برای کاهش.",
                   "Send the change in the shop's currency (Toman for Rial): +50000 to add, -20000 to take."},
    DefaultMessage{"shop.admin.user.bad_amount", "یک عدد با + یا - بفرستید (مثلاً +50000).",
                   "Send a number with + or - (for example +50000)."},
    DefaultMessage{"shop.admin.user.ask_reason", "دلیل این تغییر را کوتاه بنویسید (در تاریخچه کیف پول می\u200cماند).",
                   "Why? A short reason (kept in the wallet's history)."},
    DefaultMessage{"shop.admin.user.balance_done", "✅ موجودی {delta} تغییر کرد. موجودی جدید: {balance}",
                   "✅ Balance changed by {delta}. New balance: {balance}"},
    DefaultMessage{"shop.admin.user.balance_refused",
                   "⛔️ تغییری داده نشد: موجودی نمی\u200cتواند منفی شود (موجودی فعلی: {balance}).",
                   "⛔️ Not changed: the balance cannot go below zero (now {balance})."},
    DefaultMessage{"shop.admin.user.not_admins", "مدیران فروشگاه را نمی\u200cتوان مسدود کرد.",
                   "The shop's admins cannot be banned."},
    DefaultMessage{"shop.admin.user.banned_now", "کاربر مسدود شد.", "Banned."},
    DefaultMessage{"shop.admin.user.unbanned_now", "مسدودی کاربر برداشته شد.", "Unbanned."},
    DefaultMessage{"shop.admin.user.ask_message", "متن پیام برای این کاربر را بفرستید.",
                   "Send the message for this person."},
    DefaultMessage{"shop.admin.user.message_header", "📩 پیام از طرف فروشگاه:\n\n{text}",
                   "📩 A message from the shop:\n\n{text}"},
    DefaultMessage{"shop.admin.user.message_sent", "✅ پیام فرستاده شد.", "✅ Sent."},
    DefaultMessage{"shop.admin.user.message_blocked", "این کاربر ربات را بلاک کرده است؛ پیام نرسید.",
                   "This person has blocked the bot; the message did not reach them."},
    // Broadcasts
    DefaultMessage{"shop.admin.bc.audience", "📣 پیام همگانی برای چه کسانی فرستاده شود؟",
                   "📣 Who should get the broadcast?"},
    DefaultMessage{"shop.admin.bc.ask_content",
                   "پیامی را که باید برای همه فرستاده شود بفرستید: متن، عکس (با توضیح) یا یک پیام فورواردشده.",
                   "Send the message to broadcast: text, a photo (with a caption) or a forwarded message."},
    DefaultMessage{"shop.admin.bc.bad_content", "این نوع پیام را نمی\u200cتوان همگانی فرستاد. متن، عکس یا فوروارد بفرستید.",
                   "This kind of message cannot be broadcast. Send text, a photo or a forward."},
    DefaultMessage{"shop.admin.bc.confirm", "این پیام برای «{audience}» فرستاده شود؟",
                   "Send this to {audience}?"},
    DefaultMessage{"shop.admin.bc.send_button", "ارسال", "Send"},
    DefaultMessage{"shop.admin.bc.started", "📣 ارسال همگانی شروع شد؛ پیشرفت آن در پیام بعدی است.",
                   "📣 The broadcast has started; its progress is in the next message."},
    DefaultMessage{"shop.admin.bc.pause_done", "متوقف شد.", "Paused."},
    DefaultMessage{"shop.admin.bc.resume_done", "ادامه پیدا کرد.", "Resumed."},
    DefaultMessage{"shop.admin.bc.cancel_done", "لغو شد.", "Cancelled."},
    DefaultMessage{"shop.admin.bc.not_now", "این کار برای این پیام همگانی اکنون ممکن نیست.",
                   "This broadcast cannot do that now."},
    // Backups
    DefaultMessage{"shop.admin.backup.preparing", "در حال آماده\u200cسازی نسخه پشتیبان…", "Preparing the backup…"},
    DefaultMessage{"shop.admin.backup.caption", "💾 نسخه پشتیبان اطلاعات فروشگاه، {date}",
                   "💾 Backup of your shop's data, {date}"},
};

}  // namespace

std::span<const DefaultMessage> shop_admin_messages() { return kMessages; }

}  // namespace ms::i18n
