// The DiskWriter actor: the only owner of a torrent's files.
#pragma once

#include "interfaces.hpp"
#include "storage.hpp"

#include "actorrent/sha1_hash.hpp"

#include <caf/actor_system.hpp>

#include <memory>
#include <vector>

namespace actorrent {

/// Spawns the DiskWriter owning `store` (already opened); `piece_hashes` are
/// the expected SHA-1 digests. File I/O blocks, so by default it gets a thread
/// of its own; deterministic tests run it on the scheduler instead.
disk_writer_actor spawn_disk_writer(caf::actor_system& sys, std::shared_ptr<storage> store,
                                    std::vector<sha1_hash> piece_hashes, bool own_thread = true);

} // namespace actorrent
