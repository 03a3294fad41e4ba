// Telegram Stars: an XTR invoice sent by the bot (exactly one price, whole Stars, payload =
// our reference). pre_checkout_query and successful_payment arrive as Telegram updates; the
// bot passes them to PaymentService::pre_checkout / stars_paid. Refunds go through
// refundStarPayment, which the telegram layer provides by implementing StarsRefunder.
#pragma once

#include <memory>

#include "payments/provider.hpp"

namespace ms::payments {

// The one call Stars refunds need from the Bot API; telegram/ implements it for a bot.
class StarsRefunder {
 public:
  virtual ~StarsRefunder() = default;
  // ok() once Telegram answered True. Failure: the Bot API's error as a value.
  virtual Result<void> refund_star_payment(std::int64_t user_id, const std::string& telegram_payment_charge_id) = 0;
};

struct StarsSettings {
  std::string invoice_title = "Payment";  // 1-32 characters
};

class StarsProvider final : public PaymentProvider {
 public:
  StarsProvider(StarsSettings settings, std::shared_ptr<StarsRefunder> refunder)
      : settings_(std::move(settings)), refunder_(std::move(refunder)) {}
  PaymentMethod method() const override { return PaymentMethod::kTelegramStars; }
  Currency currency() const override { return Currency::kXtr; }
  Result<StartResult> start(const StartRequest& request) override;
  // Stars come as updates, not HTTP callbacks: kInvalidArgument.
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

 private:
  StarsSettings settings_;
  std::shared_ptr<StarsRefunder> refunder_;
};

}  // namespace ms::payments
