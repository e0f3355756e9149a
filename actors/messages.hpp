// Atoms and message types exchanged by actorrent's actors. Every type sent in
// a message is registered here with an inspect() overload, so the same
// messages could later cross a process boundary unchanged.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "actorrent/type_ids.hpp"
#include "block_buffer.hpp"
#include "peer_stats.hpp"
#include "piece_picker.hpp"
#include "tcp_connection.hpp"
#include "tracker_url.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent {

/// The transfer counters a tracker announce carries (BEP 3), as they are at
/// the moment of the announce.
struct transfer_stats {
  std::int64_t uploaded = 0;    ///< payload bytes sent this session
  std::int64_t downloaded = 0;  ///< payload bytes received this session
  std::int64_t left = 0;        ///< bytes still missing (0: we are a seed)
};

/// The DiskWriter's verdict on a complete piece.
struct piece_verdict {
  bool passed = false;  ///< the hash matched and the piece is written
  /// Each block's digest, when the piece failed or when they were asked for
  /// (the PieceManager judges earlier failures of the piece with them).
  std::vector<block_digest> blocks;
};

/// A socket; only ever passed between actors of one process.
using connection_ptr = std::shared_ptr<tcp_connection>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_ref& x) {
  return f(caf::meta::type_name("block_ref"), x.piece, x.begin, x.length);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_endpoint& x) {
  return f(caf::meta::type_name("peer_endpoint"), x.host, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_stats& x) {
  return f(caf::meta::type_name("peer_stats"), x.downloaded, x.uploaded, x.discarded, x.download_rate,
           x.upload_rate, x.peer_interested, x.snubbed, x.seed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_digest& x) {
  return f(caf::meta::type_name("block_digest"), x.begin, x.digest);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, piece_verdict& x) {
  return f(caf::meta::type_name("piece_verdict"), x.passed, x.blocks);
}

// As a byte sequence, like the vector it stands for; only a message that
// leaves the process would ever be serialized.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_buffer& x) {
  std::vector<std::uint8_t> bytes;
  if constexpr (Inspector::reads_state) bytes.assign(x.begin(), x.end());
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = block_buffer::copy_of(bytes);
    return caf::none;
  });
  return f(caf::meta::type_name("block_buffer"), bytes, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transfer_stats& x) {
  return f(caf::meta::type_name("transfer_stats"), x.uploaded, x.downloaded, x.left);
}

/// The error category of actorrent's errors inside CAF.
inline constexpr caf::atom_value error_category = caf::atom("actorrent");

/// Carries an actorrent::error through CAF (response promises, exit reasons).
caf::error to_caf_error(const error& err);
/// The actorrent::error inside a caf::error; errors of other categories become
/// errc::io_error with CAF's own description.
error from_caf_error(const caf::error& err);

} // namespace actorrent

