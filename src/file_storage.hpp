// A storage on real files under a download directory, with POSIX pread and
// pwrite on descriptors kept open (at most max_open_files, least recently
// used closed first).
//
// Paths are resolved one component at a time below the download directory
// (openat with O_NOFOLLOW), so neither a ".." in the metainfo nor a symlink
// found inside the download directory can lead a write elsewhere: such a
// symlink is refused with errc::unsafe_path. The download directory itself
// may be a symlink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <span>
#include <vector>

#include "direct_write.hpp"
#include "storage.hpp"

namespace actorrent {

class file_storage final : public storage {
public:
  /// File i lives at download_dir / files()[i].path[0] / ... . Nothing is
  /// touched on disk until open().
  file_storage(file_layout layout, std::filesystem::path download_dir,
               std::size_t max_open_files = 64);
  ~file_storage() override;  // closes descriptors without syncing; call flush()

  file_storage(const file_storage&) = delete;
  file_storage& operator=(const file_storage&) = delete;

  error open() override;
  error write(std::uint32_t piece, std::int64_t offset,
              std::span<const std::uint8_t> data) override;
  error write_parts(std::uint32_t piece, std::int64_t offset,
                    std::span<const std::span<const std::uint8_t>> parts) override;
  error read(std::uint32_t piece, std::int64_t offset,
             std::span<std::uint8_t> out) override;
  error flush() override;
  const file_layout& layout() const override { return layout_; }
  std::vector<file_status> stat_files() const override;

  /// Deletes the torrent's files and the directories they leave empty, and
  /// closes the storage. Nothing is followed through a symlink: a file that
  /// could only be reached through one stays, and the first such refusal
  /// (errc::unsafe_path) or failure is returned after the rest is done.
  error remove_files();

  /// Where file `file` lives on disk.
  std::filesystem::path file_path(std::uint32_t file) const;
  /// Descriptors currently open (root directory excluded).
  std::size_t open_file_count() const noexcept { return lru_.size(); }

private:
  struct handle {
    int fd = -1;
    bool writable = false;
    bool sized = false;   // known to be at least its layout length on disk
    bool dirty = false;   // written since the last flush
    std::list<std::uint32_t>::iterator lru_pos;
  };

  error acquire(std::uint32_t file, bool for_write, int& fd);
  error open_dirs(std::uint32_t file, std::size_t depth, bool create_dirs, int root, int& dirfd,
                  bool* created = nullptr) const;
  error open_parent(std::uint32_t file, bool create_dirs, int root, int& dirfd,
                    bool* created = nullptr) const;
  error sync_new_entries();
  error open_path(std::uint32_t file, bool create_dirs, bool create_file, bool writable, int& fd);
  error symlink_error(std::uint32_t file, std::size_t component) const;
  error release(std::uint32_t file);
  void close_all() noexcept;
  error os_error(int err, std::uint32_t file, const char* what) const;

  file_layout layout_;
  std::filesystem::path dir_;
  std::size_t max_open_;
  error path_error_;        // from validate_paths, reported by open()
  int root_fd_ = -1;
  bool opened_ = false;     // open() succeeded
  std::vector<handle> handles_;
  std::list<std::uint32_t> lru_;  // front: most recently used
  error deferred_;          // a sync/close failure found while evicting
  std::vector<std::uint32_t> new_entries_;  // files created (or their directories) since the last flush
  direct_write direct_;     // whole aligned runs of a piece skip the page cache
};

} // namespace actorrent
