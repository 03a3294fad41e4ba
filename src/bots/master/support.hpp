// SupportDesk: customers' support tickets in the master bot (a MasterFeature, actions
// "support.*"). A customer opens a ticket (subject, then text or a photo with a caption),
// sees their tickets and adds messages; every operator (MasterContext::operator_ids) gets
// each new ticket and message with Answer and Close buttons, answers in the bot (text or
// photo) and closes. The customer gets the answer in the bot and, once the ticket is
// closed, rates it 1-5 with buttons, once: the ratings are the satisfaction score.
// Tables: tickets, ticket_messages (master migration 1).
//
// Threads: as MasterFeature; the desk keeps no state of its own (all in the master database).
#pragma once

#include <cstdint>
#include <vector>

#include "bots/master/feature.hpp"

namespace ms::master {

struct Satisfaction {
  double average = 0;        // mean of the ratings given; 0 when none
  std::int64_t ratings = 0;  // rated tickets
};

class SupportDesk : public MasterFeature {
 public:
  // `ctx` must outlive the desk.
  explicit SupportDesk(MasterContext& ctx) : ctx_(ctx) {}

  void install(telegram::Router& router) override;
  // Everyone: "Support" (support.menu).
  std::vector<MenuEntry> menu(std::int64_t telegram_id) const override;

  // The satisfaction score over every rated ticket.
  static Result<Satisfaction> satisfaction(storage::Database& db);

 private:
  MasterContext& ctx_;
};

}  // namespace ms::master
