// The compiled-in texts every bot starts with, in Persian and English. Keys are grouped by
// prefix: common.*, menu.*, error.*, payment.*, wallet.*, service.*, order.*, language.*,
// support.*. Both languages use the same placeholders for a key.
//
// The table is immutable static data; safe to read from any thread.
#pragma once

#include <span>
#include <string_view>

namespace ms::i18n {

struct DefaultMessage {
  std::string_view key;
  std::string_view fa;
  std::string_view en;
};

std::span<const DefaultMessage> default_messages();

}  // namespace ms::i18n