CAF_BEGIN_TYPE_ID_BLOCK(actorrent, caf::id_block::actorrent_api::end)

  CAF_ADD_TYPE_ID(actorrent, (actorrent::block_ref))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::peer_endpoint))
  CAF_ADD_TYPE_ID(actorrent, (std::vector<actorrent::block_ref>))
  CAF_ADD_TYPE_ID(actorrent, (std::vector<actorrent::peer_endpoint>))
  CAF_ADD_TYPE_ID(actorrent, (std::vector<std::uint8_t>))
  CAF_ADD_TYPE_ID(actorrent, (std::vector<std::uint32_t>))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::peer_stats))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::connection_ptr))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::transfer_stats))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::block_digest))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::piece_verdict))
  CAF_ADD_TYPE_ID(actorrent, (actorrent::block_buffer))
  CAF_ADD_TYPE_ID(actorrent, (std::vector<actorrent::block_buffer>))

  // Socket and timer events.
  CAF_ADD_ATOM(actorrent, actorrent, connected_atom, "connected")
  CAF_ADD_ATOM(actorrent, actorrent, data_atom, "data")
  CAF_ADD_ATOM(actorrent, actorrent, closed_atom, "closed")
  CAF_ADD_ATOM(actorrent, actorrent, tick_atom, "tick")
  CAF_ADD_ATOM(actorrent, actorrent, http_atom, "http")
  CAF_ADD_ATOM(actorrent, actorrent, udp_atom, "udp")
  // Peer <-> PieceManager.
  CAF_ADD_ATOM(actorrent, actorrent, join_atom, "join")
  CAF_ADD_ATOM(actorrent, actorrent, leave_atom, "leave")
  CAF_ADD_ATOM(actorrent, actorrent, bitfield_atom, "bitfield")
  CAF_ADD_ATOM(actorrent, actorrent, have_atom, "have")
  CAF_ADD_ATOM(actorrent, actorrent, want_atom, "want")
  CAF_ADD_ATOM(actorrent, actorrent, block_atom, "block")
  CAF_ADD_ATOM(actorrent, actorrent, drop_atom, "drop")
  CAF_ADD_ATOM(actorrent, actorrent, cancel_atom, "cancel")
  CAF_ADD_ATOM(actorrent, actorrent, wake_atom, "wake")
  CAF_ADD_ATOM(actorrent, actorrent, piece_atom, "piece")
  CAF_ADD_ATOM(actorrent, actorrent, plan_atom, "plan")
  CAF_ADD_ATOM(actorrent, actorrent, work_atom, "work")
  // A connection without a socket (simulation).
  CAF_ADD_ATOM(actorrent, actorrent, wire_atom, "wire")
  CAF_ADD_ATOM(actorrent, actorrent, deliver_atom, "deliver")
  // Uploading.
  CAF_ADD_ATOM(actorrent, actorrent, choke_atom, "choke")
  CAF_ADD_ATOM(actorrent, actorrent, unchoke_atom, "unchoke")
  CAF_ADD_ATOM(actorrent, actorrent, drained_atom, "drained")
  CAF_ADD_ATOM(actorrent, actorrent, peer_stats_atom, "peerstats")
  CAF_ADD_ATOM(actorrent, actorrent, incoming_atom, "incoming")
  CAF_ADD_ATOM(actorrent, actorrent, register_atom, "register")
  CAF_ADD_ATOM(actorrent, actorrent, resume_atom, "resume")
  // PieceManager <-> DiskWriter.
  CAF_ADD_ATOM(actorrent, actorrent, write_atom, "write")
  CAF_ADD_ATOM(actorrent, actorrent, verify_atom, "verify")
  CAF_ADD_ATOM(actorrent, actorrent, read_atom, "read")
  CAF_ADD_ATOM(actorrent, actorrent, check_atom, "check")
  // Torrent, tracker and owner.
  CAF_ADD_ATOM(actorrent, actorrent, peers_atom, "peers")
  CAF_ADD_ATOM(actorrent, actorrent, tracker_atom, "tracker")
  CAF_ADD_ATOM(actorrent, actorrent, stats_atom, "stats")
  CAF_ADD_ATOM(actorrent, actorrent, completed_atom, "completed")
  CAF_ADD_ATOM(actorrent, actorrent, ready_atom, "ready")
  CAF_ADD_ATOM(actorrent, actorrent, status_atom, "status")
  CAF_ADD_ATOM(actorrent, actorrent, done_atom, "done")
  CAF_ADD_ATOM(actorrent, actorrent, failed_atom, "failed")
  CAF_ADD_ATOM(actorrent, actorrent, fatal_atom, "fatal")
  CAF_ADD_ATOM(actorrent, actorrent, ban_atom, "ban")
  CAF_ADD_ATOM(actorrent, actorrent, stop_atom, "stop")
  CAF_ADD_ATOM(actorrent, actorrent, log_atom, "log")
  // Metadata of a magnet link (BEP 9).
  CAF_ADD_ATOM(actorrent, actorrent, metadata_atom, "metadata")
  CAF_ADD_ATOM(actorrent, actorrent, reject_atom, "reject")
  // The fast extension (BEP 6).
  CAF_ADD_ATOM(actorrent, actorrent, suggest_atom, "suggest")
  // peer exchange (BEP 11)
  CAF_ADD_ATOM(actorrent, actorrent, pex_atom, "pex")
  // File selection.
  CAF_ADD_ATOM(actorrent, actorrent, priority_atom, "priority")

CAF_END_TYPE_ID_BLOCK(actorrent)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorrent::connection_ptr)
