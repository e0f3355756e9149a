// What a host may ask of a torrent: typed requests to the torrent's actor
// (torrent_handle::control()), or the handle's convenience calls.
//
//   self->request(handle.control(), 5s, actorrent::status_request{true, false})
//     .then([](const actorrent::torrent_status& st) { ... });
#pragma once

#include "actorrent/status.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <vector>

namespace actorrent {

/// Asks for the torrent's status; per-file progress and per-host figures
/// only when asked (they cost a walk over the files and peers).
struct status_request {
  bool files = false;
  bool peers = false;
};

/// Closes every connection and makes no new ones until resume_request.
struct pause_request {};
struct resume_request {};

/// Hashes everything on disk again (as if there were no resume data), then
/// goes on from what passed.
struct recheck_request {};

/// A new file selection (add_torrent_params::file_priorities).
struct file_priority_request {
  std::vector<std::uint8_t> priorities;
};

/// Stops the torrent for good; with delete_files its files and resume data
/// go too. Replies true once it is gone.
struct remove_request {
  bool delete_files = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_request& x) {
  return f(x.files, x.peers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pause_request&) {
  return f();
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resume_request&) {
  return f();
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recheck_request&) {
  return f();
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_priority_request& x) {
  return f(x.priorities);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_request& x) {
  return f(x.delete_files);
}

/// The part of a torrent's actor that hosts may talk to.
using torrent_control = caf::typed_actor<
  caf::replies_to<status_request>::with<torrent_status>,
  caf::reacts_to<pause_request>,
  caf::reacts_to<resume_request>,
  caf::reacts_to<recheck_request>,
  caf::reacts_to<file_priority_request>,
  caf::replies_to<remove_request>::with<bool>>;

} // namespace actorrent
