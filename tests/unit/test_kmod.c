/* kernel_version(), kmod_find_dir(), kmod_resolve(): the release from fake images of both
 * byte orders, modules directories and modules.dep files made up in a temporary tree. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/kmod.h"

#define REL "6.1.0-57-powerpc64le"

static char root[] = "/tmp/minivmm-kmod-XXXXXX";

/* Writes root/rel (making its directories) holding text. */
static void put(const char *rel, const char *text)
{
    char full[512];
    snprintf(full, sizeof(full), "%s/%s", root, rel);
    for (char *s = full + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(full, 0755);
        *s = '/';
    }
    FILE *f = fopen(full, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A fresh modules directory root/DIR with modules.dep `dep`, modules.builtin `builtin`
 * (none when NULL) and an empty file for each module named in files (NULL-ended). */
static void tree(const char *dir, const char *dep, const char *builtin,
                 const char *const *files)
{
    char path[512];
    snprintf(path, sizeof(path), "rm -rf %s/%s", root, dir);
    assert_int_equal(system(path), 0);
    snprintf(path, sizeof(path), "%s/modules.dep", dir);
    put(path, dep);
    if (builtin) {
        snprintf(path, sizeof(path), "%s/modules.builtin", dir);
        put(path, builtin);
    }
    for (; files && *files; files++) {
        snprintf(path, sizeof(path), "%s/%s", dir, *files);
        put(path, "");
    }
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

/* Empties root, whatever a test that failed left in it. */
static void clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/*", root);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd);
}

/* ---- the banner ---- */

/* A fake vmlinux: an ELF identification of the given byte order, then the strings a kernel
 * has that are not its banner (a format string, an empty release, prose), then the banner. */
static size_t fake_image(unsigned char *buf, size_t size, int elfdata, const char *banner)
{
    static const char decoys[] = "Linux version %s (%s@%s) (%s) %s\n\0"
                                 "Linux version \0Linux version is \0Linux version 6.1/x \0"
                                 "Linux version 6\x01.1 \0Linux version 5.%u \0";
    memset(buf, 0, size);
    memcpy(buf, "\177ELF\002", 5);
    buf[5] = (unsigned char)elfdata;
    size_t n = 64;
    memcpy(buf + n, decoys, sizeof(decoys));
    n += sizeof(decoys) + 100;
    memcpy(buf + n, banner, strlen(banner));
    return n + strlen(banner) + 200;
}

static void test_banner(void **state)
{
    (void)state;
    static const char banner[] = "Linux version " REL " (debian-kernel@lists.debian.org) "
                                 "(gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian 6.1.192-3\n";
    unsigned char img[1024];
    char out[KMOD_VERSION_MAX];
    for (int data = 1; data <= 2; data++) {      /* ELFDATA2LSB, ELFDATA2MSB */
        struct mvm_err e = {0};
        size_t len = fake_image(img, sizeof(img), data, banner);
        assert_int_equal(kernel_version(img, len, out, sizeof(out), &e), 0);
        assert_string_equal(out, REL);
    }
    /* The first good one wins. */
    struct mvm_err e = {0};
    size_t len = fake_image(img, sizeof(img), 2, "Linux version 6.1.192 (root@vm) (gcc) #1 SMP "
                            "\0Linux version 6.1.192 (root@vm) (gcc) # SMP \0");
    memcpy(img + 40, "Linux version 5.10.0 (x) ", 25);
    assert_int_equal(kernel_version(img, len, out, sizeof(out), &e), 0);
    assert_string_equal(out, "5.10.0");

    /* A release of 64 characters fits; one of 65 is no release. */
    char rel64[128] = "Linux version ";
    memset(rel64 + 14, '7', 64);
    strcpy(rel64 + 78, " (x)");
    len = fake_image(img, sizeof(img), 1, rel64);
    assert_int_equal(kernel_version(img, len, out, sizeof(out), &e), 0);
    assert_int_equal(strlen(out), 64);
    assert_int_equal(kernel_version(img, len, out, 64, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
    memset(&e, 0, sizeof(e));
    memset(rel64 + 14, '7', 65);
    strcpy(rel64 + 79, " (x)");
    len = fake_image(img, sizeof(img), 1, rel64);
    memcpy(img + len - 60, "Linux version 4.19.0 (x)", 24);
    assert_int_equal(kernel_version(img, len, out, sizeof(out), &e), 0);
    assert_string_equal(out, "4.19.0");
}

/* Nothing but decoys, or a banner cut off by the end of the image: no release, an error
 * that says what to do, and (under AddressSanitizer) no byte read past the end. */
static void test_banner_absent(void **state)
{
    (void)state;
    unsigned char img[1024];
    char out[KMOD_VERSION_MAX];
    struct mvm_err e = {0};
    size_t len = fake_image(img, sizeof(img), 1, "");
    assert_int_equal(kernel_version(img, len, out, sizeof(out), &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "no \"Linux version\" banner"));
    assert_non_null(strstr(e.msg, "--modules DIR"));

    static const char *const tails[] = { "Linux version 6.1.0", "Linux version ", "Linux vers" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(tails[i]);
        unsigned char *exact = malloc(n);
        assert_non_null(exact);
        memcpy(exact, tails[i], n);
        memset(&e, 0, sizeof(e));
        assert_int_equal(kernel_version(exact, n, out, sizeof(out), &e), -1);
        free(exact);
    }
    /* Ended by a space that is the image's last byte: complete. */
    unsigned char *exact = malloc(20);
    assert_non_null(exact);
    memcpy(exact, "Linux version 6.1.0 ", 20);
    assert_int_equal(kernel_version(exact, 20, out, sizeof(out), &e), 0);
    assert_string_equal(out, "6.1.0");
    free(exact);
    assert_int_equal(kernel_version("", 0, out, sizeof(out), &e), -1);
}

/* ---- the modules directory ---- */

static void test_find_dir(void **state)
{
    (void)state;
    clean();
    char out[512], want[512];
    struct mvm_err e = {0};
    /* No modules at all: built in, as far as anyone can tell. */
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), 0);
    assert_string_equal(out, "");

    tree("usr/lib/modules/" REL, "", NULL, NULL);
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), 0);
    snprintf(want, sizeof(want), "%s/usr/lib/modules/" REL, root);
    assert_string_equal(out, want);

    /* Only the right release counts. */
    assert_int_equal(kmod_find_dir(root, "6.1.0-58-powerpc64le", out, sizeof(out), &e), 0);
    assert_string_equal(out, "");

    /* lib/modules/REL without modules.dep: usr/lib's is still the one. */
    put("lib/modules/" REL "/modules.order", "");
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), 0);
    snprintf(want, sizeof(want), "%s/usr/lib/modules/" REL, root);
    assert_string_equal(out, want);

    tree("lib/modules/" REL, "", NULL, NULL);
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), 0);
    snprintf(want, sizeof(want), "%s/lib/modules/" REL, root);
    assert_string_equal(out, want);

    /* A directory without modules.dep, and no other: depmod, for that tree and release. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/usr && rm %s/lib/modules/" REL "/modules.dep", root,
             root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    snprintf(want, sizeof(want), "run `depmod -b %s " REL "`", root);
    assert_non_null(strstr(e.msg, want));

    memset(&e, 0, sizeof(e));
    assert_int_equal(kmod_find_dir(root, "../../etc", out, sizeof(out), &e), -1);
    assert_non_null(strstr(e.msg, "is not a kernel release"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s/lib", root);
    assert_int_equal(system(cmd), 0);
}

/* A merged-/usr tree: lib is a link to usr/lib. */
static void test_find_dir_merged(void **state)
{
    (void)state;
    clean();
    char out[512], want[512];
    struct mvm_err e = {0};
    tree("usr/lib/modules/" REL, "", NULL, NULL);
    snprintf(want, sizeof(want), "%s/lib", root);
    assert_int_equal(symlink("usr/lib", want), 0);
    assert_int_equal(kmod_find_dir(root, REL, out, sizeof(out), &e), 0);
    snprintf(want, sizeof(want), "%s/lib/modules/" REL, root);
    assert_string_equal(out, want);
    snprintf(want, sizeof(want), "%s/lib", root);
    assert_int_equal(unlink(want), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/usr", root);
    assert_int_equal(system(cmd), 0);
}

/* ---- the load order ---- */

#define VIO "kernel/drivers/virtio/"
/* Shaped like Debian's: every line lists all the module needs, transitively. */
static const char debian_dep[] =
    VIO "virtio_ring.ko:\n"
    VIO "virtio.ko: " VIO "virtio_ring.ko\n"
    VIO "virtio_pci_modern_dev.ko:\n"
    VIO "virtio_pci.ko: " VIO "virtio_pci_modern_dev.ko " VIO "virtio.ko " VIO "virtio_ring.ko\n"
    "kernel/drivers/char/virtio_console.ko: " VIO "virtio.ko " VIO "virtio_ring.ko\n"
    "kernel/net/9p/9pnet.ko:\n"
    "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko " VIO "virtio.ko " VIO "virtio_ring.ko\n"
    "kernel/fs/netfs/netfs.ko:\n"
    "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
    "\n# a comment\n"
    "kernel/fs/9p/9p.ko:\tkernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko  "
    "kernel/fs/netfs/netfs.ko \r\n"
    "kernel/fs/overlayfs/overlay.ko.xz:\n"
    "kernel/fs/isofs/isofs.ko.gz :\n"
    "kernel/drivers/char/hw_random/virtio-rng.ko.zst: " VIO "virtio.ko " VIO "virtio_ring.ko";
static const char *const debian_files[] = {
    VIO "virtio_ring.ko", VIO "virtio.ko", VIO "virtio_pci_modern_dev.ko", VIO "virtio_pci.ko",
    "kernel/drivers/char/virtio_console.ko", "kernel/net/9p/9pnet.ko",
    "kernel/net/9p/9pnet_virtio.ko", "kernel/fs/netfs/netfs.ko", "kernel/fs/fscache/fscache.ko",
    "kernel/fs/9p/9p.ko", "kernel/fs/overlayfs/overlay.ko.xz", "kernel/fs/isofs/isofs.ko.gz",
    "kernel/drivers/char/hw_random/virtio-rng.ko.zst", NULL
};

/* Resolves wanted (NULL-ended) in root/dir and checks the result is exactly expect, in that
 * order (NULL-ended, paths relative to the directory). */
static void assert_resolves(const char *dir, const char *const *wanted,
                            const char *const *expect)
{
    char full[512];
    snprintf(full, sizeof(full), "%s/%s", root, dir);
    size_t nwanted = 0, nexpect = 0;
    while (wanted[nwanted])
        nwanted++;
    while (expect[nexpect])
        nexpect++;
    struct kmod_list l;
    struct mvm_err e = {0};
    if (kmod_resolve(full, wanted, nwanted, &l, &e) != 0)
        fail_msg("kmod_resolve failed: %s", e.msg);
    for (size_t i = 0; i < l.n && i < nexpect; i++) {
        snprintf(full, sizeof(full), "%s/%s/%s", root, dir, expect[i]);
        assert_string_equal(l.paths[i], full);
    }
    assert_int_equal(l.n, nexpect);
    kmod_list_free(&l);
    assert_null(l.paths);
}

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* What minivmm wants, in modprobe's order: each module's dependencies from the last listed
 * to the first, each file once even when several modules need it. */
static void test_order(void **state)
{
    (void)state;
    tree("m", debian_dep, "kernel/fs/ext4/ext4.ko\n", debian_files);
    assert_resolves("m", LIST("virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay"),
                    LIST(VIO "virtio_ring.ko", VIO "virtio.ko", VIO "virtio_pci_modern_dev.ko",
                         VIO "virtio_pci.ko", "kernel/drivers/char/virtio_console.ko",
                         "kernel/net/9p/9pnet.ko", "kernel/net/9p/9pnet_virtio.ko",
                         "kernel/fs/netfs/netfs.ko", "kernel/fs/fscache/fscache.ko",
                         "kernel/fs/9p/9p.ko", "kernel/fs/overlayfs/overlay.ko.xz"));
    /* Wanted modules that another wanted one needs: still once, still first. */
    assert_resolves("m", LIST("9p", "netfs", "9pnet", "9p"),
                    LIST("kernel/fs/netfs/netfs.ko", "kernel/fs/fscache/fscache.ko",
                         "kernel/net/9p/9pnet.ko", "kernel/fs/9p/9p.ko"));
    assert_resolves("m", LIST("netfs", "9pnet", "9p"),
                    LIST("kernel/fs/netfs/netfs.ko", "kernel/net/9p/9pnet.ko",
                         "kernel/fs/fscache/fscache.ko", "kernel/fs/9p/9p.ko"));
    assert_resolves("m", LIST("isofs"), LIST("kernel/fs/isofs/isofs.ko.gz"));
    /* Nothing wanted, nothing to load. */
    assert_resolves("m", (const char *const[]){ NULL }, (const char *const[]){ NULL });
}

/* A line whose dependencies are not in load-from-the-end order: the walk still puts each
 * module after everything it needs, where reversing the line would not. */
static void test_order_depth_first(void **state)
{
    (void)state;
    tree("d", "a.ko: c.ko b.ko\nb.ko: c.ko\nc.ko:\nx.ko:y.ko z.ko\ny.ko:\nz.ko:\n", NULL,
         LIST("a.ko", "b.ko", "c.ko", "x.ko", "y.ko", "z.ko"));
    assert_resolves("d", LIST("a"), LIST("c.ko", "b.ko", "a.ko"));
    assert_resolves("d", LIST("x"), LIST("z.ko", "y.ko", "x.ko"));
    assert_resolves("d", LIST("b", "x", "a"), LIST("c.ko", "b.ko", "z.ko", "y.ko", "x.ko",
                                                    "a.ko"));
}

/* Modules built into the kernel need no file, wanted or needed (their files do not exist). */
static void test_builtin(void **state)
{
    (void)state;
    tree("b", debian_dep, "kernel/fs/ext4/ext4.ko\n" VIO "virtio.ko\n  " VIO "virtio_ring.ko\n"
         "\nkernel/fs/overlayfs/overlay.ko \r\n",
         LIST("kernel/drivers/char/virtio_console.ko", "kernel/net/9p/9pnet.ko",
              "kernel/net/9p/9pnet_virtio.ko"));
    assert_resolves("b", LIST("virtio_console", "overlay", "virtio", "9pnet_virtio"),
                    LIST("kernel/drivers/char/virtio_console.ko", "kernel/net/9p/9pnet.ko",
                         "kernel/net/9p/9pnet_virtio.ko"));
}

/* Resolving wanted in root/dir fails; the message holds every one of the strings in need. */
static void assert_refused(const char *dir, const char *const *wanted,
                           const char *const *need)
{
    char full[512];
    snprintf(full, sizeof(full), "%s/%s", root, dir);
    size_t nwanted = 0;
    while (wanted[nwanted])
        nwanted++;
    struct kmod_list l = { (char **)1, 99 };
    struct mvm_err e = {0};
    assert_int_equal(kmod_resolve(full, wanted, nwanted, &l, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_int_equal(l.n, 0);
    assert_null(l.paths);
    for (; *need; need++)
        if (!strstr(e.msg, *need))
            fail_msg("\"%s\" is not in the error: %s", *need, e.msg);
}

/* '-' and '_' are one; a name is the whole basename less its suffixes, not a prefix of it. */
static void test_names(void **state)
{
    (void)state;
    tree("n", debian_dep, NULL, debian_files);
    assert_resolves("n", LIST("virtio_rng"),
                    LIST(VIO "virtio_ring.ko", VIO "virtio.ko",
                         "kernel/drivers/char/hw_random/virtio-rng.ko.zst"));
    assert_resolves("n", LIST("9pnet-virtio", "virtio-ring"),
                    LIST(VIO "virtio_ring.ko", VIO "virtio.ko", "kernel/net/9p/9pnet.ko",
                         "kernel/net/9p/9pnet_virtio.ko"));
    struct mvm_err e = {0};
    struct kmod_list l;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/n", root);
    assert_int_equal(kmod_resolve(dir, LIST("9pn"), 1, &l, &e), -1);
    memset(&e, 0, sizeof(e));
    assert_int_equal(kmod_resolve(dir, LIST("virtio_ring.ko"), 1, &l, &e), -1);
    assert_int_equal(l.n, 0);
    assert_null(l.paths);
    /* Only files named like modules are modules. */
    tree("n", "kernel/foo:\nkernel/bar.o:\n", NULL, LIST("kernel/foo", "kernel/bar.o"));
    assert_refused("n", LIST("foo"), LIST("needs module foo, which"));
    assert_refused("n", LIST("bar.o"), LIST("needs module bar.o, which"));
}

/* A wanted module that is nowhere: its name, where it was looked for, the options that build
 * it (two for 9pnet_virtio), and --modules. */
static void test_module_missing(void **state)
{
    (void)state;
    char dir[512];
    tree("lib/modules/" REL, "kernel/fs/netfs/netfs.ko:\n", "kernel/fs/ext4/ext4.ko\n",
         LIST("kernel/fs/netfs/netfs.ko"));
    snprintf(dir, sizeof(dir), "which %s/lib/modules/" REL "/modules.dep and modules.builtin "
             "do not list", root);
    assert_refused("lib/modules/" REL, LIST("netfs", "9p"),
                   LIST("the kernel needs module 9p, ", dir,
                        "build the kernel with CONFIG_9P_FS=y (or =m and install its modules)",
                        "or give --modules DIR"));
    assert_refused("lib/modules/" REL, LIST("9pnet_virtio"),
                   LIST("module 9pnet_virtio,", "CONFIG_NET_9P=y and CONFIG_NET_9P_VIRTIO=y"));
    assert_refused("lib/modules/" REL, LIST("virtio_pci"), LIST("CONFIG_VIRTIO_PCI=y"));
    assert_refused("lib/modules/" REL, LIST("virtio-console"),
                   LIST("module virtio-console,", "CONFIG_VIRTIO_CONSOLE=y"));
    assert_refused("lib/modules/" REL, LIST("overlay"), LIST("CONFIG_OVERLAY_FS=y"));
    assert_refused("lib/modules/" REL, LIST("foo"), LIST("needs module foo, which",
                                                        "build the kernel with it"));
}

static void test_no_modules_dep(void **state)
{
    (void)state;
    char dir[512], cmd[600];
    tree("nodep", "", NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm %s/nodep/modules.dep", root);
    assert_int_equal(system(cmd), 0);
    snprintf(dir, sizeof(dir), "%s/nodep has no modules.dep: run depmod", root);
    assert_refused("nodep", LIST("9p"), LIST(dir, "give --modules a directory that has one"));
    snprintf(dir, sizeof(dir), "%s/absent has no modules.dep", root);
    assert_refused("absent", LIST("9p"), LIST(dir));
}

/* modules.dep names a file that is not there: named, with the way to fix it. */
static void test_file_missing(void **state)
{
    (void)state;
    char path[512];
    tree("f", debian_dep, NULL, LIST("kernel/fs/9p/9p.ko", "kernel/fs/netfs/netfs.ko",
                                      "kernel/net/9p/9pnet.ko"));
    snprintf(path, sizeof(path), "module file %s/f/kernel/fs/fscache/fscache.ko, listed in "
             "%s/f/modules.dep, is missing", root, root);
    assert_refused("f", LIST("9p"), LIST(path, "run depmod"));
}

/* What depmod never writes is refused, never followed forever or out of the directory. */
static void test_broken_dep(void **state)
{
    (void)state;
    tree("c", "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\ns.ko: s.ko\n", NULL,
         LIST("a.ko", "b.ko", "c.ko", "s.ko"));
    assert_refused("c", LIST("b"), LIST("depends on itself", "run depmod to rebuild it"));
    assert_refused("c", LIST("s"), LIST("s.ko depends on itself"));

    tree("g", "a.ko: b.ko\nb.ko\n", NULL, LIST("a.ko", "b.ko"));
    assert_refused("g", LIST("a"), LIST("modules.dep line 2 is not"));
    tree("g", "a.ko: b.ko\n", NULL, LIST("a.ko", "b.ko"));
    assert_refused("g", LIST("a"), LIST("says a.ko needs b.ko but has no line for it"));
    tree("g", "a.ko: ../x.ko\n../x.ko:\n", NULL, LIST("a.ko"));
    assert_refused("g", LIST("a"), LIST("names ../x.ko, which is not a path inside it"));
    tree("g", "k/../../../etc/x.ko:\n/etc/y.ko:\n", NULL, NULL);
    assert_refused("g", LIST("x"), LIST("which is not a path inside it"));
    assert_refused("g", LIST("y"), LIST("/etc/y.ko, which is not a path inside it"));

    /* A NUL byte ends a line, not the file. */
    tree("g", "", NULL, LIST("a.ko", "b.ko"));
    char path[512];
    snprintf(path, sizeof(path), "%s/g/modules.dep", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite("a.ko:\0b.ko: a.ko\n", 1, 17, f), 17);
    fclose(f);
    assert_resolves("g", LIST("b"), LIST("a.ko", "b.ko"));

    /* A chain deeper than any real one ends in an error, not a blown stack. */
    size_t n = 2000;
    char *dep = malloc(n * 32), *p = dep;
    assert_non_null(dep);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "m%zu.ko: m%zu.ko\n", i, i + 1);
    sprintf(p, "m%zu.ko:\n", n);
    tree("deep", dep, NULL, NULL);
    free(dep);
    assert_refused("deep", LIST("m0"), LIST("more than 512 dependencies deep"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_banner),
        cmocka_unit_test(test_banner_absent),
        cmocka_unit_test(test_find_dir),
        cmocka_unit_test(test_find_dir_merged),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_order_depth_first),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_module_missing),
        cmocka_unit_test(test_no_modules_dep),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_broken_dep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
