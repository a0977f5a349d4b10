/* The host's IPv4 uplink as passt sees it: the interface of the default route, its address
 * and prefix, the gateway. passt gives a guest the host's own address and gateway (so that
 * the guest looks like the host to the world), and minivmm hands the same to the guest init
 * of --rootfs, which then needs no DHCP client, and to passt explicitly, so both agree.
 */
#ifndef MINIVMM_NET_UPLINK_H
#define MINIVMM_NET_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/err.h"

/* passt's default MTU (65520: the largest 802.3 frame less its header, rounded to 32 bits),
 * which it also hands out by DHCP. */
#define NET_UPLINK_MTU 65520

struct net_uplink {
    char ifname[16];
    uint32_t addr, gateway;    /* host order */
    unsigned prefix;
};

/* From /proc/net/route's text: the interface and gateway (host order) of the IPv4 default
 * route with the lowest metric (the first of equals). 0, or -1 when there is none. */
int net_uplink_parse_routes(const char *text, char ifname[16], uint32_t *gateway);

/* The host's uplink, from /proc/net/route and the interface's address. 0, or -1 and
 * MVM_E_INPUT saying what is missing (passt serves guests only from a host with an IPv4 or
 * IPv6 default route). */
int net_uplink_find(struct net_uplink *u, struct mvm_err *e);

/* "A.B.C.D/P,G.H.I.J,MTU": the guest init's net= record (firmware/init_conf.h). */
void net_uplink_record(const struct net_uplink *u, char *out, size_t len);
/* "A.B.C.D" */
void net_uplink_ipv4(uint32_t addr, char *out, size_t len);

#endif
