#include "payments/card/card_to_card.hpp"

namespace ms::payments {

Result<StartResult> CardToCardProvider::start(const StartRequest& request) {
  if (settings_.card_number.empty()) return fail(ErrorCode::kInvalidArgument, "card-to-card: no card number is set");
  StartResult out;
  out.action.kind = PayerAction::Kind::kCardTransfer;
  out.action.amount = request.amount;
  out.action.card_number = settings_.card_number;
  out.action.card_holder = settings_.card_holder;
  return out;
}

Result<std::vector<GatewayReport>> CardToCardProvider::parse_callback(const http::Request&) {
  return fail(ErrorCode::kInvalidArgument, "card-to-card has no callbacks");
}

Result<GatewayReport> CardToCardProvider::poll(const ProviderPayment& payment) {
  GatewayReport r;
  r.reference = payment.reference;
  r.status = GatewayStatus::kPending;
  return r;
}

Result<RefundResult> CardToCardProvider::refund(const ProviderPayment&, const RefundRequest&) {
  return fail(ErrorCode::kPermissionDenied, "card-to-card transfers are returned by hand");
}

}  // namespace ms::payments
