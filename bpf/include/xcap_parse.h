/* Outer-header parsing for the XDP side: a bounds-checked cursor over [data, data_end) and
 * parsers for Ethernet, up to two VLAN tags, IPv4, IPv6 (plus a few cheap extension headers)
 * and UDP. Every read goes through xcap_pull(), which checks the end of the packet first, so
 * each access is verifier-safe by construction.
 *
 * What "malformed" means here: one of the headers that these parsers read is cut short by the
 * end of the frame, or is inconsistent with itself (IPv4 version != 4 or IHL < 5 or total length
 * shorter than the header, IPv6 version != 6, UDP length < 8 over IPv4; over IPv6 a zero
 * length is legal for jumbograms). Headers xcap does not parse on the
 * XDP side (TCP, ICMP, the tunnel headers themselves, non-IP ethertypes) are never malformed here;
 * user-space decapsulation validates tunnel headers and counts its own errors.
 *
 * Include after <linux/bpf.h>, <linux/if_ether.h>, <linux/ip.h>, <linux/ipv6.h>, <linux/udp.h>,
 * <linux/in.h>, <bpf/bpf_helpers.h> and <bpf/bpf_endian.h>. */
#ifndef XCAP_PARSE_H
#define XCAP_PARSE_H

#include "xcap_abi.h"

#define XCAP_ETH_P_8021Q 0x8100
#define XCAP_ETH_P_8021AD 0x88a8
#define XCAP_MAX_VLAN_TAGS 2
/* IPv6 extension headers followed before giving up and treating the packet as "other L4". */
#define XCAP_IPV6_MAX_EXT 3
#define XCAP_IPPROTO_GRE 47

/* 802.1Q/802.1ad tag as it sits after the MAC addresses (the uapi headers have no vlan_hdr). */
struct xcap_vlan_hdr {
  __be16 tci;
  __be16 proto; /* the next ethertype */
};

/* The generic IPv6 extension header (hop-by-hop, routing, destination options). */
struct xcap_ipv6_opt_hdr {
  __u8 nexthdr;
  __u8 hdrlen; /* in 8-byte units, not counting the first 8 bytes */
};

struct xcap_ipv6_frag_hdr {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off; /* offset in 8-byte units << 3 | flags */
  __be32 id;
};

struct xcap_cursor {
  void *pos;
  void *end;
};

/* What the parse learned. l4_proto is the IP protocol (or IPv6 upper-layer next header);
 * udp is set only when the UDP header itself is in the frame. */
struct xcap_parsed {
  __u16 flags;     /* XCAP_META_F_VLAN, XCAP_META_F_IPV6 */
  __u16 ethertype; /* host order, after the VLAN tags */
  __u8 is_ip;
  __u8 l4_proto;
  __u8 later_fragment; /* IP fragment with non-zero offset: no L4 header in this frame */
  __u8 pad;
  struct udphdr *udp;
  /* For the XDP filter, which must bound the inner frame as the worker does: */
  void *l3;            /* the IP header (when is_ip) */
  __u32 ip_len;        /* bytes from l3 that the IP header declares; 0: not declared (jumbogram) */
  __u8 more_fragments; /* a first fragment (IPv4 MF, IPv6 M): UDP may declare more than IP */
};

/* Returns a pointer to len bytes at the cursor and advances it, or NULL (cursor unchanged) when
 * the frame ends first. len must be a constant or a bounded value for the verifier. */
static __always_inline void *xcap_pull(struct xcap_cursor *c, __u32 len) {
  void *p = c->pos;
  if (p + len > c->end) return NULL;
  c->pos = p + len;
  return p;
}

/* Ethernet plus up to XCAP_MAX_VLAN_TAGS tags (0x8100 or 0x88a8 in any order). A third tag is
 * left in place and reported as its TPID, i.e. "not IP". Returns 0, or -1 if cut short. */
static __always_inline int xcap_parse_eth(struct xcap_cursor *c, struct xcap_parsed *p) {
  struct ethhdr *eth = xcap_pull(c, sizeof(*eth));
  if (!eth) return -1;
  __u16 proto = bpf_ntohs(eth->h_proto);
#pragma unroll
  for (int i = 0; i < XCAP_MAX_VLAN_TAGS; i++) {
    if (proto != XCAP_ETH_P_8021Q && proto != XCAP_ETH_P_8021AD) break;
    struct xcap_vlan_hdr *vh = xcap_pull(c, sizeof(*vh));
    if (!vh) return -1;
    p->flags |= XCAP_META_F_VLAN;
    proto = bpf_ntohs(vh->proto);
  }
  p->ethertype = proto;
  return 0;
}

