// The file sink's rules on disk, for files of this run and of earlier ones:
//   - xcap never truncates or replaces a file it did not create in this run. Files are created
//     with O_EXCL and renamed with RENAME_NOREPLACE; a name already taken gets the next free
//     numbered_name (x.pcap -> x.1.pcap) or, in a ring, the next seq.
//   - A .part is locked (flock) by the process writing it for as long as it is open. A .part
//     nobody holds was left by a dead run (kill -9, a crash, a power cut): at start xcap seals
//     it at its last complete record, renames it to its final name and logs what it recovered.
//   - A ring (-C/-G/-W) is every file of its base on disk, whatever run wrote it: -W counts
//     them all and seq continues after the highest one.
// Sealing means cutting a file back to the end of its last complete record: a pcap record
// (16-byte header + caplen bytes) or a pcapng block (total length at both ends). What a torn
// write, a disk that filled up or a power cut left after it is not a record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"

namespace xcap::sink {

// The complete records at the start of [p, p + n): records as xcap's encoders write them
// (pcap records, or pcapng blocks), no file header. Used on the writer's own blocks, so the
// lengths are trusted; a record cut by n is not counted.
struct RecordPrefix {
  size_t bytes = 0;
  uint64_t records = 0;
};
RecordPrefix complete_records(const uint8_t* p, size_t n, bool pcapng);

// What a capture file holds, read from disk without trusting it.
struct CaptureScan {
  enum class Kind {
    Empty,       // zero bytes
    NotCapture,  // does not start like a pcap or pcapng file: not ours, never touched
    Capture,     // a pcap or pcapng file, complete or torn
  };
  Kind kind = Kind::Empty;
  bool pcapng = false;
  uint64_t file_bytes = 0;
  uint64_t complete_bytes = 0;  // end of the last complete record (or of the header if none);
                                // 0 when not even the header is complete
  uint64_t records = 0;         // complete packet records (pcap records; pcapng EPB/SPB/PB)
};
Result<CaptureScan> scan_capture_file(int fd);

// Creates path (O_EXCL, mode 0644) and locks it (flock LOCK_EX) so a starting xcap leaves it
// alone. The error is of kind Exists when the name is taken (including the rare case where a
// recovering xcap took the new file before the lock).
Result<Fd> create_locked(const std::string& path);

// rename(2) that never replaces to: renameat2(RENAME_NOREPLACE), or link+unlink on filesystems
// without it. The error is of kind Exists when to exists.
Result<void> rename_no_replace(const std::string& from, const std::string& to);

// Renames part to final or, when final is taken, to the first free numbered_name(final, n).
// Returns the name it now has.
Result<std::string> rename_to_free_name(const std::string& part, const std::string& final);

// Seals and renames every .part of the output path's base that no running process holds:
// <path>.part, its numbered alternatives (<stem>.<n>.<ext>.part) and ring and --split files
// (<base>-<...>.pcap[ng].part). Logs each file recovered, removed (no complete record) or
// left alone (not a capture file). path is -w's argument (not "-").
void recover_parts(const std::string& path);

// The completed ring files of a rotation base (a path without extension, e.g. "/d/cap" or
// "/d/cap-<source>"), from any run, oldest first by (stamp, seq).
struct RingFile {
  std::string path;
  std::string stamp;
  uint64_t seq = 0;
};
std::vector<RingFile> list_ring_files(const std::string& base);

}  // namespace xcap::sink
