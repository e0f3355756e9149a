// The DiskWriter actor: the only owner of a torrent's files.
#pragma once

#include "interfaces.hpp"
#include "storage.hpp"

#include "actorrent/sha1_hash.hpp"

#include <caf/actor_system.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace actorrent {

struct disk_options {
  /// File I/O blocks, so by default the DiskWriter gets a thread of its own;
  /// deterministic tests run it on the scheduler instead.
  bool own_thread = true;
  /// Where resume data goes (empty: nowhere), and the torrent it describes.
  std::filesystem::path resume_file;
  sha1_hash info_hash;
};

/// Spawns the DiskWriter owning `store` (already opened); `piece_hashes` are
/// the expected SHA-1 digests.
disk_writer_actor spawn_disk_writer(caf::actor_system& sys, std::shared_ptr<storage> store,
                                    std::vector<sha1_hash> piece_hashes, disk_options opts = {});

} // namespace actorrent
