// The master bot's desk, fa and en: support tickets (master.support.*), the operators'
// tools (master.ops.*, with the names of bot and subscription states) and the subscription
// lifecycle's notices (master.lifecycle.*).
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    // ---- support tickets: {id} ticket number, {subject}, {status}, {name} {username} {customer} ----
    DefaultMessage{"master.support.menu", "🎧 پشتیبانی", "🎧 Support"},
    DefaultMessage{
        "master.support.intro",
        "پشتیبانی: تیکت تازه باز کنید یا تیکت\u200cهای قبلی\u200cتان را ببینید. پاسخ همین\u200cجا می\u200cرسد.",
        "Support: open a new ticket or see your tickets. Answers arrive right here."},
    DefaultMessage{"master.support.new", "تیکت جدید", "New ticket"},
    DefaultMessage{"master.support.mine", "تیکت\u200cهای من", "My tickets"},
    DefaultMessage{"master.support.ask_subject", "موضوع تیکت را در یک خط بنویسید (حداکثر ۱۰۰ نویسه).",
                   "Write the subject of your ticket in one line (at most 100 characters)."},
    DefaultMessage{"master.support.ask_body",
                   "مشکل یا سؤالتان را بنویسید. می\u200cتوانید عکس هم بفرستید (با توضیح در زیرنویس).",
                   "Describe your problem or question. You may send a photo too (with a caption)."},
    DefaultMessage{"master.support.opened", "✅ تیکت #{id} ثبت شد. پاسخ پشتیبانی در همین ربات به شما می\u200cرسد.",
                   "✅ Ticket #{id} is open. Our answer will reach you in this bot."},
    DefaultMessage{"master.support.none", "هنوز تیکتی ندارید.", "You have no tickets yet."},
    DefaultMessage{"master.support.list", "تیکت\u200cهای شما:", "Your tickets:"},
    DefaultMessage{"master.support.list_line", "تیکت #{id} · {subject} · {status}", "#{id} · {subject} · {status}"},
    DefaultMessage{"master.support.status.open", "در انتظار پاسخ", "waiting for an answer"},
    DefaultMessage{"master.support.status.answered", "پاسخ داده شد", "answered"},
    DefaultMessage{"master.support.status.closed", "بسته", "closed"},
    DefaultMessage{"master.support.ticket", "🎫 تیکت #{id}: {subject}\nوضعیت: {status}",
                   "🎫 Ticket #{id}: {subject}\nStatus: {status}"},
    DefaultMessage{"master.support.you", "شما", "You"},
    DefaultMessage{"master.support.team", "پشتیبانی", "Support"},
    DefaultMessage{"master.support.add", "افزودن پیام", "Add a message"},
    DefaultMessage{"master.support.reply", "پاسخ", "Reply"},
    DefaultMessage{"master.support.is_closed", "این تیکت بسته شده است؛ برای موضوع تازه، تیکت جدید باز کنید.",
                   "This ticket is closed; open a new ticket for anything new."},
    DefaultMessage{"master.support.ask_more", "پیامتان برای تیکت #{id} را بنویسید یا عکس بفرستید.",
                   "Write your message for ticket #{id}, or send a photo."},
    DefaultMessage{"master.support.added", "✅ پیام شما به تیکت #{id} افزوده شد.",
                   "✅ Your message was added to ticket #{id}."},
    DefaultMessage{"master.support.answer", "پاسخ", "Answer"},
    DefaultMessage{"master.support.close", "بستن", "Close"},
    DefaultMessage{"master.support.op_new",
                   "🎫 تیکت جدید #{id} از {name} ({username}، مشتری #{customer})\nموضوع: {subject}",
                   "🎫 New ticket #{id} from {name} ({username}, customer #{customer})\nSubject: {subject}"},
    DefaultMessage{"master.support.op_message",
                   "💬 پیام تازه در تیکت #{id} از {name} ({username}، مشتری #{customer})\nموضوع: {subject}",
                   "💬 New message on ticket #{id} from {name} ({username}, customer #{customer})\nSubject: {subject}"},
    DefaultMessage{"master.support.write_answer", "پاسخ تیکت #{id} را بنویسید یا عکس بفرستید.",
                   "Write your answer to ticket #{id}, or send a photo."},
    DefaultMessage{"master.support.answered", "🎧 پاسخ پشتیبانی به تیکت #{id}:", "🎧 Support's answer on ticket #{id}:"},
    DefaultMessage{"master.support.sent_answer", "✅ پاسخ تیکت #{id} برای مشتری فرستاده شد.",
                   "✅ Your answer on ticket #{id} was sent to the customer."},
    DefaultMessage{"master.support.already_closed", "این تیکت قبلاً بسته شده است.", "This ticket was already closed."},
    DefaultMessage{"master.support.closed_op", "تیکت #{id} بسته شد.", "Ticket #{id} is closed."},
    DefaultMessage{"master.support.closed", "تیکت #{id} بسته شد. از پاسخ ما چقدر راضی بودید؟ از ۱ تا ۵ ستاره بدهید.",
                   "Ticket #{id} is closed. How happy were you with our answer? Rate it from 1 to 5 stars."},
    DefaultMessage{"master.support.rated_before", "به این تیکت قبلاً امتیاز داده\u200cاید. سپاس!",
                   "You already rated this ticket. Thank you!"},
    DefaultMessage{"master.support.thanks", "🙏 سپاس! به تیکت #{id} امتیاز {stars} از ۵ دادید.",
                   "🙏 Thank you! You rated ticket #{id} {stars} out of 5."},

    // ---- operators ----
    DefaultMessage{"master.ops.refused",
                   "⛔️ این بخش فقط برای اپراتورهای مادرشیپ است.",
                   "⛔️ This is for Mothership's operators only."},
    DefaultMessage{"master.ops.menu", "🛠 اپراتورها", "🛠 Operators"},
    DefaultMessage{"master.ops.title", "🛠 ابزار اپراتورها", "🛠 Operators' tools"},
    DefaultMessage{"master.ops.find", "یافتن مشتری", "Find a customer"},
    DefaultMessage{"master.ops.health", "سلامت ربات\u200cها", "Bots' health"},
    DefaultMessage{"master.ops.figures", "آمار", "Figures"},
    DefaultMessage{"master.ops.payments", "پرداخت\u200cهای در انتظار بررسی", "Payments to review"},
    DefaultMessage{"master.ops.ask_customer", "شناسهٔ تلگرام، @نام\u200cکاربری یا شمارهٔ مشتری (مثل #12) را بفرستید.",
                   "Send a Telegram id, an @username or a customer number (like #12)."},
    DefaultMessage{"master.ops.not_found", "مشتری\u200cای با این مشخصات پیدا نشد؛ دوباره بفرستید.",
                   "No customer matches that; send another."},
    DefaultMessage{"master.ops.card",
                   "👤 مشتری #{id}: {name}\nنام\u200cکاربری: {username} · تلگرام: {telegram_id}\nعضویت: {joined}",
                   "👤 Customer #{id}: {name}\nUsername: {username} · Telegram: {telegram_id}\nJoined: {joined}"},
    DefaultMessage{"master.ops.card_package", "📦 بسته: {package} ({cycle}) · وضعیت: {state} · پایان: {end}",
                   "📦 Package: {package} ({cycle}) · state: {state} · ends: {end}"},
    DefaultMessage{"master.ops.card_no_package", "📦 بسته\u200cای ندارد.", "📦 No package."},
    DefaultMessage{"master.ops.card_bots", "🤖 ربات\u200cها:", "🤖 Bots:"},
    DefaultMessage{"master.ops.card_bot", "#{id} {bot} · {state} · آخرین نشانهٔ حیات: {heartbeat}",
                   "#{id} {bot} · {state} · last heartbeat: {heartbeat}"},
    DefaultMessage{"master.ops.card_payments", "💳 آخرین پرداخت\u200cها:", "💳 Recent payments:"},
    DefaultMessage{"master.ops.card_payment", "پرداخت #{id} · {amount} · {provider} · {status} · {date}",
                   "#{id} · {amount} · {provider} · {status} · {date}"},
    DefaultMessage{"master.ops.none", "هیچ", "none"},
    DefaultMessage{"master.ops.never", "هرگز", "never"},
    DefaultMessage{"master.ops.message", "پیام به مشتری", "Message the customer"},
    DefaultMessage{"master.ops.ask_message", "متن پیام برای مشتری #{id} را بنویسید.",
                   "Write the message for customer #{id}."},
    DefaultMessage{"master.ops.from_team", "📩 پیامی از تیم مادرشیپ:", "📩 A message from the Mothership team:"},
    DefaultMessage{"master.ops.sent", "✅ پیام برای مشتری #{id} فرستاده شد.", "✅ Message sent to customer #{id}."},
    DefaultMessage{"master.ops.blocked", "این مشتری ربات را مسدود کرده است؛ پیام نرسید.",
                   "This customer blocked the bot; the message was not delivered."},
    DefaultMessage{"master.ops.not_sent", "پیام فرستاده نشد؛ کمی بعد دوباره امتحان کنید.",
                   "The message could not be sent; try again in a moment."},
    DefaultMessage{"master.ops.health_head",
                   "🩺 {total} ربات · {failed} خراب · {stale} بی\u200cنشانه",
                   "🩺 {total} bots · {failed} failed · {stale} stale"},
    DefaultMessage{"master.ops.health_line", "#{id} {bot} · مشتری #{customer} · {state} · نشانهٔ حیات: {heartbeat}",
                   "#{id} {bot} · customer #{customer} · {state} · heartbeat: {heartbeat}"},
    DefaultMessage{"master.ops.stale", "بی\u200cنشانه", "stale"},
    DefaultMessage{"master.ops.last_error", "آخرین خطا: {error}", "last error: {error}"},
    DefaultMessage{"master.ops.refresh", "تازه\u200cسازی", "Refresh"},
    DefaultMessage{"master.ops.ago_s", "{n} ثانیه پیش", "{n} s ago"},
    DefaultMessage{"master.ops.ago_min", "{n} دقیقه پیش", "{n} min ago"},
    DefaultMessage{"master.ops.ago_h", "{n} ساعت پیش", "{n} h ago"},
    DefaultMessage{"master.ops.seconds", "{n} ثانیه", "{n} s"},
    DefaultMessage{"master.ops.rating", "{average} از ۵ ({count} امتیاز)", "{average} of 5 ({count} ratings)"},
    DefaultMessage{"master.ops.no_ratings", "هنوز امتیازی نیست", "no ratings yet"},
    DefaultMessage{"master.ops.deploy_time", "{time} (میانگین {count} استقرار)",
                   "{time} (average of {count} deployments)"},
    DefaultMessage{"master.ops.no_deploys", "هنوز استقراری زمان\u200cسنجی نشده", "no deployment timed yet"},
    DefaultMessage{"master.ops.figures_text",
                   "📊 آمار\nمشتریان: {customers}\nمشتریان تازه در ۸ هفتهٔ اخیر (قدیمی به جدید): {weeks}\n"
                   "درآمد ماهانهٔ تکرارشونده: {mrr}\nمیانگین زمان استقرار: {deploy}\nرضایت: {satisfaction}",
                   "📊 Figures\nCustomers: {customers}\nNew customers, last 8 weeks (oldest first): {weeks}\n"
                   "MRR: {mrr}\nAverage deployment time: {deploy}\nSatisfaction: {satisfaction}"},

    // Names of a bot instance's states (domain::BotState) and of a subscription's.
    DefaultMessage{"master.bot_state.created", "ساخته\u200cشده", "created"},
    DefaultMessage{"master.bot_state.token_verified", "توکن تأییدشده", "token verified"},
    DefaultMessage{"master.bot_state.tenant_ready", "پایگاه داده آماده", "database ready"},
    DefaultMessage{"master.bot_state.configured", "پیکربندی\u200cشده", "configured"},
    DefaultMessage{"master.bot_state.starting", "در حال راه\u200cاندازی", "starting"},
    DefaultMessage{"master.bot_state.running", "در حال کار", "running"},
    DefaultMessage{"master.bot_state.restarting", "در حال راه\u200cاندازی دوباره", "restarting"},
    DefaultMessage{"master.bot_state.stopped", "متوقف", "stopped"},
    DefaultMessage{"master.bot_state.failed", "خراب", "failed"},
    DefaultMessage{"master.bot_state.suspended", "معلق", "suspended"},
    DefaultMessage{"master.bot_state.deleting", "در حال حذف", "deleting"},
    DefaultMessage{"master.bot_state.deleted", "حذف\u200cشده", "deleted"},
    DefaultMessage{"master.sub_state.trial", "آزمایشی", "trial"},
    DefaultMessage{"master.sub_state.active", "فعال", "active"},
    DefaultMessage{"master.sub_state.grace", "مهلت پس از پایان", "grace"},
    DefaultMessage{"master.sub_state.suspended", "معلق", "suspended"},
    DefaultMessage{"master.sub_state.cancelled", "لغوشده", "cancelled"},
    DefaultMessage{"master.sub_state.erased", "پاک\u200cشده", "erased"},
    DefaultMessage{"master.desk.cycle.monthly", "ماهانه", "monthly"},
    DefaultMessage{"master.desk.cycle.yearly", "سالانه", "yearly"},

    // ---- the subscription lifecycle: {package}, {date} (period end), {days} (left),
    // {until} (grace end), {erase_date} ----
    DefaultMessage{"master.lifecycle.end_7d",
                   "⏳ بستهٔ {package} شما {days} روز دیگر، در {date}، تمام می\u200cشود. برای اینکه ربات\u200cهایتان "
                   "بی\u200cوقفه کار کنند، از منوی اصلی (/start) تمدید کنید.",
                   "⏳ Your {package} package ends in {days} days, on {date}. Renew it from the main menu (/start) "
                   "to keep your bots running."},
    DefaultMessage{"master.lifecycle.end_3d",
                   "⏳ فقط {days} روز تا پایان بستهٔ {package} ({date}) مانده است. از منوی اصلی (/start) تمدید کنید.",
                   "⏳ Only {days} days left on your {package} package (ends {date}). Renew it from the main menu "
                   "(/start)."},
    DefaultMessage{"master.lifecycle.end_1d",
                   "⚠️ بستهٔ {package} شما فردا، {date}، تمام می\u200cشود. همین حالا از منوی اصلی (/start) "
                   "تمدید "
                   "کنید.",
                   "⚠️ Your {package} package ends tomorrow, {date}. Renew it now from the main menu (/start)."},
    DefaultMessage{
        "master.lifecycle.grace",
        "⌛️ بستهٔ {package} شما در {date} تمام شد. ربات\u200cهایتان تا {until} همچنان "
        "کار "
        "می\u200cکنند؛ "
        "تا آن موقع از منوی اصلی (/start) تمدید کنید تا متوقف نشوند.",
        "⌛️ Your {package} package ended on {date}. Your bots keep running until {until}; renew from the "
        "main menu (/start) before then so they are not paused."},
    DefaultMessage{"master.lifecycle.suspended",
                   "⏸ ربات\u200cهای شما معلق شدند: بستهٔ {package} در {date} تمام شد و مهلت آن هم "
                   "گذشت. "
                   "کاربران "
                   "ربات\u200cها پیام «سرویس موقتاً متوقف است» می\u200cبینند. با تمدید از منوی اصلی (/start) همه "
                   "بی\u200cدرنگ دوباره کار می\u200cکنند. داده\u200cهایتان تا {erase_date} نگه داشته می\u200cشود.",
                   "⏸ Your bots are paused: your {package} package ended on {date} and its grace period is over. "
                   "Their users see that the service is paused. Renew from the main menu (/start) and everything "
                   "runs again at once. Your data is kept until {erase_date}."},
    DefaultMessage{"master.lifecycle.erase_7d",
                   "⚠️ داده\u200cهای ربات\u200cهای شما (کاربران، سفارش\u200cها، پنل\u200cها) {days} روز "
                   "دیگر، "
                   "در "
                   "{erase_date}، برای همیشه پاک می\u200cشود، مگر اینکه بستهٔ {package} را از منوی اصلی (/start) "
                   "تمدید کنید.",
                   "⚠️ Your bots' data (users, orders, panels) will be erased for good in {days} days, on "
                   "{erase_date}, unless you renew your {package} package from the main menu (/start)."},
    DefaultMessage{"master.lifecycle.erase_1d",
                   "🚨 داده\u200cهای ربات\u200cهای شما فردا، {erase_date}، برای همیشه پاک می\u200cشود. برای نگه "
                   "داشتن آن\u200cها همین حالا بستهٔ {package} را از منوی اصلی (/start) تمدید کنید.",
                   "🚨 Your bots' data will be erased for good tomorrow, {erase_date}. Renew your {package} package "
                   "from the main menu (/start) now to keep it."},
    DefaultMessage{"master.lifecycle.erased",
                   "🗑 چون بستهٔ {package} تمدید نشد، ربات\u200cها و داده\u200cهایشان پاک شدند. هر "
                   "زمان "
                   "بخواهید "
                   "می\u200cتوانید از منوی اصلی (/start) دوباره شروع کنید.",
                   "🗑 Your {package} package was not renewed, so your bots and their data were erased. You can "
                   "start again any time from the main menu (/start)."},
    // Upgrade/downgrade refused: {package} {limit} {current} {excess}.
    DefaultMessage{"master.lifecycle.does_not_fit",
                   "تغییر به بستهٔ {package} ممکن نیست:", "You can't switch to the {package} package yet:"},
    DefaultMessage{"master.lifecycle.excess.shop_bots",
                   "بستهٔ {package} حداکثر {limit} ربات فروش دارد و شما {current} ربات دارید؛ {excess} ربات را حذف "
                   "کنید.",
                   "The {package} package allows {limit} shop bots and you have {current}; remove {excess}."},
    DefaultMessage{"master.lifecycle.excess.panels",
                   "بستهٔ {package} حداکثر {limit} پنل دارد و شما {current} پنل دارید؛ {excess} پنل را حذف کنید.",
                   "The {package} package allows {limit} panels and you have {current}; remove {excess}."},
    DefaultMessage{"master.lifecycle.excess.users_with_service",
                   "بستهٔ {package} حداکثر {limit} کاربر دارای سرویس دارد و شما {current} کاربر دارید ({excess} بیش "
                   "از سقف).",
                   "The {package} package allows {limit} end users with a service and you have {current} ({excess} "
                   "over)."},
};

}  // namespace

std::span<const DefaultMessage> master_desk_messages() { return kMessages; }

}  // namespace ms::i18n
