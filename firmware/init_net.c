/* The guest init's network: eth0 set up as minivmm said (net= and nameserver= in the config,
 * init_conf.h), with the classic interface and route ioctls, which need no netlink code.
 * Freestanding: see init.c. A failure is said on the console and the command still runs (it
 * may not need the network; if it does, its own error follows the init's). */
#include "init.h"

#define IFNAME "eth0"

static void put_addr(struct sockaddr_in_k *s, unsigned addr)
{
    memset(s, 0, sizeof(*s));
    s->family = AF_INET;
    for (int i = 0; i < 4; i++)
        s->addr[i] = (unsigned char)(addr >> (24 - 8 * i));
}

/* "eth0: cannot WHAT (ERROR): the command runs without the network" */
static void net_failed(const char *what, long err)
{
    char text[160], scratch[32];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_puts(&b, IFNAME ": cannot ");
    ib_puts(&b, what);
    ib_puts(&b, " (");
    ib_puts(&b, init_strerror((int)-err, scratch, sizeof(scratch)));
    ib_puts(&b, "): the command runs without the network");
    say(text);
}

static long ifr_call(long fd, unsigned long request, struct ifreq_k *ifr)
{
    memcpy(ifr->name, IFNAME, sizeof(IFNAME));
    return SYS3(NR_ioctl, fd, request, ifr);
}

/* The driver registers eth0 while its module loads; a moment's grace all the same. */
static long wait_for_eth0(long fd)
{
    struct ifreq_k ifr;
    long r = 0;
    for (int i = 0; i < 100; i++) {
        memset(&ifr, 0, sizeof(ifr));
        if ((r = ifr_call(fd, SIOCGIFFLAGS, &ifr)) == 0)
            return 0;
        sleep_ns(10 * 1000 * 1000);
    }
    return r;
}

static long configure(long fd)
{
    struct ifreq_k ifr;
    long r = wait_for_eth0(fd);
    if (r)
        return net_failed("find it", r), r;
    memset(&ifr, 0, sizeof(ifr));
    put_addr(&ifr.u.sin, conf.net.addr);
    if ((r = ifr_call(fd, SIOCSIFADDR, &ifr)))
        return net_failed("set its address", r), r;
    memset(&ifr, 0, sizeof(ifr));
    put_addr(&ifr.u.sin, init_netmask(conf.net.prefix));
    if ((r = ifr_call(fd, SIOCSIFNETMASK, &ifr)))
        return net_failed("set its netmask", r), r;
    memset(&ifr, 0, sizeof(ifr));
    ifr.u.mtu = (int)conf.net.mtu;
    if ((r = ifr_call(fd, SIOCSIFMTU, &ifr)))
        return net_failed("set its MTU", r), r;
    memset(&ifr, 0, sizeof(ifr));
    if ((r = ifr_call(fd, SIOCGIFFLAGS, &ifr)) == 0) {
        ifr.u.flags |= IFF_UP;
        r = ifr_call(fd, SIOCSIFFLAGS, &ifr);
    }
    if (r)
        return net_failed("bring it up", r), r;
    struct rtentry_k rt;
    memset(&rt, 0, sizeof(rt));
    put_addr(&rt.dst, 0);
    put_addr(&rt.genmask, 0);
    put_addr(&rt.gateway, conf.net.gateway);
    rt.flags = RTF_UP | RTF_GATEWAY;
    if ((r = SYS3(NR_ioctl, fd, SIOCADDRT, &rt)))
        return net_failed("add the default route", r), r;
    return 0;
}

/* The root's /etc/resolv.conf names the nameserver minivmm gave. Only over the overlay, whose
 * writes stay in the guest's memory: a read-write root is the user's directory, and its file
 * is theirs. The old one may be a link (to systemd-resolved's stub, say, which is not there). */
static void write_resolv_conf(void)
{
    if (!conf.nameserver || conf.rootrw)
        return;
    char text[40];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_puts(&b, "nameserver ");
    ib_put_ipv4(&b, conf.nameserver);
    ib_putc(&b, '\n');
    SYS3(NR_unlinkat, AT_FDCWD, "/etc/resolv.conf", 0);
    long fd = SYS4(NR_openat, AT_FDCWD, "/etc/resolv.conf",
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        net_failed("write /etc/resolv.conf for", fd);
        return;
    }
    write_all((int)fd, text, b.len);
    sys_close(fd);
}

void net_up(void)
{
    if (!conf.net.set)
        return;
    long fd = SYS3(NR_socket, AF_INET, SOCK_DGRAM | O_CLOEXEC, 0);
    if (fd < 0) {
        net_failed("open a socket for", fd);
        return;
    }
    long r = configure(fd);
    sys_close(fd);
    if (r == 0)
        write_resolv_conf();
}
