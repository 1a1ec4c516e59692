/* bench/clock_cost: what a timestamp costs the XDP program, one way per program. Each one
 * does what xcap's program does around its clock read (grow the metadata, write the stamp)
 * and differs only in where the stamp comes from, so BPF_PROG_TEST_RUN's time per run of
 * each, less clock_none's, is the clock's cost per packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct stamp {
	__u64 ns;
};

/* The per-CPU cache of clock_every_16: the last read and how many packets used it. */
struct cached {
	__u64 ns;
	__u32 uses;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cached);
} clock_cache SEC(".maps");

/* Counts of clock_rx_hw's kfunc answers: [0] a hardware stamp, [1] none (ENODATA), [2]
 * another error (EOPNOTSUPP: the driver has no such hook). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} hw_answers SEC(".maps");

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;

static __always_inline int put(struct xdp_md *ctx, __u64 ns)
{
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct stamp)))
		return XDP_ABORTED;
	struct stamp *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return XDP_ABORTED;
	m->ns = ns;
	return XDP_DROP;
}

SEC("xdp")
int clock_none(struct xdp_md *ctx)
{
	return put(ctx, 1);
}

SEC("xdp")
int clock_tai(struct xdp_md *ctx)
{
	return put(ctx, bpf_ktime_get_tai_ns());
}

SEC("xdp")
int clock_mono(struct xdp_md *ctx)
{
	return put(ctx, bpf_ktime_get_ns());
}

SEC("xdp")
int clock_coarse(struct xdp_md *ctx)
{
	return put(ctx, bpf_ktime_get_coarse_ns());
}

/* "One read per batch" as far as XDP can go: it does not see NAPI batches, so a read every
 * 16 packets per CPU, reused in between. Packets then share stamps. */
SEC("xdp")
int clock_every_16(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct cached *c = bpf_map_lookup_elem(&clock_cache, &zero);
	if (!c)
		return XDP_ABORTED;
	if (c->uses++ % 16 == 0)
		c->ns = bpf_ktime_get_tai_ns();
	return put(ctx, c->ns);
}

/* The driver's receive timestamp (a device-bound program), else the TAI clock. */
SEC("xdp")
int clock_rx_hw(struct xdp_md *ctx)
{
	__u64 ns = 0;
	__u32 k = 2;
	int err = bpf_xdp_metadata_rx_timestamp ? bpf_xdp_metadata_rx_timestamp(ctx, &ns) : -95;
	if (err == 0)
		k = 0;
	else if (err == -61 /* ENODATA */)
		k = 1;
	__u64 *n = bpf_map_lookup_elem(&hw_answers, &k);
	if (n)
		(*n)++;
	return put(ctx, err == 0 ? ns : bpf_ktime_get_tai_ns());
}

char LICENSE[] SEC("license") = "GPL";
