#include "domain/payment.hpp"

#include <array>

namespace ms::domain {
namespace {

constexpr auto kMethodNames = std::to_array<detail::EnumName<PaymentMethod>>({
    {PaymentMethod::kCardToCard, "card_to_card"},
    {PaymentMethod::kWallet, "wallet"},
    {PaymentMethod::kTelegramStars, "telegram_stars"},
    {PaymentMethod::kNowPayments, "nowpayments"},
    {PaymentMethod::kZarinpal, "zarinpal"},
    {PaymentMethod::kStripe, "stripe"},
    {PaymentMethod::kPayPal, "paypal"},
    {PaymentMethod::kManual, "manual"},
});
constexpr auto kPurposeNames = std::to_array<detail::EnumName<PaymentPurpose>>({
    {PaymentPurpose::kPackage, "package"},
    {PaymentPurpose::kOrder, "order"},
    {PaymentPurpose::kWalletTopUp, "wallet_top_up"},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(PaymentMethod, kMethodNames)
MS_DOMAIN_ENUM_NAMES(PaymentPurpose, kPurposeNames)

}  // namespace ms::domain
