#include "core/i18n/default_messages.hpp"

#include <array>
#include <vector>

namespace ms::i18n {

namespace {

// \u200c is the zero-width non-joiner Persian needs between a word and its suffix (می‌شود);
// it is written as an escape so that it is visible here.
constexpr std::array kMessages = {
    // Buttons and short answers.
    DefaultMessage{"common.yes", "بله", "Yes"},
    DefaultMessage{"common.no", "خیر", "No"},
    DefaultMessage{"common.back", "بازگشت", "Back"},
    DefaultMessage{"common.cancel", "لغو", "Cancel"},
    DefaultMessage{"common.confirm", "تأیید", "Confirm"},
    DefaultMessage{"common.next", "بعدی", "Next"},
    DefaultMessage{"common.previous", "قبلی", "Previous"},
    DefaultMessage{"common.done", "انجام شد.", "Done."},
    DefaultMessage{"common.please_wait", "لطفاً کمی صبر کنید…", "Please wait…"},
    DefaultMessage{"common.are_you_sure", "آیا مطمئن هستید؟", "Are you sure?"},
    DefaultMessage{"common.cancelled", "عملیات لغو شد.", "Cancelled."},

    // Main menu.
    DefaultMessage{"menu.main", "منوی اصلی", "Main menu"},
    DefaultMessage{"menu.buy", "خرید سرویس", "Buy a service"},
    DefaultMessage{"menu.my_services", "سرویس\u200cهای من", "My services"},
    DefaultMessage{"menu.wallet", "کیف پول", "Wallet"},
    DefaultMessage{"menu.support", "پشتیبانی", "Support"},
    DefaultMessage{"menu.settings", "تنظیمات", "Settings"},
    DefaultMessage{"menu.language", "زبان", "Language"},
    DefaultMessage{"menu.help", "راهنما", "Help"},

    // Greetings.
    DefaultMessage{"welcome", "سلام {name}، به {shop} خوش آمدید!", "Hi {name}, welcome to {shop}!"},
    DefaultMessage{"welcome.back", "{name}، خوش برگشتید!", "Welcome back, {name}!"},

    // Errors people can act on.
    DefaultMessage{"error.invalid_input", "ورودی نامعتبر است. لطفاً دوباره تلاش کنید.",
                   "That input isn't valid. Please try again."},
    DefaultMessage{"error.invalid_number", "لطفاً یک عدد معتبر وارد کنید.", "Please enter a valid number."},
    DefaultMessage{"error.invalid_amount", "مبلغ وارد\u200cشده معتبر نیست. فقط عدد وارد کنید، مثلاً {example}.",
                   "That amount isn't valid. Enter a number, for example {example}."},
    DefaultMessage{"error.not_found", "موردی پیدا نشد.", "Nothing was found."},
    DefaultMessage{"error.already_exists", "این مورد از قبل وجود دارد.", "That already exists."},
    DefaultMessage{"error.permission_denied", "شما اجازهٔ انجام این کار را ندارید.",
                   "You don't have permission to do that."},
    DefaultMessage{"error.blocked", "دسترسی شما به این ربات مسدود شده است.",
                   "Your access to this bot has been blocked."},
    DefaultMessage{"error.limit_reached", "برای فروش به بیش از {limit} کاربر، بستهٔ خود را ارتقا دهید.",
                   "Upgrade your plan to sell to more than {limit} users."},
    DefaultMessage{"error.rate_limited", "درخواست\u200cهای شما زیاد است. لطفاً {seconds} ثانیه صبر کنید.",
                   "Too many requests. Please wait {seconds} seconds."},
    DefaultMessage{"error.service_paused", "این ربات موقتاً متوقف شده است. لطفاً بعداً سر بزنید.",
                   "This bot is paused for now. Please check back later."},
    DefaultMessage{"error.unavailable", "این بخش در حال حاضر در دسترس نیست. لطفاً بعداً دوباره تلاش کنید.",
                   "This is unavailable right now. Please try again later."},
    DefaultMessage{"error.session_expired", "این گفتگو منقضی شده است. لطفاً از منوی اصلی دوباره شروع کنید.",
                   "This conversation has expired. Please start again from the main menu."},
    DefaultMessage{"error.internal", "خطایی رخ داد. لطفاً چند لحظه دیگر دوباره تلاش کنید.",
                   "Something went wrong. Please try again in a moment."},
    DefaultMessage{"error.insufficient_balance", "موجودی کیف پول شما کافی نیست. موجودی فعلی: {balance}",
                   "Your wallet balance is too low. Current balance: {balance}"},

    // Package limits (domain::LimitViolation::message_key()): {package}, {limit}, {current}.
    DefaultMessage{"limit.shop_bots",
                   "بستهٔ {package} شما حداکثر {limit} ربات فروش دارد؛ برای ساخت ربات بیشتر، بسته را ارتقا دهید.",
                   "Your {package} package allows {limit} shop bots; upgrade to create more."},
    DefaultMessage{"limit.users_with_service",
                   "بستهٔ {package} شما حداکثر {limit} کاربر دارای سرویس دارد؛ برای فروش به کاربران بیشتر، بسته را "
                   "ارتقا دهید.",
                   "Your {package} package allows {limit} end users with a service; upgrade to sell to more."},
    DefaultMessage{"limit.panels",
                   "بستهٔ {package} شما حداکثر {limit} پنل دارد؛ برای افزودن پنل بیشتر، بسته را ارتقا دهید.",
                   "Your {package} package allows {limit} panels; upgrade to add more."},

    // Discount codes (domain::discount_rejection()).
    DefaultMessage{"discount.inactive", "این کد تخفیف فعال نیست.", "This discount code is not active."},
    DefaultMessage{"discount.expired", "مهلت این کد تخفیف تمام شده است.", "This discount code has expired."},
    DefaultMessage{"discount.used_up", "ظرفیت استفاده از این کد تخفیف تمام شده است.",
                   "This discount code has been used up."},
    DefaultMessage{"discount.wrong_plan", "این کد تخفیف برای این پلن نیست.",
                   "This discount code is not valid for this plan."},

    // Payments and wallet.
    DefaultMessage{"payment.success", "پرداخت {amount} با موفقیت انجام شد.",
                   "Your payment of {amount} was successful."},
    DefaultMessage{"payment.pending", "پرداخت شما در انتظار تأیید است.", "Your payment is waiting for confirmation."},
    DefaultMessage{"payment.failed",
                   "پرداخت انجام نشد. اگر مبلغی از حساب شما کسر شده باشد، ظرف {hours} ساعت بازگردانده می\u200cشود.",
                   "The payment didn't go through. If you were charged, the money will be returned within {hours} "
                   "hours."},
    DefaultMessage{"wallet.balance", "موجودی کیف پول: {amount}", "Wallet balance: {amount}"},
    // The page a payer sees on coming back from a gateway, and why a Stars invoice is refused.
    DefaultMessage{"payment.return.paid", "پرداخت شما دریافت شد. می\u200cتوانید به ربات برگردید.",
                   "Your payment was received. You can go back to the bot."},
    DefaultMessage{"payment.return.wallet",
                   "پرداخت شما پس از پایان مهلت سفارش رسید و به کیف پول شما اضافه شد.",
                   "Your payment arrived after the order expired and was added to your wallet."},
    DefaultMessage{"payment.return.pending", "پرداخت شما در حال بررسی است. نتیجه را در ربات به شما اطلاع می\u200cدهیم.",
                   "Your payment is being checked. The bot will tell you the result."},
    DefaultMessage{"payment.return.failed", "پرداخت انجام نشد. می\u200cتوانید در ربات دوباره تلاش کنید.",
                   "The payment did not go through. You can try again in the bot."},
    DefaultMessage{"payment.return.unknown", "این پرداخت پیدا نشد.", "This payment could not be found."},
    DefaultMessage{"payment.state.created", "ایجاد شده", "created"},
    DefaultMessage{"payment.state.pending", "در انتظار پرداخت", "waiting for payment"},
    DefaultMessage{"payment.state.awaiting_review", "در انتظار بررسی", "waiting for review"},
    DefaultMessage{"payment.state.paid", "تأیید و پرداخت شده", "approved and paid"},
    DefaultMessage{"payment.state.rejected", "رد شده", "rejected"},
    DefaultMessage{"payment.state.expired", "منقضی شده", "expired"},
    DefaultMessage{"payment.state.refunded", "بازپرداخت شده", "refunded"},
    DefaultMessage{"payment.precheckout.unknown", "این صورتحساب معتبر نیست.", "This invoice is not valid."},
    DefaultMessage{"payment.precheckout.expired", "مهلت این صورتحساب تمام شده است. لطفاً دوباره سفارش دهید.",
                   "This invoice has expired. Please order again."},
    DefaultMessage{"payment.precheckout.already_paid", "این صورتحساب قبلاً پرداخت شده است.",
                   "This invoice has already been paid."},
    DefaultMessage{"payment.precheckout.amount_mismatch", "مبلغ این صورتحساب تغییر کرده است. لطفاً دوباره سفارش دهید.",
                   "The amount of this invoice has changed. Please order again."},
    DefaultMessage{"payment.precheckout.unavailable", "الان امکان پرداخت نیست. لطفاً چند دقیقهٔ دیگر تلاش کنید.",
                   "Payments are unavailable right now. Please try again in a few minutes."},

    // Services and orders.
    DefaultMessage{"service.expires_on", "سرویس شما در تاریخ {date} به پایان می\u200cرسد.",
                   "Your service expires on {date}."},
    DefaultMessage{"service.expired", "سرویس {name} منقضی شده است. برای ادامهٔ استفاده آن را تمدید کنید.",
                   "Your service {name} has expired. Renew it to keep using it."},
    DefaultMessage{"service.traffic_left", "حجم باقی\u200cمانده: {remaining} از {total}",
                   "Data left: {remaining} of {total}"},
    DefaultMessage{"order.created", "سفارش {order_id} ثبت شد.", "Order {order_id} has been placed."},

    // Panels (panels::PanelError::message_key()): {detail} is the panel's own words.
    DefaultMessage{"panel.error.bad_request", "پنل این درخواست را نپذیرفت: {detail}",
                   "The panel refused the request: {detail}"},
    DefaultMessage{"panel.error.unauthorized", "نام کاربری یا رمز عبور پنل اشتباه است. اطلاعات ورود پنل را بررسی کنید.",
                   "The panel rejected the username or password. Check the panel's login details."},
    DefaultMessage{"panel.error.forbidden",
                   "حساب ادمین پنل اجازهٔ این کار را ندارد (ادمین sudo نیست یا کاربر متعلق به ادمین دیگری است).",
                   "The panel admin may not do this (not a sudo admin, or the user belongs to another admin)."},
    DefaultMessage{"panel.error.not_found", "این اکانت روی پنل پیدا نشد.", "That account does not exist on the panel."},
    DefaultMessage{"panel.error.conflict", "این نام کاربری روی پنل از قبل وجود دارد.",
                   "That account name is already taken on the panel."},
    DefaultMessage{"panel.error.validation", "پنل یکی از مقادیر را نپذیرفت: {detail}",
                   "The panel did not accept a value: {detail}"},
    DefaultMessage{"panel.error.server_error", "پنل با خطای داخلی پاسخ داد. کمی بعد دوباره تلاش کنید.",
                   "The panel failed with an internal error. Try again in a little while."},
    DefaultMessage{"panel.error.timeout", "پنل به‌موقع پاسخ نداد؛ ممکن است کند یا پرمشغله باشد.",
                   "The panel did not answer in time; it may be slow or overloaded."},
    DefaultMessage{"panel.error.connection", "اتصال به پنل برقرار نشد. آدرس، پورت و روشن بودن سرور را بررسی کنید.",
                   "Could not connect to the panel. Check the address, the port and that the server is up."},
    DefaultMessage{"panel.error.tls",
                   "گواهی SSL پنل معتبر نیست یا با اثر انگشت ثبت‌شده یکی نیست.",
                   "The panel's SSL certificate is not trusted or does not match the saved fingerprint."},
    DefaultMessage{"panel.error.bad_response",
                   "این آدرس مثل پنل مرزبان پاسخ نمی‌دهد. آدرس و مسیر پنل را بررسی کنید.",
                   "This address does not answer like a Marzban panel. Check the panel's URL and path."},
    DefaultMessage{"panel.error.down",
                   "پنل پس از چند خطای پیاپی از دسترس خارج شده و فروش روی آن متوقف است تا دوباره سالم شود.",
                   "The panel is marked down after repeated failures; sales on it are paused until it is healthy "
                   "again."},
    DefaultMessage{"panel.error.busy", "پنل در حال حاضر درخواست‌های زیادی دارد. کمی بعد دوباره تلاش کنید.",
                   "The panel is handling too many requests right now. Try again shortly."},
    DefaultMessage{"panel.error.address_refused",
                   "این آدرس مجاز نیست (شبکهٔ خصوصی یا داخلی). آدرس عمومی پنل را وارد کنید.",
                   "This address is not allowed (private network). Enter the panel's public address."},

    // Language and support.
    DefaultMessage{"language.choose", "زبان خود را انتخاب کنید:", "Choose your language:"},
    DefaultMessage{"language.changed", "زبان ربات به فارسی تغییر کرد.", "The bot now speaks English."},
    DefaultMessage{"support.contact", "برای ارتباط با پشتیبانی به {username} پیام دهید.",
                   "To contact support, message {username}."},
};

}  // namespace

// deploy_messages.cpp: a deployed shop bot's profile texts and the paused bot's answer.
// Declared here rather than in the header, which every catalog user includes.
std::span<const DefaultMessage> deploy_messages();

std::span<const DefaultMessage> default_messages() {
  // The parts, joined once; a key defined in two parts is a bug the catalog test catches.
  static const std::vector<DefaultMessage> all = [] {
    std::vector<DefaultMessage> out(kMessages.begin(), kMessages.end());
    for (auto part : {shop_messages(), shop_notice_messages(), shop_admin_messages(), shop_catalog_messages(),
                      master_messages(), master_desk_messages(), deploy_messages()})
      out.insert(out.end(), part.begin(), part.end());
    return out;
  }();
  return all;
}

}  // namespace ms::i18n
