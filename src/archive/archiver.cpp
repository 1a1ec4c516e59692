#include "archive/archiver.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "archive/backoff.h"
#include "archive/credentials.h"
#include "archive/hook.h"
#include "archive/object_name.h"
#include "common/log.h"

namespace xcap::archive {
namespace {

constexpr int kArchiverNice = 10;
constexpr long kStartCheckSeconds = 5;

std::pair<std::string, std::string> split_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

bool stat_file(SpoolFile& f) {
  struct stat st;
  if (::stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  f.bytes = uint64_t(st.st_size);
  f.mtime_s = st.st_mtim.tv_sec;
  return true;
}

}  // namespace

Result<void> check_store(const ArchiveConfig& cfg) {
  if (!cfg.uploads()) return ok();
  auto cred = load_credentials();
  if (!cred) return invalid_input("--archive " + cfg.url + ": " + cred.error().message);
  S3Client s3(cfg, nullptr);
  // Bounded: a store that takes the connection and then says nothing must not hold up the
  // capture's start (its files wait in the spool like any others).
  S3Request probe{"GET", "", "list-type=2&max-keys=0"};
  probe.timeout_s = kStartCheckSeconds;
  auto r = s3.send(probe);
  if (!r) {
    log_error(
        "--archive %s: the store does not answer (%s); capture goes on and files wait in "
        "the spool",
        cfg.url.c_str(), r.error().message.c_str());
    return ok();
  }
  const std::string code = r->error_code();
  if (r->status == 404)
    return invalid_input("--archive " + cfg.url + ": no bucket '" + cfg.bucket + "' at " +
                         cfg.endpoint + (code.empty() ? "" : " (" + code + ")"));
  if (r->status == 403)
    return invalid_input("--archive " + cfg.url + ": the store refused the credentials from " +
                         cred->origin + " (" + (code.empty() ? "HTTP 403" : code) +
                         "): wrong access key or secret?");
  if (r->status / 100 != 2)
    log_error("--archive %s: the store answered HTTP %ld %s to a listing; trying anyway",
              cfg.url.c_str(), r->status, code.c_str());
  return ok();
}

std::unique_ptr<Archiver> Archiver::create(const ArchiveConfig& cfg,
                                           const std::string& spool_base) {
  return std::unique_ptr<Archiver>(new Archiver(cfg, spool_base));
}

void Archiver::start() {
  scan_spool();  // here, before any new file can be handed over: no file is queued twice
  thread_ = std::thread([this] { run(); });
}

Archiver::Archiver(const ArchiveConfig& cfg, std::string spool_base)
    : cfg_(cfg), spool_base_(std::move(spool_base)), shipper_(cfg_, &abort_) {}

Archiver::~Archiver() {
  if (thread_.joinable()) drain_and_stop(0);
}

void Archiver::file_completed(const std::string& path) {
  SpoolFile f;
  f.path = path;
  auto parsed = parse_spool_name(split_path(path).second, split_path(spool_base_).second);
  if (parsed) {
    f.seq = parsed->seq;
    f.ext = parsed->ext;
    f.source = parsed->source;
  }
  if (!parsed || !stat_file(f)) {
    log_error("archive: %s is not a ring file of %s; not archived", path.c_str(),
              spool_base_.c_str());
    return;
  }
  std::lock_guard lk(mu_);
  enqueue_locked(std::move(f));
  cv_.notify_all();
}

bool Archiver::add_file(const std::string& path) {
  const std::string base_name = split_path(path).second;
  const std::string_view name = base_name;
  SpoolFile f{path, "all", 0, name.ends_with(".pcapng") ? "pcapng" : "pcap"};
  if ((!name.ends_with(".pcap") && !name.ends_with(".pcapng")) || !stat_file(f)) {
    log_error("archive: %s is not a .pcap or .pcapng file; not archived", path.c_str());
    return false;
  }
  // <base>-<stamp>-<seq>.<ext>: the base is whatever comes before the stamp.
  const std::string_view stem = name.substr(0, name.rfind('.'));
  const size_t seq_dash = stem.rfind('-');
  const size_t stamp_dash = seq_dash == 0 || seq_dash == std::string_view::npos
                                ? std::string_view::npos
                                : stem.rfind('-', seq_dash - 1);
  if (stamp_dash != std::string_view::npos)
    if (auto parsed = parse_spool_name(name, name.substr(0, stamp_dash))) f.seq = parsed->seq;
  std::lock_guard lk(mu_);
  enqueue_locked(std::move(f));
  cv_.notify_all();
  return true;
}

void Archiver::enqueue_locked(SpoolFile f) {
  if (!queued_.insert(f.path).second) return;
  backlog_bytes_ += f.bytes;
  queue_.push_back(std::move(f));
  enforce_cap_locked();
}

void Archiver::enforce_cap_locked() {
  while (cfg_.spool_max && backlog_bytes_ > cfg_.spool_max) {
    const size_t victim = front_busy_ ? 1 : 0;
    if (victim >= queue_.size()) return;
    const SpoolFile f = queue_[victim];
    queue_.erase(queue_.begin() + long(victim));
    queued_.erase(f.path);
    backlog_bytes_ -= f.bytes;
    stats_.spool_dropped_files++;
    if (::unlink(f.path.c_str()) != 0 && errno != ENOENT)
      log_error("archive: cannot delete %s over --spool-max: %s", f.path.c_str(), strerror(errno));
    log_error("archive: spool over --spool-max %llu bytes: deleted %s (%llu bytes) before upload",
              (unsigned long long)cfg_.spool_max, f.path.c_str(), (unsigned long long)f.bytes);
  }
}

void Archiver::scan_spool() {
  if (spool_base_.empty()) return;  // xcap archive push: add_file() only
  const auto [dir, base_name] = split_path(spool_base_);
  std::vector<std::pair<SpoolName, SpoolFile>> found;
  std::vector<std::string> markers;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return;
  while (dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name.starts_with(".") && name.ends_with(".upload")) markers.push_back(name);
    auto parsed = parse_spool_name(name, base_name);
    if (!parsed) continue;
    SpoolFile f{dir + "/" + name, parsed->source, parsed->seq, parsed->ext};
    if (stat_file(f)) found.emplace_back(std::move(*parsed), std::move(f));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.stamp, a.first.seq) < std::tie(b.first.stamp, b.first.seq);
  });
  // Markers whose file is gone (dropped, or deleted by hand): their uploads stay open else.
  for (const std::string& m : markers)
    if (::access((dir + "/" + m.substr(1, m.size() - 8)).c_str(), F_OK) != 0)
      orphan_markers_.push_back(dir + "/" + m);
  std::lock_guard lk(mu_);
  for (auto& [name, f] : found) enqueue_locked(std::move(f));
  if (!queue_.empty())
    log_info("archive: %zu completed file(s) of earlier runs in the spool", queue_.size());
}

