#include "archive/window_merge.h"

#include <algorithm>
#include <map>
#include <memory>
#include <queue>
#include <tuple>

#include "archive/capture_reader.h"
#include "filter/filter_program.h"

namespace xcap::archive {
namespace {

struct Held {
  uint64_t ts_ns = 0;
  uint64_t seq = 0;  // read order: ties keep it
  uint32_t out_iface = 0;
  uint32_t origlen = 0;
  uint8_t direction = 0;
  std::vector<uint8_t> data;
};

struct Later {
  bool operator()(const Held& a, const Held& b) const {
    return a.ts_ns != b.ts_ns ? a.ts_ns > b.ts_ns : a.seq > b.seq;
  }
};

// One open object: its reader and the records read ahead, in order.
struct Cursor {
  const ArchivedObject* object;
  CaptureReader reader;
  std::priority_queue<Held, std::vector<Held>, Later> ahead;
  size_t ahead_bytes = 0;
  bool done = false;
};

class Merge {
 public:
  Merge(const MergeRequest& req, stream::MergedOutput& out, MergeOutcome& o)
      : req_(req), out_(out), o_(o) {}

  void run(std::vector<ArchivedObject>& objects, const ObjectOpener& open);

 private:
  void fill(Cursor& c);
  bool keep(const CaptureRecord& r, const Cursor& c);
  Result<uint32_t> out_iface(const Cursor& c, const CaptureInterface& in);
  void fail(const Cursor& c, const std::string& why);
  bool write(const Held& h);

  const MergeRequest& req_;
  stream::MergedOutput& out_;
  MergeOutcome& o_;
  uint64_t seq_ = 0, last_written_ns_ = 0;
  std::map<std::pair<uint16_t, uint32_t>, std::unique_ptr<FilterProgram>> filters_;
  std::map<std::tuple<std::string, std::string, std::string, uint16_t>, uint32_t> ifaces_;
};

void Merge::fail(const Cursor& c, const std::string& why) {
  o_.failures.push_back(c.object->key + ": " + why);
}

Result<uint32_t> Merge::out_iface(const Cursor& c, const CaptureInterface& in) {
  const ArchivedObject& ob = *c.object;
  auto key = std::make_tuple(ob.sink_id, ob.facts.source, in.name, in.link_type);
  if (auto it = ifaces_.find(key); it != ifaces_.end()) return it->second;
  const std::string name = ob.sink_id + "/" + (in.name.empty() ? ob.facts.source : in.name);
  auto id = out_.add_interface(name, in.link_type, in.snaplen ? in.snaplen : defaults::kSnaplen);
  if (!id) return id.error();
  ifaces_.emplace(key, *id);
  o_.interfaces++;
  return *id;
}

// Inside the window and selected by the filter (compiled once per link type and snaplen).
bool Merge::keep(const CaptureRecord& r, const Cursor& c) {
  if (r.ts_ns < req_.from_ns || r.ts_ns > req_.to_ns) return false;
  if (req_.filter.empty()) return true;
  auto& f = filters_[{r.iface->link_type, r.iface->snaplen}];
  if (!f) {
    auto p = FilterProgram::compile(req_.filter, r.iface->link_type, defaults::kSnaplen);
    if (!p) {
      fail(c, "the filter does not apply to link type " + std::to_string(r.iface->link_type) +
                  ": " + p.error().message);
      return false;
    }
    f = std::make_unique<FilterProgram>(std::move(*p));
  }
  return f->matches(r.data, r.caplen, r.origlen);
}

// Reads ahead until kLookaheadBytes are held or the object ends.
void Merge::fill(Cursor& c) {
  while (!c.done && c.ahead_bytes < kLookaheadBytes) {
    auto r = c.reader.next();
    if (!r) {
      fail(c, r.error().message);
      c.done = true;
      break;
    }
    if (!*r) {
      o_.objects_read++;
      c.done = true;
      break;
    }
    const CaptureRecord& rec = **r;
    o_.packets_read++;
    if (!keep(rec, c)) continue;
    auto id = out_iface(c, *rec.iface);
    if (!id) {
      fail(c, id.error().message);
      c.done = true;
      break;
    }
    c.ahead_bytes += rec.caplen + sizeof(Held);
    c.ahead.push(Held{rec.ts_ns, seq_++, *id, rec.origlen, rec.direction,
                      std::vector<uint8_t>(rec.data, rec.data + rec.caplen)});
  }
}

bool Merge::write(const Held& h) {
  if (h.ts_ns < last_written_ns_) o_.out_of_order++;
  last_written_ns_ = std::max(last_written_ns_, h.ts_ns);
  auto w = out_.write(out_.encode_packet(h.out_iface, h.ts_ns, uint32_t(h.data.size()), h.origlen,
                                         h.data.data(), h.direction));
  if (!w) {
    o_.output_error = w.error();
    return false;
  }
  o_.packets_written++;
  return true;
}

void Merge::run(std::vector<ArchivedObject>& objects, const ObjectOpener& open) {
  std::sort(objects.begin(), objects.end(), starts_before);
  // The open objects, as a heap (std::push_heap order) with the earliest next record on top;
  // a cursor leaves it, and is freed, when its object is done.
  std::vector<std::unique_ptr<Cursor>> heap;
  auto later = [](const std::unique_ptr<Cursor>& a, const std::unique_ptr<Cursor>& b) {
    return Later()(a->ahead.top(), b->ahead.top());
  };
  size_t next = 0;
  for (;;) {
    // Open the next object once the merge has reached its first packet's time.
    if (next < objects.size() &&
        (heap.empty() || objects[next].facts.first_ns <= heap.front()->ahead.top().ts_ns)) {
      const ArchivedObject& ob = objects[next++];
      auto fd = open(ob);
      if (!fd) {
        o_.failures.push_back(ob.key + ": " + fd.error().message);
        continue;
      }
      auto c = std::make_unique<Cursor>(
          Cursor{&ob, CaptureReader(Decompressor(std::move(*fd), ob.compression)), {}, 0, false});
      fill(*c);
      if (c->ahead.empty()) continue;  // nothing of it in the window: freed now
      heap.push_back(std::move(c));
      std::push_heap(heap.begin(), heap.end(), later);
      continue;
    }
    if (heap.empty()) break;
    std::pop_heap(heap.begin(), heap.end(), later);
    Cursor& c = *heap.back();
    const Held& h = c.ahead.top();
    if (!write(h)) return;
    c.ahead_bytes -= h.data.size() + sizeof(Held);
    c.ahead.pop();
    fill(c);
    if (c.ahead.empty())
      heap.pop_back();  // done: its buffers go now
    else
      std::push_heap(heap.begin(), heap.end(), later);
  }
}

}  // namespace

MergeOutcome merge_window(std::vector<ArchivedObject> objects, const MergeRequest& req,
                          const ObjectOpener& open, stream::MergedOutput& out) {
  MergeOutcome o;
  Merge(req, out, o).run(objects, open);
  if (!o.output_error)
    if (auto f = out.close(); !f) o.output_error = f.error();
  return o;
}

}  // namespace xcap::archive
