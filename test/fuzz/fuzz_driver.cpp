// A stand-in for libFuzzer's driver when the targets are built with GCC:
// replays every file of the seed corpus, then feeds a bounded number of
// mutations of them (bit flips, truncations, splices, random bytes) with a
// fixed seed so a failure reproduces. Exit status 0 unless a target crashes;
// then the input that crashed it is written to ./crash-<target> first.
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using bytes = std::vector<std::uint8_t>;

// The input under test, for the crash handler.
const bytes* current = nullptr;
char crash_path[4096] = "crash-input";

// Async-signal-safe: open, write and the default action only.
extern "C" void on_crash(int sig) {
  if (current != nullptr) {
    int fd = ::open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      if (::write(fd, current->data(), current->size()) >= 0) {
        static const char msg[] = "fuzz driver: crashing input written to ";
        (void)!::write(2, msg, sizeof msg - 1);
        (void)!::write(2, crash_path, std::strlen(crash_path));
        (void)!::write(2, "\n", 1);
      }
      ::close(fd);
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const bytes& input) {
  current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  current = nullptr;
}

bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), {});
}

bytes mutate(const bytes& base, const std::vector<bytes>& corpus, std::mt19937_64& rng) {
  bytes out = base;
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 6) {
      case 0: // flip a bit
        if (!out.empty()) out[pick(out.size())] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1: // truncate
        out.resize(pick(out.size() + 1));
        break;
      case 2: // overwrite a byte with an interesting value
        if (!out.empty()) {
          static const std::uint8_t interesting[] = {0, 0xff, 0x7f, 0x80, 'e', 'i', 'l', 'd', ':', '-', '0', '9'};
          out[pick(out.size())] = interesting[pick(sizeof interesting)];
        }
        break;
      case 3: { // splice in a chunk of another input
        const bytes& other = corpus[pick(corpus.size())];
        if (other.empty()) break;
        std::size_t from = pick(other.size());
        std::size_t len = pick(other.size() - from + 1);
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pick(out.size() + 1)),
                   other.begin() + static_cast<std::ptrdiff_t>(from),
                   other.begin() + static_cast<std::ptrdiff_t>(from + len));
        break;
      }
      case 4: // insert random bytes
        for (std::size_t i = 0, n = pick(16); i < n; ++i)
          out.insert(out.begin() + static_cast<std::ptrdiff_t>(pick(out.size() + 1)),
                     static_cast<std::uint8_t>(rng()));
        break;
      default: // erase a range
        if (!out.empty()) {
          std::size_t from = pick(out.size());
          out.erase(out.begin() + static_cast<std::ptrdiff_t>(from),
                    out.begin() + static_cast<std::ptrdiff_t>(from + pick(out.size() - from + 1)));
        }
        break;
    }
  }
  if (out.size() > (1u << 20)) out.resize(1u << 20);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::snprintf(crash_path, sizeof crash_path, "crash-%s",
                std::filesystem::path(argv[0]).filename().c_str());
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_crash);
  long iterations = 10000;
  std::vector<bytes> corpus;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations = std::strtol(argv[i] + 13, nullptr, 10);
      continue;
    }
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) corpus.push_back(read_file(e.path()));
    } else if (std::filesystem::is_regular_file(p)) {
      corpus.push_back(read_file(p));
    }
  }
  if (corpus.empty()) corpus.emplace_back();
  for (auto& input : corpus) run(input);
  std::mt19937_64 rng(0x5eed);
  for (long i = 0; i < iterations; ++i) {
    bytes input = mutate(corpus[static_cast<std::size_t>(rng() % corpus.size())], corpus, rng);
    run(input);
  }
  std::printf("%zu seeds, %ld mutated inputs, no crash\n", corpus.size(), iterations);
  return 0;
}
