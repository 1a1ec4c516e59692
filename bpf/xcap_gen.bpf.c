// SPDX-License-Identifier: GPL-2.0
// xcap_gen: the XDP program behind tools/xcap-gen. It is never attached to an interface: user
// space runs it with bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) on one template frame,
// and every XDP_TX verdict becomes a real transmit out of the veth named by ingress_ifindex,
// so the frame arrives on the peer end (the capture side).
//
// Optionally it stamps a 32-bit big-endian sequence number into each frame so a receiver can
// count loss and duplicates. With live frames the kernel copies the template into a page only
// when the page is first allocated; recycled pages keep whatever the previous run left there.
// So the stamp (and the checksum that covers it) must be written on every run, and written
// absolutely (from .rodata seeds), never updated relative to what is in the page.
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Largest frame xcap-gen sends; bounds the offsets below for the verifier.
#define XCAP_GEN_MAX_FRAME 3400

// Set by xcap-gen before load; the verifier sees them as constants (frozen .rodata).
// seq_offset: byte offset of the stamp from the start of the Ethernet header; 0 = no stamp.
const volatile __u32 seq_offset = 0;
// csum_offset: offset of the L4 checksum covering the stamp (UDP/TCP); 0 = leave it alone.
const volatile __u32 csum_offset = 0;
// csum_seed: ~checksum of the template with the stamp bytes zero, i.e. the folded one's
// complement sum of everything else; the stamp's words are added to it on every run.
const volatile __u32 csum_seed = 0;
// csum_odd: the stamp starts at an odd distance from the checksummed header, so its 16-bit
// words straddle the checksum's words; one's complement sums commute with a byte swap.
const volatile __u32 csum_odd = 0;

// Runs so far = frames handed to the driver. One xcap-gen process drives one program at a
// time from one thread, so a plain global (not per-CPU) gives a gap-free sequence even when
// the thread migrates between calls; user space reads it back through the skeleton's .bss.
__u64 frames_run = 0;

static __always_inline __u32 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static __always_inline __u32 swap16(__u32 v)
{
	return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

SEC("xdp")
int xcap_gen_tx(struct xdp_md *ctx)
{
	__u32 seq = (__u32)frames_run;
	frames_run++;

	if (!seq_offset)
		return XDP_TX;

	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = seq_offset;
	if (off > XCAP_GEN_MAX_FRAME - 4)
		return XDP_TX;
	__u8 *p = data + off;
	if ((void *)(p + 4) > data_end)
		return XDP_TX;
	// Byte stores: the stamp may sit at any alignment.
	p[0] = seq >> 24;
	p[1] = seq >> 16;
	p[2] = seq >> 8;
	p[3] = seq;

	__u32 coff = csum_offset;
	if (!coff || coff > XCAP_GEN_MAX_FRAME - 2)
		return XDP_TX;
	__u8 *c = data + coff;
	if ((void *)(c + 2) > data_end)
		return XDP_TX;
	__u32 hi = seq >> 16, lo = seq & 0xffff;
	if (csum_odd) {
		hi = swap16(hi);
		lo = swap16(lo);
	}
	__u32 sum = ~fold(csum_seed + hi + lo) & 0xffff;
	// UDP reserves 0 for "no checksum"; 0xffff is the same value in one's complement.
	if (sum == 0)
		sum = 0xffff;
	c[0] = sum >> 8;
	c[1] = sum;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