void Archiver::run() {
  // Compression and uploads are background work: at nice 10 they take what the capture
  // threads leave, so a burst never finds the worker waiting behind zstd. (Linux applies
  // setpriority to one thread when given its id; -z commands inherit it.)
  pthread_setname_np(pthread_self(), "xcap-archive");
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kArchiverNice) != 0)
    log_debug("archive: cannot lower the archiver's priority: %s", strerror(errno));
  if (cfg_.uploads())
    for (const std::string& m : orphan_markers_)
      if (auto fail = abort_recorded_upload(shipper_.client(), m))
        log_error("archive: %s", fail->message.c_str());
  Backoff backoff(cfg_.retry_base_s, cfg_.retry_cap_s);
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    front_busy_ = true;
    SpoolFile f = queue_.front();
    lk.unlock();
    process(f);
    lk.lock();
    front_busy_ = false;
    if (f.path.empty()) {  // done with it
      backoff.reset();
      cv_.notify_all();
      continue;
    }
    queue_.front().hooked = f.hooked;
    const double wait = backoff.next();
    cv_.wait_for(lk, std::chrono::duration<double>(wait), [&] { return stopping_; });
  }
}

// One attempt. Leaves f.path empty when the file is done with (lock taken to update).
void Archiver::process(SpoolFile& f) {
  if (::access(f.path.c_str(), F_OK) != 0) {  // -W deleted it, or someone else did
    log_error("archive: %s is gone before upload", f.path.c_str());
    std::lock_guard lk(mu_);
    finish_locked(f, Shipped{});
    f.path.clear();
    return;
  }
  if (!cfg_.hook.empty() && !f.hooked) {
    if (auto r = run_hook(cfg_.hook, f.path); !r) log_error("%s", r.error().message.c_str());
    f.hooked = true;
  }
  Shipped s;
  Outcome fail = cfg_.uploads() ? shipper_.ship(f, &s) : std::nullopt;
  std::lock_guard lk(mu_);
  if (fail) {
    count_failure_locked(*fail, f);
    if (fail->reason != "local") return;
  }
  finish_locked(f, s);
  if (!fail && cfg_.uploads() && !cfg_.keep_local && ::unlink(f.path.c_str()) != 0)
    log_error("archive: cannot delete %s after upload: %s", f.path.c_str(), strerror(errno));
  f.path.clear();
}

