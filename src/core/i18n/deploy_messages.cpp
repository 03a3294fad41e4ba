// What a deployed shop bot says of itself (its commands and descriptions in Telegram's
// profile, set by the deploy pipeline) and the paused bot's answer, fa and en.
#include <array>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

constexpr std::array kMessages = {
    DefaultMessage{"deploy.command.start", "شروع و منوی اصلی", "Start and main menu"},
    DefaultMessage{"deploy.command.menu", "منوی اصلی", "Main menu"},
    DefaultMessage{"deploy.command.cancel", "لغو کار فعلی", "Cancel what you are doing"},
    DefaultMessage{"deploy.bot.description",
                   "فروشگاه سرویس VPN: خرید، تمدید و مدیریت سرویس\u200cها، کیف پول و پشتیبانی. برای شروع /start را "
                   "بزنید.",
                   "A VPN service shop: buy, renew and manage services, wallet and support. Press /start to begin."},
    DefaultMessage{"deploy.bot.short_description", "خرید و مدیریت سرویس VPN", "Buy and manage VPN services"},
    DefaultMessage{"deploy.paused",
                   "⏸ سرویس این فروشگاه موقتاً متوقف شده است و فعلاً خریدی انجام نمی\u200cشود. لطفاً بعداً سر "
                   "بزنید.",
                   "⏸ This shop's service is paused for now and nothing can be bought. Please check back later."},
    // Why a deployment or a bot failed (deploy::Failure), as owners read it.
    DefaultMessage{"deploy.failure.token_refused",
                   "تلگرام توکن ربات را نمی\u200cپذیرد (باطل یا عوض شده است). توکن تازه را از @BotFather بگیرید و در «ربات\u200cهای من» بفرستید.",
                   "Telegram refuses the bot's token (revoked or changed). Get a new one from @BotFather and send it in \"My bots\"."},
    DefaultMessage{"deploy.failure.token_taken", "این ربات را فروشگاه دیگری در Mothership اجرا می\u200cکند.",
                   "Another shop on Mothership already runs this bot."},
    DefaultMessage{"deploy.failure.telegram", "تلگرام پاسخ نداد.",
                   "Telegram did not answer."},
    DefaultMessage{"deploy.failure.no_sign_of_life", "ربات اجرا شد ولی به بررسی سلامت پاسخ نداد.",
                   "The bot was started but did not answer its health check."},
    DefaultMessage{"deploy.failure.backend", "سرور اجرای ربات\u200cها نتوانست آن را اجرا کند.",
                   "The server that runs bots could not start it."},
    DefaultMessage{"deploy.failure.lapsed", "بسته\u200cی شما تمام شده است؛ با تمدید، ربات دوباره کار می\u200cکند.",
                   "Your package has lapsed; the bot works again once it is renewed."},
    DefaultMessage{"deploy.failure.limit", "بسته\u200cی فعلی شما اجازه\u200cی این کار را نمی\u200cدهد؛ بسته را ارتقا دهید.",
                   "Your current package does not allow this; upgrade the package."},
    DefaultMessage{"deploy.failure.busy", "ربات در میانه\u200cی تغییر دیگری است یا در وضعیت فعلی این کار ممکن نیست؛ کمی بعد دوباره امتحان کنید.",
                   "The bot is in the middle of another change, or this is not possible in its current state; try again shortly."},
    DefaultMessage{"deploy.failure.unavailable", "سرویس موقتاً در دسترس نیست؛ کمی بعد دوباره امتحان کنید.",
                   "The service is unavailable for the moment; try again shortly."},
    DefaultMessage{"deploy.failure.other", "خطای پیش\u200cبینی\u200cنشده\u200cای رخ داد؛ اگر تکرار شد با پشتیبانی تماس بگیرید.",
                   "Something unexpected went wrong; if it happens again, contact support."},
};

}  // namespace

std::span<const DefaultMessage> deploy_messages() { return kMessages; }

}  // namespace ms::i18n
