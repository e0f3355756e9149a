// The CAF type ids of the public message types. session::configure()
// registers them; a host that puts these types in messages of its own needs
// nothing more than this header.
#pragma once

#include "actorrent/control.hpp"
#include "actorrent/events.hpp"
#include "actorrent/status.hpp"

#include <caf/type_id.hpp>

#include <vector>

CAF_BEGIN_TYPE_ID_BLOCK(actorrent_api, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::sha1_hash))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_state))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_progress))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::file_progress))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::peer_summary))
  CAF_ADD_TYPE_ID(actorrent_api, (std::vector<actorrent::file_progress>))
  CAF_ADD_TYPE_ID(actorrent_api, (std::vector<actorrent::peer_summary>))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_status))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::tracker_status))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::peer_connection))
  CAF_ADD_TYPE_ID(actorrent_api, (std::vector<actorrent::tracker_status>))
  CAF_ADD_TYPE_ID(actorrent_api, (std::vector<actorrent::peer_connection>))
  // Requests.
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::status_request))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::pause_request))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::resume_request))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::recheck_request))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::remove_request))
  // Events.
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_added))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::checking_progress))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::checking_finished))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::piece_verified))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::hash_failed))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::peer_connected))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::peer_disconnected))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::peer_banned))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::tracker_reply))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::tracker_error))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::status_update))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::download_finished))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::seeding_finished))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_error))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::torrent_removed))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::session_stopped))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::metadata_received))
  CAF_ADD_TYPE_ID(actorrent_api, (actorrent::file_priority_request))

CAF_END_TYPE_ID_BLOCK(actorrent_api)
