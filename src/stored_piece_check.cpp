#include "stored_piece_check.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>

namespace actorrent {

namespace {

constexpr std::int64_t chunk_size = 256 * 1024;

} // namespace

result<std::vector<std::uint32_t>> verify_stored_pieces(storage& store,
                                                        std::span<const sha1_hash> hashes,
                                                        std::span<const std::uint32_t> pieces,
                                                        unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(pieces.size(), 1)));

  const auto& layout = store.layout();
  // One byte per piece rather than vector<bool>: threads write neighbours.
  std::vector<std::uint8_t> matched(pieces.size(), 0);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex io;  // guards `store` and `failure`
  error failure;

  auto work = [&] {
    sha1_hasher hasher;
    std::vector<std::uint8_t> buf;
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const std::size_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (k >= pieces.size()) return;
      const auto piece = pieces[k];
      if (piece >= hashes.size() || piece >= layout.num_pieces()) continue;
      const std::int64_t size = layout.piece_size(piece);
      if (size <= 0) continue;
      buf.resize(static_cast<std::size_t>(std::min(size, chunk_size)));
      for (std::int64_t off = 0; off < size; off += chunk_size) {
        const auto n = static_cast<std::size_t>(std::min(size - off, chunk_size));
        std::span<std::uint8_t> chunk(buf.data(), n);
        {
          std::lock_guard lock(io);
          if (failure) return;
          if (auto err = store.read(piece, off, chunk)) {
            failure = std::move(err);
            stop = true;
            return;
          }
        }
        hasher.update(chunk);
      }
      if (hasher.finish() == hashes[piece]) matched[k] = 1;
    }
  };

  std::vector<std::jthread> helpers;
  helpers.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running share the work
    }
  }
  work();
  helpers.clear();  // joins

  if (failure) return failure;
  std::vector<std::uint32_t> good;
  for (std::size_t k = 0; k < pieces.size(); ++k)
    if (matched[k] != 0) good.push_back(pieces[k]);
  return good;
}

} // namespace actorrent