void Archiver::count_failure_locked(const Failure& fail, const SpoolFile& f) {
  stats_.failures[fail.reason]++;
  if (fail.reason == "local")
    log_error("archive: %s: %s; left in the spool, not retried", f.path.c_str(),
              fail.message.c_str());
  else
    log_error("archive: %s; %s stays in the spool, retrying", fail.message.c_str(), f.path.c_str());
}

void Archiver::finish_locked(const SpoolFile& f, const Shipped& s) {
  if (!s.key.empty() && !s.already_there) {
    stats_.uploaded_files++;
    stats_.uploaded_bytes += s.sent_bytes;
    stats_.compress_in_bytes += f.bytes;
    stats_.compress_out_bytes += s.sent_bytes;
    log_debug("archive: %s -> %s (%llu bytes)", f.path.c_str(), s.key.c_str(),
              (unsigned long long)s.sent_bytes);
  } else if (s.already_there) {
    log_info("archive: %s is already in the bucket as %s", f.path.c_str(), s.key.c_str());
  }
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const SpoolFile& q) { return q.path == f.path; });
  if (it == queue_.end()) return;
  backlog_bytes_ -= it->bytes;
  queued_.erase(it->path);
  queue_.erase(it);
}

bool Archiver::drain_and_stop(double timeout_s) {
  if (!thread_.joinable()) return true;
  std::unique_lock lk(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  cv_.wait_until(lk, deadline, [&] { return queue_.empty(); });
  stopping_ = true;
  abort_ = true;
  cv_.notify_all();
  lk.unlock();
  thread_.join();
  lk.lock();
  if (queue_.empty()) {
    log_info("archive: spool empty, %llu file(s) uploaded",
             (unsigned long long)stats_.uploaded_files);
    return true;
  }
  log_error(
      "archive: %zu file(s), %llu bytes, left in the spool for the next start (drain "
      "timeout %.0f s)",
      queue_.size(), (unsigned long long)backlog_bytes_, timeout_s);
  return false;
}

metrics::ArchiveSnapshot Archiver::stats() const {
  std::lock_guard lk(mu_);
  metrics::ArchiveSnapshot s = stats_;
  s.backlog_files = queue_.size();
  s.backlog_bytes = backlog_bytes_;
  int64_t oldest = 0;
  for (const SpoolFile& f : queue_) oldest = oldest ? std::min(oldest, f.mtime_s) : f.mtime_s;
  if (oldest) s.oldest_backlog_age_s = std::max<double>(0, double(::time(nullptr) - oldest));
  return s;
}

}  // namespace xcap::archive
