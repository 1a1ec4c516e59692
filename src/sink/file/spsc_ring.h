// SpscRing<T>: a bounded single-producer single-consumer lock-free queue. It is how a worker
// hands sealed blocks to the writer thread and how the writer hands them back: exactly one
// thread pushes and exactly one thread pops, so two monotonically increasing counters with
// acquire/release ordering are enough (no CAS, no lock, no syscall).
//
// - Capacity is a power of two so an index is `counter & mask` and every slot is usable
//   (full is tail - head == capacity; the counters never wrap in practice: 2^64 pushes).
// - head_ (consumer) and tail_ (producer) live on their own cache lines, and each side keeps
//   a private cached copy of the other side's counter: it only reads the shared one (a cache
//   miss) when the cached value says the ring looks full/empty.
// - T must be trivially copyable (we move pointers through it).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace xcap::sink {

// 64 on x86-64; std::hardware_destructive_interference_size triggers a g++ ABI warning.
inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing moves T by plain copy");

 public:
  // min_capacity is rounded up to a power of two (at least 1).
  explicit SpscRing(size_t min_capacity)
      : capacity_(std::bit_ceil(min_capacity ? min_capacity : 1)),
        mask_(capacity_ - 1),
        slots_(std::make_unique<T[]>(capacity_)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }

  // Producer thread only. False when full.
  bool try_push(const T& v) {
    const uint64_t tail = prod_.tail.load(std::memory_order_relaxed);
    if (tail - prod_.head_cache >= capacity_) {
      prod_.head_cache = cons_.head.load(std::memory_order_acquire);
      if (tail - prod_.head_cache >= capacity_) return false;
    }
    slots_[tail & mask_] = v;
    prod_.tail.store(tail + 1, std::memory_order_release);  // publishes the slot
    return true;
  }

  // Consumer thread only. False when empty.
  bool try_pop(T& out) {
    const uint64_t head = cons_.head.load(std::memory_order_relaxed);
    if (head == cons_.tail_cache) {
      cons_.tail_cache = prod_.tail.load(std::memory_order_acquire);
      if (head == cons_.tail_cache) return false;
    }
    out = slots_[head & mask_];
    cons_.head.store(head + 1, std::memory_order_release);  // gives the slot back
    return true;
  }

  // Approximate when the other side is running; exact when it is quiescent.
  size_t size_approx() const {
    const uint64_t tail = prod_.tail.load(std::memory_order_acquire);
    const uint64_t head = cons_.head.load(std::memory_order_acquire);
    return static_cast<size_t>(tail - head);
  }

 private:
  struct alignas(kCacheLine) ProducerSide {
    std::atomic<uint64_t> tail{0};
    uint64_t head_cache = 0;  // producer's last view of head
  };
  struct alignas(kCacheLine) ConsumerSide {
    std::atomic<uint64_t> head{0};
    uint64_t tail_cache = 0;  // consumer's last view of tail
  };

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<T[]> slots_;
  ProducerSide prod_;
  ConsumerSide cons_;
};

}  // namespace xcap::sink