/* IPv4 header including options (IHL honoured). Returns 0, or -1 if cut or inconsistent.
 * Fragments: the first (offset 0) carries the L4 header and is parsed on; later ones
 * (offset != 0) have none, so later_fragment is set and L4 parsing stops there. */
static __always_inline int xcap_parse_ipv4(struct xcap_cursor *c, struct xcap_parsed *p) {
  struct iphdr *ip = xcap_pull(c, sizeof(*ip));
  if (!ip) return -1;
  if (ip->version != 4 || ip->ihl < 5) return -1;
  __u32 hlen = (__u32)ip->ihl * 4; /* 20..60 */
  if (bpf_ntohs(ip->tot_len) < hlen) return -1;
  if (hlen > sizeof(*ip) && !xcap_pull(c, hlen - sizeof(*ip))) return -1;
  p->is_ip = 1;
  p->l4_proto = ip->protocol;
  p->l3 = ip;
  p->ip_len = bpf_ntohs(ip->tot_len);
  if (bpf_ntohs(ip->frag_off) & 0x1fff) p->later_fragment = 1;
  if (bpf_ntohs(ip->frag_off) & 0x2000) p->more_fragments = 1;
  return 0;
}

static __always_inline int xcap_ipv6_is_ext(__u8 nh) {
  return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
         nh == IPPROTO_FRAGMENT;
}

/* IPv6 fixed header, then at most XCAP_IPV6_MAX_EXT extension headers of the cheap kinds:
 * hop-by-hop, routing, destination options (generic length field) and fragment (fixed 8 bytes;
 * a non-zero offset sets later_fragment). Anything else (AH, ESP, a longer chain) ends the walk
 * and is reported as the upper-layer protocol, so such packets are simply "not UDP/GRE".
 * Returns 0, or -1 if a header is cut short or the version is not 6. */
static __always_inline int xcap_parse_ipv6(struct xcap_cursor *c, struct xcap_parsed *p) {
  struct ipv6hdr *ip6 = xcap_pull(c, sizeof(*ip6));
  if (!ip6) return -1;
  if (ip6->version != 6) return -1;
  p->is_ip = 1;
  p->flags |= XCAP_META_F_IPV6;
  p->l3 = ip6;
  __u16 payload = bpf_ntohs(ip6->payload_len);
  p->ip_len = payload ? sizeof(*ip6) + payload : 0;
  __u8 nh = ip6->nexthdr;
#pragma unroll
  for (int i = 0; i < XCAP_IPV6_MAX_EXT; i++) {
    if (!xcap_ipv6_is_ext(nh)) break;
    if (nh == IPPROTO_FRAGMENT) {
      struct xcap_ipv6_frag_hdr *fh = xcap_pull(c, sizeof(*fh));
      if (!fh) return -1;
      nh = fh->nexthdr;
      if (bpf_ntohs(fh->frag_off) & 1) p->more_fragments = 1;
      if (bpf_ntohs(fh->frag_off) & 0xfff8) {
        p->later_fragment = 1;
        break;
      }
    } else {
      struct xcap_ipv6_opt_hdr *oh = xcap_pull(c, sizeof(*oh));
      if (!oh) return -1;
      nh = oh->nexthdr;
      /* (hdrlen + 1) * 8 bytes in all; 2 already pulled. At most 2046 more. */
      __u32 rest = ((__u32)oh->hdrlen + 1) * 8 - sizeof(*oh);
      if (!xcap_pull(c, rest)) return -1;
    }
  }
  p->l4_proto = nh;
  return 0;
}

/* Parses as far as the outer UDP header. Returns 0 when everything it read was well formed
 * (including frames that are simply not IP), -1 when malformed (see the top of this file).
 * Whatever was learned before the problem stays in *p. */
static __always_inline int xcap_parse(struct xcap_cursor *c, struct xcap_parsed *p) {
  if (xcap_parse_eth(c, p)) return -1;
  int err;
  if (p->ethertype == ETH_P_IP)
    err = xcap_parse_ipv4(c, p);
  else if (p->ethertype == ETH_P_IPV6)
    err = xcap_parse_ipv6(c, p);
  else
    return 0; /* ARP, LLDP, 802.3 length frames, a third VLAN tag...: not IP, not malformed */
  if (err) return -1;
  if (p->l4_proto != IPPROTO_UDP || p->later_fragment) return 0;
  struct udphdr *udp = xcap_pull(c, sizeof(*udp));
  if (!udp) return -1;
  if (bpf_ntohs(udp->len) < sizeof(*udp) && p->ethertype == ETH_P_IP) return -1;
  p->udp = udp;
  return 0;
}

#endif /* XCAP_PARSE_H */
