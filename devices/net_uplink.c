#include "net_uplink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The file prints each address as the %08X of its 32-bit value as stored (network order), so
 * ntohl of what is read gives it in host order on either byte order. */
int net_uplink_parse_routes(const char *text, char ifname[16], uint32_t *gateway)
{
    unsigned long best_metric = 0;
    int found = 0;
    const char *line = strchr(text, '\n');   /* the header */
    while (line && *++line) {
        char name[64];
        unsigned dst, gw, flags, mask;
        unsigned long refcnt, use, metric;
        if (sscanf(line, "%63s %x %x %x %lu %lu %lu %x", name, &dst, &gw, &flags, &refcnt, &use,
                   &metric, &mask) == 8 &&
            dst == 0 && mask == 0 && (flags & (RTF_UP | RTF_GATEWAY)) == (RTF_UP | RTF_GATEWAY) &&
            strlen(name) < 16 && (!found || metric < best_metric)) {
            memcpy(ifname, name, strlen(name) + 1);   /* fits: checked above */
            *gateway = ntohl(gw);
            best_metric = metric;
            found = 1;
        }
        line = strchr(line, '\n');
    }
    return found ? 0 : -1;
}

static int read_routes(char *buf, size_t cap)
{
    int fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    return 0;
}

static uint32_t sin_of(const struct ifreq *ifr)
{
    struct sockaddr_in sin;
    memcpy(&sin, &ifr->ifr_addr, sizeof(sin));
    return ntohl(sin.sin_addr.s_addr);
}

int net_uplink_find(struct net_uplink *u, struct mvm_err *e)
{
    memset(u, 0, sizeof(*u));
    char *routes = calloc(1, 65536);
    if (!routes)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    int r = read_routes(routes, 65536) ? -1
                                       : net_uplink_parse_routes(routes, u->ifname, &u->gateway);
    /* A default route straight through a device (a VPN's tun, ppp) has no gateway to give. */
    bool direct = r && strstr(routes, "\t00000000\t00000000\t0001\t");
    free(routes);
    if (r)
        return mvm_fail(e, MVM_E_INPUT, "the host has no IPv4 default route%s, and passt gives "
                        "the guest the host's own address and gateway: connect the host, or "
                        "give the guest a tap device (--net tap=NAME)",
                        direct ? " with a gateway (only one through a device)" : "");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0}, mask = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", u->ifname);
    memcpy(mask.ifr_name, ifr.ifr_name, sizeof(ifr.ifr_name));
    r = fd < 0 || ioctl(fd, SIOCGIFADDR, &ifr) || ioctl(fd, SIOCGIFNETMASK, &mask) ? -errno : 0;
    if (fd >= 0)
        close(fd);
    if (r)
        return mvm_fail(e, MVM_E_INPUT, "the host's default route leaves through %s, which has "
                        "no IPv4 address (%s): give it one, or the guest a tap device "
                        "(--net tap=NAME)", u->ifname, strerror(-r));
    u->addr = sin_of(&ifr);
    u->prefix = (unsigned)__builtin_popcount(sin_of(&mask));
    /* The init takes prefixes 1..31 with the gateway inside (a /32 with an on-link gateway
     * elsewhere cannot be said with one route): the smallest subnet that holds both. */
    while (u->prefix > 1 && (u->prefix > 31 ||
                             (u->addr ^ u->gateway) >> (32 - u->prefix)))
        u->prefix--;
    return 0;
}

void net_uplink_ipv4(uint32_t addr, char *out, size_t len)
{
    snprintf(out, len, "%u.%u.%u.%u", addr >> 24, addr >> 16 & 0xff, addr >> 8 & 0xff,
             addr & 0xff);
}

void net_uplink_record(const struct net_uplink *u, char *out, size_t len)
{
    char a[16], g[16];
    net_uplink_ipv4(u->addr, a, sizeof(a));
    net_uplink_ipv4(u->gateway, g, sizeof(g));
    snprintf(out, len, "%s/%u,%s,%u", a, u->prefix, g, NET_UPLINK_MTU);
}
