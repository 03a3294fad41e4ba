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
};

}  // namespace

std::span<const DefaultMessage> deploy_messages() { return kMessages; }

}  // namespace ms::i18n
