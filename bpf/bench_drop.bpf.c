/* The reference ceiling for bench/compare: drop every frame at XDP, the cheapest thing a
 * receiver can do with it. Counted by the kernel (veth rx_queue_N_xdp_drops). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop_all(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
