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

// Every default text: the core table and the parts below.
std::span<const DefaultMessage> default_messages();

// Parts of the table, one file per area: shop_messages.cpp (the shop bot's flows),
// shop_notice_messages.cpp (its notices, broadcasts and statistics),
// shop_admin_messages.cpp (the admins' menu, receipts, users, backups) and
// shop_catalog_messages.cpp (plans, panels, discounts, payment methods, settings, texts).
std::span<const DefaultMessage> shop_messages();
std::span<const DefaultMessage> shop_notice_messages();
std::span<const DefaultMessage> shop_admin_messages();
std::span<const DefaultMessage> shop_catalog_messages();
// The master bot's texts (master_messages.cpp).
std::span<const DefaultMessage> master_messages();
// master_desk_messages.cpp: the master bot's support tickets, operators' tools and
// subscription lifecycle notices.
std::span<const DefaultMessage> master_desk_messages();

}  // namespace ms::i18n
