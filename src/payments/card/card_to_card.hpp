// Card-to-card: the payer transfers an exact amount (made unique per order by the service)
// to the owner's card and sends a receipt photo; an admin approves or rejects it through
// PaymentService::approve/reject. There is no gateway: nothing to call, verify or poll.
#pragma once

#include "payments/provider.hpp"

namespace ms::payments {

struct CardToCardSettings {
  std::string card_number;  // shown to the payer
  std::string card_holder;
  Currency currency = Currency::kIrr;
};

class CardToCardProvider final : public PaymentProvider {
 public:
  explicit CardToCardProvider(CardToCardSettings settings) : settings_(std::move(settings)) {}
  PaymentMethod method() const override { return PaymentMethod::kCardToCard; }
  Currency currency() const override { return settings_.currency; }
  Result<StartResult> start(const StartRequest& request) override;
  // No callbacks exist: kInvalidArgument.
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  // Always pending: only a person decides.
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  // kPermissionDenied: the owner returns a transfer by hand.
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

 private:
  CardToCardSettings settings_;
};

}  // namespace ms::payments
