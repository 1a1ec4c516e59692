#include "sink/file/file_recovery.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <tuple>

#include "common/defaults.h"
#include "common/log.h"
#include "sink/file/file_namer.h"
#include "sink/file/pcap_format.h"

namespace xcap::sink {
namespace {

uint32_t load32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

// Sequential reads through a window, so a scan costs one pread per MiB, not one per record.
class Reader {
 public:
  Reader(int fd, uint64_t size) : fd_(fd), size_(size), buf_(kWindow) {}
  // [off, off + len) of the file, or nullptr when the file ends before it (or a read fails:
  // what cannot be read is not a complete record either).
  const uint8_t* at(uint64_t off, size_t len) {
    if (off + len > size_) return nullptr;
    if (off >= win_off_ && off + len <= win_off_ + win_len_) return buf_.data() + (off - win_off_);
    const ssize_t r = ::pread(fd_, buf_.data(), buf_.size(), static_cast<off_t>(off));
    if (r < 0) return nullptr;
    win_off_ = off;
    win_len_ = static_cast<size_t>(r);
    return len <= win_len_ ? buf_.data() : nullptr;
  }

 private:
  static constexpr size_t kWindow = 1 << 20;  // larger than any record xcap writes
  static_assert(kWindow > defaults::kSnaplen + 64);
  int fd_;
  uint64_t size_;
  std::vector<uint8_t> buf_;
  uint64_t win_off_ = 0;
  size_t win_len_ = 0;
};

constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMaxPcapngBlock = 64u << 20;  // no sane writer makes a larger block

void scan_pcap(Reader& r, CaptureScan& s, bool swap, bool nano) {
  const uint8_t* h = r.at(0, 24);
  if (!h) return;  // the header is torn: complete_bytes stays 0
  const uint32_t limit = std::max(load32(h + 16, swap), defaults::kSnaplen);
  uint64_t off = 24;
  s.complete_bytes = off;
  for (;;) {
    const uint8_t* rec = r.at(off, kPcapRecordHeaderBytes);
    if (!rec) return;
    const uint32_t frac = load32(rec + 4, swap), caplen = load32(rec + 8, swap),
                   len = load32(rec + 12, swap);
    // Zeros (a power cut can leave a file longer than what reached it) or garbage end it.
    if (caplen > limit || frac >= (nano ? 1'000'000'000u : 1'000'000u) || len == 0) return;
    if (off + kPcapRecordHeaderBytes + caplen > s.file_bytes) return;  // torn
    off += kPcapRecordHeaderBytes + caplen;
    s.complete_bytes = off;
    s.records++;
  }
}

void scan_pcapng(Reader& r, CaptureScan& s) {
  bool swap = false;
  uint64_t off = 0;
  for (;;) {
    const uint8_t* h = r.at(off, 8);
    if (!h) return;
    const uint32_t type = load32(h, false);  // the SHB type reads the same in both orders
    if (type == kPcapngShbType) {            // a section starts: its byte order rules
      const uint8_t* bom = r.at(off + 8, 4);
      if (!bom) return;
      if (load32(bom, false) == kPcapngByteOrderMagic)
        swap = false;
      else if (load32(bom, true) == kPcapngByteOrderMagic)
        swap = true;
      else
        return;
    } else if (off == 0) {
      return;
    }
    const uint32_t len = load32(h + 4, swap);
    if (load32(h, swap) == 0 || len < 12 || len % 4 != 0 || len > kMaxPcapngBlock) return;
    if (off + len > s.file_bytes) return;  // torn
    const uint8_t* tail = r.at(off + len - 4, 4);
    if (!tail || load32(tail, swap) != len) return;
    const uint32_t t = load32(h, swap);
    if (t == kPcapngEpbType || t == 3 /* simple packet */ || t == 2 /* obsolete packet */)
      s.records++;
    off += len;
    s.complete_bytes = off;
  }
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
std::string name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool name_safe(std::string_view s) {  // what source_file_part and rotation names produce
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Whether final (a .part's name without ".part") is a file an xcap writing to -w path makes:
// the path itself, a numbered alternative of it, or a ring or --split file of its base.
bool belongs_to(std::string_view final, std::string_view name, std::string_view base_name) {
  if (final == name) return true;
  const std::string_view ext = name.substr(base_name.size());  // ".pcap", ".pcapng" or ""
  if (final.starts_with(base_name) && final.size() > base_name.size() + 1 &&
      final[base_name.size()] == '.' && final.ends_with(ext) &&
      final.size() > base_name.size() + 1 + ext.size() &&
      all_digits(
          final.substr(base_name.size() + 1, final.size() - base_name.size() - 1 - ext.size())))
    return true;
  if (!final.starts_with(base_name) || final.size() <= base_name.size() + 1 ||
      final[base_name.size()] != '-')
    return false;
  for (std::string_view e : {".pcapng", ".pcap"}) {
    if (final.ends_with(e) && final.size() > base_name.size() + 1 + e.size())
      return name_safe(final.substr(base_name.size() + 1));
  }
  return false;
}

void recover_one(const std::string& part, const std::string& final) {
  Fd fd(::open(part.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno != ENOENT)  // gone since the directory was listed: nothing to recover
      log_error("%s", errno_error("cannot open " + part + " to recover it").message.c_str());
    return;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // not a file we wrote
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      log_debug("%s is being written by a running capture: left alone", part.c_str());
      return;
    }
    // No locks on this filesystem: nothing tells a live writer from a dead one. The caller
    // runs before this process writes anything, so a .part here is another process's.
    log_debug("%s; recovering it as a dead run's",
              errno_error("cannot lock " + part).message.c_str());
  }
  struct stat now {};
  if (::stat(part.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
    return;  // its owner renamed it while we looked: not ours to touch

  auto scan = scan_capture_file(fd.get());
  if (!scan) {
    log_error("cannot read %s to recover it: %s", part.c_str(), scan.error().message.c_str());
    return;
  }
  const CaptureScan& s = *scan;
  if (s.kind == CaptureScan::Kind::NotCapture) {
    log_info("%s is not a pcap or pcapng file: left as it is", part.c_str());
    return;
  }
  if (s.records == 0) {
    // Nothing to lose: an empty file or a bare header a dead run left.
    if (::unlink(part.c_str()) == 0)
      log_info("removed %s, left by an earlier run without a complete packet", part.c_str());
    else
      log_error("%s", errno_error("cannot remove " + part).message.c_str());
    return;
  }
  const uint64_t cut = s.file_bytes - s.complete_bytes;
  if (cut && ftruncate(fd.get(), static_cast<off_t>(s.complete_bytes)) != 0) {
    log_error(
        "%s; left as it is",
        errno_error("cannot cut " + part + " back to its last complete packet").message.c_str());
    return;
  }
  auto renamed = rename_to_free_name(part, final);
  if (!renamed) {
    log_error("%s", renamed.error().message.c_str());
    return;
  }
  log_info("recovered %s from an earlier run: %llu packets%s, now %s", part.c_str(),
           (unsigned long long)s.records,
           cut ? (", cut " + std::to_string(cut) + " bytes of a torn record").c_str() : "",
           renamed->c_str());
}

}  // namespace

RecordPrefix complete_records(const uint8_t* p, size_t n, bool pcapng) {
  RecordPrefix out;
  for (;;) {
    const size_t head = pcapng ? 8 : kPcapRecordHeaderBytes;
    if (n - out.bytes < head) return out;
    uint32_t v;
    std::memcpy(&v, p + out.bytes + (pcapng ? 4 : 8), 4);  // EPB total length / pcap caplen
    const size_t rec = pcapng ? v : kPcapRecordHeaderBytes + v;
    if (rec == 0 || n - out.bytes < rec) return out;
    out.bytes += rec;
    out.records++;
  }
}

Result<CaptureScan> scan_capture_file(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return errno_error("fstat");
  CaptureScan s;
  s.file_bytes = static_cast<uint64_t>(st.st_size);
  if (s.file_bytes == 0) return s;
  s.kind = CaptureScan::Kind::Capture;
  Reader r(fd, s.file_bytes);
  const uint8_t* m = r.at(0, 4);
  if (!m) return s;  // 1-3 bytes: a torn header of something; holds no record
  const uint32_t magic = load32(m, false);
  if (magic == kPcapngShbType) {
    s.pcapng = true;
    scan_pcapng(r, s);
  } else if (magic == kPcapMagicNano || magic == __builtin_bswap32(kPcapMagicNano)) {
    scan_pcap(r, s, magic != kPcapMagicNano, true);
  } else if (magic == kPcapMagicMicro || magic == __builtin_bswap32(kPcapMagicMicro)) {
    scan_pcap(r, s, magic != kPcapMagicMicro, false);
  } else {
    s.kind = CaptureScan::Kind::NotCapture;
  }
  return s;
}

Result<Fd> create_locked(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("cannot create " + path);
  // Blocking: a starting xcap may hold it for the moment it takes to see it is empty and
  // remove it; then the name is no longer this file's, and the check below says so.
  if (flock(fd.get(), LOCK_EX) != 0) {
    log_debug("%s: a starting xcap cannot tell it is in use",
              errno_error("cannot lock " + path).message.c_str());
    return fd;
  }
  struct stat mine {
  }, named{};
  if (fstat(fd.get(), &mine) != 0 || ::stat(path.c_str(), &named) != 0 ||
      mine.st_ino != named.st_ino || mine.st_dev != named.st_dev)
    return errno_error(EEXIST, "cannot create " + path);  // a recovering xcap took the name
  return fd;
}

Result<void> rename_no_replace(const std::string& from, const std::string& to) {
  const std::string what = "cannot rename " + from + " to " + to;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return ok();
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return errno_error(what);
  // The filesystem cannot rename without replacing: a hard link fails on an existing name.
  if (::link(from.c_str(), to.c_str()) == 0) {
    // The file has its new name; should the old one stay, the next start recovers it as a
    // .part with a complete twin, which is harmless.
    if (::unlink(from.c_str()) != 0)
      log_error("%s", errno_error("cannot remove " + from + " after linking it").message.c_str());
    return ok();
  }
  if (errno == EEXIST) return errno_error(what);
  // No hard links either (some FUSE and FAT mounts): check, then rename. Racy, the best left.
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return errno_error(EEXIST, what);
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_error(what);
  return ok();
}

Result<std::string> rename_to_free_name(const std::string& part, const std::string& final) {
  constexpr unsigned kMaxTries = 10000;
  for (unsigned n = 0; n < kMaxTries; n++) {
    std::string name = n == 0 ? final : numbered_name(final, n);
    Result<void> r = rename_no_replace(part, name);
    if (r) return name;
    if (r.error().kind != ErrorKind::Exists) return r.error();
  }
  return make_error(ErrorKind::Exists, "cannot rename " + part + ": " + final +
                                           " and its numbered alternatives are all taken");
}

void recover_parts(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string dir = parent_of(path);
  const std::string name = name_of(path);
  const std::string base_name = name_of(rotation_base(path));
  if (name.empty() || base_name.empty()) return;  // "dir/": names no file of ours
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return;  // a missing directory is reported when the output is created
  std::vector<std::string> parts;
  for (const auto& e : it) {
    std::string n = e.path().filename().string();
    if (!n.ends_with(kPartSuffix)) continue;
    if (belongs_to(std::string_view(n).substr(0, n.size() - kPartSuffix.size()), name, base_name))
      parts.push_back(std::move(n));
  }
  std::sort(parts.begin(), parts.end());
  for (const std::string& p : parts)
    recover_one(join(dir, p), join(dir, p.substr(0, p.size() - kPartSuffix.size())));
}

std::vector<RingFile> list_ring_files(const std::string& base) {
  namespace fs = std::filesystem;
  const std::string dir = parent_of(base);
  const std::string base_name = name_of(base);
  std::vector<RingFile> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return out;
  for (const auto& e : it) {
    const std::string n = e.path().filename().string();
    auto parsed = parse_ring_file_name(n, base_name);
    if (!parsed || !e.is_regular_file(ec)) continue;
    out.push_back({join(dir, n), std::move(parsed->stamp), parsed->seq});
  }
  std::sort(out.begin(), out.end(), [](const RingFile& a, const RingFile& b) {
    return std::tie(a.stamp, a.seq) < std::tie(b.stamp, b.seq);
  });
  return out;
}

}  // namespace xcap::sink
