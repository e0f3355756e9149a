#include "peer_router_actor.hpp"

#include "handshake.hpp"
#include "log.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace actorrent {

namespace {

struct router_state {
  static inline const char* name = "actorrent.peer_router";
  std::map<sha1_hash, incoming_peer_actor> torrents;
  std::shared_ptr<encryption_keys> keys;
};

using router_self = peer_router_actor::stateful_pointer<router_state>;

peer_router_actor::behavior_type peer_router(router_self self,
                                             std::shared_ptr<encryption_keys> keys) {
  self->state.keys = std::move(keys);
  // A torrent is forgotten when it exits, so its info-hash is free again.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& torrents = self->state.torrents;
    for (auto it = torrents.begin(); it != torrents.end();) {
      if (it->second.address() == dm.source) {
        if (self->state.keys) self->state.keys->remove(it->first);
        it = torrents.erase(it);
      }
      else
        ++it;
    }
  });
  return {
    [self](incoming_atom, connection_ptr& conn, std::vector<std::uint8_t>& handshake) {
      auto hs = wire::decode_handshake(handshake);
      if (!hs) {
        ACTORRENT_LOG(debug, "incoming " << conn->remote().to_string() << ": "
                                         << hs.err().to_string());
        conn->close();
        return;
      }
      auto it = self->state.torrents.find(hs->info_hash);
      if (it == self->state.torrents.end()) {
        ACTORRENT_LOG(debug, "incoming " << conn->remote().to_string()
                                         << " asks for unknown torrent " << hs->info_hash.hex());
        conn->close();
        return;
      }
      self->send(it->second, incoming_atom_v, std::move(conn), std::move(handshake));
    },
    [self](register_atom, const sha1_hash& info_hash, incoming_peer_actor torrent) {
      auto& torrents = self->state.torrents;
      if (auto it = torrents.find(info_hash); it != torrents.end()) {
        // The first keeps its peers: taking them away would starve a torrent
        // that runs on. The session refuses such a torrent already, so
        // getting here is a bug worth a line in the log.
        if (it->second.address() != torrent.address())
          ACTORRENT_LOG(warning, "torrent " << info_hash.hex()
                                            << " is already registered; refusing a second one");
        return;
      }
      self->monitor(torrent);
      torrents.emplace(info_hash, std::move(torrent));
      if (self->state.keys) self->state.keys->add(info_hash);
    },
  };
}

} // namespace

peer_router_actor spawn_peer_router(caf::actor_system& sys, std::shared_ptr<encryption_keys> keys) {
  return sys.spawn(peer_router, std::move(keys));
}

} // namespace actorrent
