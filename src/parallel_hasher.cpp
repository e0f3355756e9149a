#include "parallel_hasher.hpp"

#include "printable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <thread>

namespace actorrent {

namespace {

constexpr std::int64_t max_chunk = std::int64_t{1} << 20;
constexpr unsigned max_threads = 64;

// Built by appending: `"\"" + std::string` trips a false -Wrestrict in GCC 12.
std::string shown(const content_file& f) {
  std::string out(1, '"');
  out += printable(f.disk_path.string());
  out += '"';
  return out;
}

error read_error(const content_file& f, int err) {
  errc code = err == EACCES || err == EPERM ? errc::permission : errc::io_error;
  return error{code, "cannot read " + shown(f) + ": " + std::strerror(err)};
}

// One thread's open file: pieces taken in turn by several threads mostly stay
// in one file, so keeping the last one open saves an open per piece.
class file_reader {
public:
  file_reader() = default;
  file_reader(const file_reader&) = delete;
  file_reader& operator=(const file_reader&) = delete;
  ~file_reader() { close(); }

  std::optional<error> read(const content_file& f, std::size_t index, std::int64_t offset,
                            std::uint8_t* out, std::size_t n) {
    if (index != index_) {
      close();
      fd_ = ::open(f.disk_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) return read_error(f, errno);
      // Each thread reads the file forward: a larger read-ahead helps when
      // it is not in the page cache. Only a hint, so its result is moot.
      (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
      index_ = index;
    }
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset) + static_cast<off_t>(got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return read_error(f, errno);
      }
      if (r == 0)
        return error{errc::io_error, shown(f) + " is shorter than when it was listed (" +
                                         std::to_string(f.length) +
                                         " bytes): it changed while being hashed"};
      got += static_cast<std::size_t>(r);
    }
    return std::nullopt;
  }

private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    index_ = static_cast<std::size_t>(-1);
  }

  int fd_ = -1;
  std::size_t index_ = static_cast<std::size_t>(-1);
};

struct job {
  job(const std::vector<content_file>& f, std::vector<std::int64_t> s, std::int64_t t,
      std::int64_t ps, std::uint32_t n, std::vector<sha1_hash>& o)
    : files(f), starts(std::move(s)), total(t), piece_size(ps), pieces(n), out(o) {}

  const std::vector<content_file>& files;
  std::vector<std::int64_t> starts;   // offset of each file in the stream
  std::int64_t total = 0;
  std::int64_t piece_size = 0;
  std::uint32_t pieces = 0;
  std::vector<sha1_hash>& out;

  std::atomic<std::uint32_t> next{0};
  std::atomic<std::uint32_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable finished;
  unsigned running = 0;               // guarded by mutex
  std::optional<error> failure;       // guarded by mutex; the first one wins

  void fail(error e) {
    std::lock_guard lock(mutex);
    if (!failure) failure = std::move(e);
    stop = true;
  }

  // Returns the error that ends this thread's work, if any.
  std::optional<error> hash_one(std::uint32_t piece, file_reader& reader,
                                std::vector<std::uint8_t>& buffer, sha1_hasher& hasher) {
    std::int64_t pos = static_cast<std::int64_t>(piece) * piece_size;
    const std::int64_t end = std::min(total, pos + piece_size);
    // The last file starting at or before pos: empty files share their
    // start with the next one and are skipped by the length check below.
    auto k = static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), pos) -
                                      starts.begin() - 1);
    while (pos < end) {
      const content_file& f = files[k];
      const std::int64_t in_file = pos - starts[k];
      if (in_file >= f.length) {
        ++k;
        continue;
      }
      std::int64_t n = std::min(end - pos, f.length - in_file);
      while (n > 0) {
        const std::int64_t chunk = std::min<std::int64_t>(n, static_cast<std::int64_t>(buffer.size()));
        if (auto err = reader.read(f, k, pos - starts[k], buffer.data(),
                                   static_cast<std::size_t>(chunk)))
          return err;
        hasher.update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(chunk)));
        pos += chunk;
        n -= chunk;
      }
      ++k;
    }
    out[piece] = hasher.finish();
    return std::nullopt;
  }

  void work() {
    file_reader reader;
    std::vector<std::uint8_t> buffer(static_cast<std::size_t>(std::min(piece_size, max_chunk)));
    sha1_hasher hasher;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint32_t piece = next.fetch_add(1);
      if (piece >= pieces) break;
      if (auto err = hash_one(piece, reader, buffer, hasher)) {
        fail(std::move(*err));
        break;
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(mutex);
    --running;
    finished.notify_all();
  }
};

// Joins every thread on the way out, also when a progress callback throws:
// a joinable std::thread destroyed would end the process.
struct pool {
  job& j;
  std::vector<std::thread> threads;
  ~pool() {
    j.stop = true;
    for (auto& t : threads) t.join();
  }
};

} // namespace

result<std::vector<sha1_hash>> hash_pieces(const std::vector<content_file>& files,
                                           std::int64_t piece_size, unsigned threads,
                                           const std::function<void(std::uint32_t)>& progress) {
  using namespace std::chrono_literals;
  if (piece_size <= 0) return error{errc::invalid_argument, "piece size must be positive"};
  std::vector<sha1_hash> hashes;
  std::int64_t total = 0;
  std::vector<std::int64_t> starts;
  starts.reserve(files.size());
  for (const auto& f : files) {
    starts.push_back(total);
    total += f.length;
  }
  const std::int64_t count = (total + piece_size - 1) / piece_size;
  if (count > std::numeric_limits<std::uint32_t>::max())
    return error{errc::invalid_argument, "more than 2^32 - 1 pieces"};
  hashes.resize(static_cast<std::size_t>(count));
  if (count == 0) {
    if (progress) progress(0);
    return hashes;
  }

  job j{files, std::move(starts), total, piece_size, static_cast<std::uint32_t>(count), hashes};
  unsigned n = threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  n = std::min({n, max_threads, j.pieces});
  // Before any thread starts: a caller sees 0 done, and what it changes in
  // that call is what the threads read.
  if (progress) progress(0);
  {
    pool p{j, {}};
    p.threads.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      {
        std::lock_guard lock(j.mutex);
        ++j.running;
      }
      try {
        p.threads.emplace_back([&j] { j.work(); });
      } catch (const std::system_error& e) {
        std::lock_guard lock(j.mutex);
        --j.running;
        if (p.threads.empty())
          return error{errc::io_error, std::string("cannot start a hashing thread: ") + e.what()};
        break;  // fewer threads than asked for still do the job
      }
    }
    std::unique_lock lock(j.mutex);
    while (j.running > 0) {
      j.finished.wait_for(lock, 100ms);
      if (progress && j.running > 0) {
        lock.unlock();
        progress(j.done.load());
        lock.lock();
      }
    }
  }
  if (j.failure) return *j.failure;
  if (progress) progress(j.done.load());
  return hashes;
}

} // namespace actorrent
